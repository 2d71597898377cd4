"""Reads for segments, always through the viewer's visibility (sales reps: their customers)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Avg, Count, QuerySet, Sum
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from fideliza.accounts.models import User
from fideliza.analytics import labels
from fideliza.core.exports import Sheet
from fideliza.customers.models import Customer, CustomerKind
from fideliza.customers.selectors import customers_current, customers_visible_to
from fideliza.insights.selectors import metrics_lookup

from .models import Segment, SegmentKind, SegmentMember
from .rules import compile_rules


def customers_matching(rules: dict, *, user: User | None = None) -> QuerySet[Customer]:
    """Live query: active, unmerged customers matching `rules` (visible to `user` if given)."""
    base = customers_visible_to(user) if user is not None else customers_current()
    return base.filter(is_active=True).filter(compile_rules(rules))


def segment_preview_count(rules: dict, *, user: User | None = None) -> int:
    return customers_matching(rules, user=user).count()


def segment_customers(segment: Segment, *, user: User | None = None, live: bool = False) -> QuerySet[Customer]:
    """Members of a segment: the materialised list, or the live rule result with `live`."""
    if live and segment.kind == SegmentKind.DYNAMIC:
        return customers_matching(segment.rules, user=user)
    base = customers_visible_to(user) if user is not None else customers_current()
    return base.filter(segment_memberships__segment=segment)


def segments_of_customer(*, customer: Customer) -> list[Segment]:
    """The saved segments (not archived) the customer is a member of, by name."""
    return list(Segment.objects.filter(members__customer=customer, is_archived=False).order_by("name"))


def segments_compare(segments: list[Segment], *, user: User | None = None) -> list[dict[str, Any]]:
    """Size, revenue, margin, CLV and churn risk side by side (from the analytics snapshot)."""
    rows = []
    for segment in segments:
        qs = segment_customers(segment, user=user)
        stats = qs.aggregate(
            size=Count("pk"),
            with_metrics=Count(metrics_lookup()),
            revenue=Sum(metrics_lookup("revenue")),
            margin=Sum(metrics_lookup("margin")),
            clv_historic=Avg(metrics_lookup("clv_historic")),
            clv_predicted=Avg(metrics_lookup("clv_predicted")),
            churn_risk=Avg(metrics_lookup("churn_risk")),
            p_alive=Avg(metrics_lookup("p_alive")),
        )
        for key in ("revenue", "margin", "clv_historic", "clv_predicted"):
            if stats[key] is not None:
                stats[key] = Decimal(stats[key]).quantize(Decimal("0.01"))
        rows.append({"segment": segment, **stats})
    return rows


EXPORT_FIELDS = (
    "id", "kind", "first_name", "last_name", "company_name", "email", "phone", "city", "region",
    "postal_code", "country", "birth_date",
    *(metrics_lookup(f) for f in ("rfm_segment", "value_tier", "activity_state", "abc_revenue", "revenue",
                                  "clv_predicted", "churn_risk")),
)


def segment_export_sheet(segment: Segment, *, user: User) -> tuple[Sheet, int]:
    """The export of a segment (only the customers `user` may see) and its row count.

    Headers and codes (kind, RFM segment, tier, state) are in the active language; the rows
    are read lazily, so a CSV of a large segment streams.
    """
    lang = (get_language() or "es")[:2]
    kinds = {value: str(label) for value, label in CustomerKind.choices}
    currency = settings.FIDELIZA_DEFAULT_CURRENCY
    header = [
        _("Nº de cliente"), _("Tipo"), _("Nombre"), _("Apellidos"), _("Razón social"),
        _("E-mail"), _("Teléfono"), _("Ciudad"), _("Provincia / región"), _("Código postal"),
        _("País"), _("Fecha de nacimiento"), _("Segmento RFM"), _("Nivel de valor"),
        _("Estado de actividad"), _("Clase ABC por ventas"),
        _("Ventas netas (%(currency)s)") % {"currency": currency},
        _("CLV previsto (%(currency)s)") % {"currency": currency},
        _("Riesgo de abandono (%)"),
    ]
    qs = segment_customers(segment, user=user).order_by("pk")

    def rows() -> Any:
        for (pk, kind, first, last, company, email, phone, city, region, postal, country, born,
             rfm, tier, state, abc, revenue, clv, churn) in qs.values_list(*EXPORT_FIELDS).iterator():
            yield (
                pk, kinds.get(kind, kind), first, last, company, email, phone, city, region,
                postal, country, born,
                labels.label("rfm_segment", rfm, lang) if rfm else None,
                labels.label("value_tier", tier, lang) if tier else None,
                labels.label("activity_state", state, lang) if state else None,
                abc or None, revenue, clv,
                round(churn * 100, 1) if churn is not None else None,
            )

    return Sheet(title=segment.name, header=header, rows=rows()), qs.count()


def segment_memberships(segment_ids: Sequence[int], customer_ids: Sequence[int]) -> dict[int, frozenset[int]]:
    """{customer: the segments among `segment_ids` it belongs to}, for the customers that
    belong to any. One query per 5,000 customers (plain cursor rows: loyalty runs this on
    every recorded order when a rule is limited to a segment)."""
    if not segment_ids or not customer_ids:
        return {}
    found: dict[int, set[int]] = defaultdict(set)
    segments = list(segment_ids)
    with connection.cursor() as cursor:
        for start in range(0, len(customer_ids), 5000):
            part = list(customer_ids[start:start + 5000])
            cursor.execute(f"SELECT customer_id, segment_id FROM {SegmentMember._meta.db_table} "
                           f"WHERE segment_id IN ({', '.join(['%s'] * len(segments))}) "
                           f"AND customer_id IN ({', '.join(['%s'] * len(part))})",
                           [*segments, *part])
            for cid, sid in cursor.fetchall():
                found[cid].add(sid)
    return {cid: frozenset(sids) for cid, sids in found.items()}


def segment_has_member(*, segment_id: int, customer_id: int) -> bool:
    """Whether the customer is a member of the segment now."""
    return SegmentMember.objects.filter(segment_id=segment_id, customer_id=customer_id).exists()


def segments_active() -> QuerySet[Segment]:
    """The segments not archived, for choice fields."""
    return Segment.objects.filter(is_archived=False)


def segment_get(pk: int) -> Segment | None:
    """The segment `pk`, or None."""
    return Segment.objects.filter(pk=pk).first()


def segment_name_taken(name: str) -> bool:
    """Whether a segment is called `name`."""
    return Segment.objects.filter(name=name).exists()
