"""The loyalty funnel — seed 004's "pirámide invertida": how many customers reached each stage.

Stages are cumulative (each is a subset of the previous one), so the funnel narrows the way
the seed draws it: registered → identified → differentiated → interacted → segmented →
personalised → repeat buyers → profitable → loyal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.models import User
from fideliza.customers.models import Customer
from fideliza.customers.selectors import (
    consent_granted_ever,
    customers_current,
    customers_visible_to,
)
from fideliza.insights.selectors import metrics_lookup
from fideliza.sales.selectors import customer_has_orders

from .models import SegmentMember


class CustomerIds(Protocol):
    """A queryset of the ids (one column) of the customers who reached a stage."""

    def __call__(self) -> QuerySet: ...


# Engagement sits above segments: it registers who received a personalised message
# (`EngagementConfig.ready`). Without it nobody has.
_personalised: list[CustomerIds] = []


def personalised_customers_register(source: CustomerIds) -> None:
    _personalised[:] = [source]


def _personalised_customers() -> QuerySet:
    """Ids of customers who received a personalised message."""
    if not _personalised:
        return customers_current().none().values("pk")
    return _personalised[0]()


@dataclass(frozen=True)
class Stage:
    key: str
    title: Promise
    definition: Promise
    # A side stage is counted within the stages before it, but the stages after it do not
    # require it: a shop that sends no messages still has repeat buyers.
    side: bool = False


STAGES = (
    Stage("registered", _("Registrados"), _("Fichas activas en la base consolidada.")),
    Stage("identified", _("Identificados"),
          _("Con nombre o razón social y al menos un e-mail o teléfono: se les puede contactar.")),
    Stage("differentiated", _("Diferenciados"), _("Clasificados por el último cálculo (RFM, ABC, nivel).")),
    Stage("interacted", _("Con interacción"), _("Han comprado o dado su consentimiento alguna vez.")),
    Stage("segmented", _("Segmentados"), _("Pertenecen al menos a un segmento.")),
    Stage("personalised", _("Personalizados"), _("Han recibido un mensaje personalizado."), side=True),
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
        return Q(**{metrics_lookup("isnull"): False})
    if key == "interacted":
        return Q(customer_has_orders()) | Q(consent_granted_ever())
    if key == "segmented":
        return Q(Exists(SegmentMember.objects.filter(customer=OuterRef("pk"))))
    if key == "personalised":
        return Q(pk__in=_personalised_customers())
    if key == "repeat":
        return Q(**{f'{metrics_lookup("orders")}__gte': 2})  # the snapshot's order count
    if key == "profitable":
        return Q(**{metrics_lookup("margin__gt"): 0})
    if key == "loyal":
        return Q(**{metrics_lookup("rfm_segment__in"): ("champions", "loyal")})
    raise KeyError(key)


def stage_customers(key: str, *, user: User | None = None) -> QuerySet[Customer]:
    """Customers who reached stage `key` (and every main stage before it)."""
    base = customers_visible_to(user) if user is not None else customers_current()
    q = Q(is_active=True)
    for stage in STAGES:
        if stage.key == key:
            return base.filter(q & _stage_filter(stage.key))
        if not stage.side:
            q &= _stage_filter(stage.key)
    raise KeyError(key)


def funnel(*, user: User | None = None) -> list[dict]:
    """One row per stage: count, share of registered and of the previous main stage."""
    base = customers_visible_to(user) if user is not None else customers_current()
    q, aggregates = Q(is_active=True), {}
    for stage in STAGES:
        here = q & _stage_filter(stage.key)
        aggregates[stage.key] = Count("pk", filter=here, distinct=True)
        if not stage.side:
            q = here
    counts = base.aggregate(**aggregates)
    rows, top, previous = [], counts.get("registered") or 0, None
    for stage in STAGES:
        n = counts[stage.key]
        rows.append({"stage": stage, "count": n,
                     "share": (n / top) if top else None,
                     "step": (n / previous) if previous else None})
        if not stage.side:
            previous = n
    return rows
