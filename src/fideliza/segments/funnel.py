"""The loyalty funnel — seed 004's "pirámide invertida": how many customers reached each stage.

Stages are cumulative (each is a subset of the previous one), so the funnel narrows the way
the seed draws it: registered → identified → differentiated → interacted → segmented →
personalised → repeat buyers → profitable → loyal.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.models import User
from fideliza.customers.models import ConsentRecord, Customer
from fideliza.customers.selectors import customers_visible_to
from fideliza.sales.models import Order

from .models import SegmentMember


def _personalised_customers() -> QuerySet:
    """Ids of customers who received a personalised message (the engagement app)."""
    from fideliza.engagement.selectors import customers_personalised

    return customers_personalised()


@dataclass(frozen=True)
class Stage:
    key: str
    title: Promise
    definition: Promise
    optional: bool = False  # depends on another app (see `available`)

    @property
    def available(self) -> bool:
        return not self.optional or _personalised_customers() is not None


STAGES = (
    Stage("registered", _("Registrados"), _("Fichas activas en la base consolidada.")),
    Stage("identified", _("Identificados"),
          _("Con nombre o razón social y al menos un e-mail o teléfono: se les puede contactar.")),
    Stage("differentiated", _("Diferenciados"), _("Clasificados por el último cálculo (RFM, ABC, nivel).")),
    Stage("interacted", _("Con interacción"), _("Han comprado o dado su consentimiento alguna vez.")),
    Stage("segmented", _("Segmentados"), _("Pertenecen al menos a un segmento.")),
    Stage("personalised", _("Personalizados"), _("Han recibido un mensaje personalizado."), optional=True),
    Stage("repeat", _("Fidelizados"), _("Han comprado más de una vez.")),
    Stage("profitable", _("Rentables"), _("Dejan margen positivo.")),
    Stage("loyal", _("Leales"), _("Campeones o leales en el RFM: compran a menudo, hace poco y bastante.")),
)


def _stage_filter(key: str) -> Q:
    if key == "registered":
        return Q()
    if key == "identified":
        named = ~Q(first_name="") | ~Q(last_name="") | ~Q(company_name="")
        return named & (~Q(email="") | ~Q(phone=""))
    if key == "differentiated":
        return Q(metrics__isnull=False)
    if key == "interacted":
        return Q(Exists(Order.objects.filter(customer=OuterRef("pk")))) | Q(
            Exists(ConsentRecord.objects.filter(customer=OuterRef("pk"), status="granted")))
    if key == "segmented":
        return Q(Exists(SegmentMember.objects.filter(customer=OuterRef("pk"))))
    if key == "personalised":
        personalised = _personalised_customers()
        return Q(pk__in=[]) if personalised is None else Q(pk__in=personalised)
    if key == "repeat":
        return Q(metrics__orders__gte=2)
    if key == "profitable":
        return Q(metrics__margin__gt=0)
    if key == "loyal":
        return Q(metrics__rfm_segment__in=("champions", "loyal"))
    raise KeyError(key)


def stage_customers(key: str, *, user: User | None = None) -> QuerySet[Customer]:
    """Customers who reached stage `key` (and every stage before it that is available)."""
    base = customers_visible_to(user) if user is not None else Customer.objects.filter(merged_into__isnull=True)
    q = Q(is_active=True)
    for stage in STAGES:
        if stage.available:
            q &= _stage_filter(stage.key)
        if stage.key == key:
            return base.filter(q)
    raise KeyError(key)


def funnel(*, user: User | None = None) -> list[dict]:
    """One row per stage: count, share of registered and of the previous available stage."""
    base = customers_visible_to(user) if user is not None else Customer.objects.filter(merged_into__isnull=True)
    q, aggregates = Q(is_active=True), {}
    for stage in STAGES:
        if stage.available:
            q &= _stage_filter(stage.key)
            aggregates[stage.key] = Count("pk", filter=q, distinct=True)
    counts = base.aggregate(**aggregates)
    rows, top, previous = [], counts.get("registered") or 0, None
    for stage in STAGES:
        n = counts.get(stage.key) if stage.available else None
        rows.append({"stage": stage, "count": n,
                     "share": (n / top) if (n is not None and top) else None,
                     "step": (n / previous) if (n is not None and previous) else None})
        if n is not None:
            previous = n
    return rows
