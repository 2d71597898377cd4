"""The card's timeline: purchases, interactions, messages sent, points movements, complaints,
event invitations and survey answers of one customer, newest first, each from the selector of the app that owns it (DESIGN.md: «the
timeline of a customer is assembled from selectors each app provides»)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fideliza.complaints.selectors import customer_complaints
from fideliza.customers.models import Customer
from fideliza.engagement.selectors import customer_messages
from fideliza.events.selectors import customer_invitations, is_no_show
from fideliza.interactions.selectors import customer_interactions
from fideliza.loyalty.selectors import member_for, member_history
from fideliza.sales.selectors import customer_orders
from fideliza.surveys.selectors import customer_responses

# The filter's values (the query parameter `ver`) and their labels, in the order shown.
KINDS = (
    ("compras", _("Compras")),
    ("interacciones", _("Interacciones")),
    ("mensajes", _("Mensajes")),
    ("puntos", _("Puntos")),
    ("quejas", _("Quejas")),
    ("eventos", _("Eventos")),
    ("encuestas", _("Encuestas")),
)
KIND_NAMES = frozenset(k for k, _label in KINDS)
PER_KIND = 100  # the latest rows of each kind; the timeline shows the newest of them all


@dataclass(frozen=True)
class TimelineItem:
    kind: str  # one of KINDS
    at: datetime
    obj: Any


def customer_timeline(customer: Customer, *, kind: str | None = None, limit: int = PER_KIND) -> list[TimelineItem]:
    """The latest `limit` events of the card, of one kind or of all, newest first.

    The caller has already checked that the user may see `customer`.
    """
    items: list[TimelineItem] = []
    if kind in (None, "compras"):
        items += [TimelineItem("compras", o.placed_at, o) for o in customer_orders(customer_id=customer.pk,
                                                                                    limit=limit)]
    if kind in (None, "interacciones"):
        items += [TimelineItem("interacciones", i.occurred_at, i)
                  for i in customer_interactions(customer_id=customer.pk, limit=limit)]
    if kind in (None, "mensajes"):
        items += [TimelineItem("mensajes", m.sent_at or m.send_at, m)
                  for m in customer_messages(customer, limit=limit)]
    if kind in (None, "puntos"):
        member = member_for(customer)
        if member is not None:
            items += [TimelineItem("puntos", e.occurred_at, e) for e in member_history(member, limit=limit)]
    if kind in (None, "quejas"):
        items += [TimelineItem("quejas", c.received_at, c)
                  for c in customer_complaints(customer_id=customer.pk, limit=limit)]
    if kind in (None, "eventos"):
        # An invitation sits at its event's start once the event has begun (came, did not
        # come), before that at the guest's latest answer (or the invitation).
        now = timezone.now()
        for inv in customer_invitations(customer_id=customer.pk, limit=limit):
            at = inv.event.starts_at if inv.event.starts_at <= now else (inv.responded_at or inv.invited_at)
            inv.no_show = is_no_show(inv, now)  # type: ignore[attr-defined]  # shown by the card's template
            items.append(TimelineItem("eventos", at, inv))
    if kind in (None, "encuestas"):
        items += [TimelineItem("encuestas", r.finished_at or r.started_at, r)
                  for r in customer_responses(customer_id=customer.pk, limit=limit)]
    items.sort(key=lambda i: i.at, reverse=True)
    return items[:limit]
