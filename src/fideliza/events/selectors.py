"""Reads of events and invitations, with each role's visibility applied.

Events themselves hold no customer data (every role sees the list); invitations are rows
about customers: a sales representative sees only those of their own customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from fideliza.accounts.models import User
from fideliza.customers.selectors import customers_visible_to
from fideliza.sales.selectors import orders_placed_by

from .models import Event, EventStatus, Invitation, Response

# The report's window: purchases within this many days after the event ended.
PURCHASE_WINDOW_DAYS = 30


def events_all() -> QuerySet[Event]:
    return Event.objects.select_related("audience_segment")


def invitations_visible_to(user: User) -> QuerySet[Invitation]:
    """Invitations of the customers `user` may see (a sales representative: their own)."""
    return Invitation.objects.filter(Exists(customers_visible_to(user).filter(pk=OuterRef("customer_id"))))


def event_counts(event_ids: list[int]) -> dict[int, dict[str, int]]:
    """{event: {response: count, "attended": n}} over all invitations (no customer data)."""
    out: dict[int, dict[str, int]] = {pk: {} for pk in event_ids}
    rows = (Invitation.objects.filter(event_id__in=event_ids).values("event_id", "response")
            .annotate(n=Count("pk"), came=Count("pk", filter=Q(attended_at__isnull=False))))
    for row in rows:
        counts = out[row["event_id"]]
        counts[row["response"]] = row["n"]
        counts["attended"] = counts.get("attended", 0) + row["came"]
    return out


def event_confirmed(event: Event) -> int:
    return Invitation.objects.filter(event=event, response=Response.YES).count()


def is_no_show(invitation: Invitation, now: datetime) -> bool:
    """A «sí» who did not come, once the event is over."""
    return (invitation.response == Response.YES and invitation.attended_at is None
            and now >= invitation.event.ends_at and invitation.event.status != EventStatus.CANCELLED)


@dataclass
class GroupPurchases:
    customers: int = 0
    buyers: int = 0
    revenue: Decimal = Decimal("0.00")

    @property
    def share(self) -> float | None:
        return self.buyers / self.customers if self.customers else None


@dataclass
class EventReport:
    invited: int = 0          # invitations sent (walk-ins not counted)
    pending: int = 0
    accepted: int = 0         # «sí» now (those promoted from the waiting list included)
    declined: int = 0
    maybe: int = 0
    waiting: int = 0
    attended: int = 0         # walk-ins included
    walk_ins: int = 0
    no_shows: int = 0
    attendees: GroupPurchases = field(default_factory=GroupPurchases)
    absentees: GroupPurchases = field(default_factory=GroupPurchases)  # invited who did not come
    window_start: datetime | None = None
    window_end: datetime | None = None
    window_complete: bool = False
    ended: bool = False


def event_report(event: Event, *, now: datetime | None = None) -> EventReport:
    """The event's figures, and who bought within 30 days after it: those who came against
    the invited who did not. An observational comparison (the guests chose to come; no
    random holdout), read through sales' selector."""
    now = now or timezone.now()
    report = EventReport(ended=now >= event.ends_at)
    counted = (Invitation.objects.filter(event=event).order_by().values("response", "walk_in")
               .annotate(n=Count("pk"), came=Count("pk", filter=Q(attended_at__isnull=False))))
    for row in counted:
        n, came = row["n"], row["came"]
        report.attended += came
        if row["walk_in"]:
            report.walk_ins += n
            continue
        report.invited += n
        response = row["response"]
        if response == Response.PENDING:
            report.pending += n
        elif response == Response.YES:
            report.accepted += n
            if report.ended and event.status != EventStatus.CANCELLED:
                report.no_shows += n - came
        elif response == Response.NO:
            report.declined += n
        elif response == Response.MAYBE:
            report.maybe += n
        elif response == Response.WAITING:
            report.waiting += n
    if report.ended:
        rows = list(Invitation.objects.filter(event=event).values_list("customer_id", "walk_in", "attended_at"))
        attendees = [cid for cid, _walk_in, came in rows if came is not None]
        absentees = [cid for cid, walk_in, came in rows if came is None and not walk_in]
        start, end = event.ends_at, event.ends_at + timedelta(days=PURCHASE_WINDOW_DAYS)
        report.window_start, report.window_end, report.window_complete = start, end, now >= end
        until = min(now, end)
        bought: dict[int, Decimal] = {}
        # The invitees as a subquery: no IN list of thousands of ids (SQLite's limit).
        invitees = Invitation.objects.filter(event=event).values("customer_id")
        for customer_id, _placed, total in orders_placed_by(invitees, since=start, until=until):
            bought[customer_id] = bought.get(customer_id, Decimal(0)) + total
        for group, ids in ((report.attendees, attendees), (report.absentees, absentees)):
            group.customers = len(ids)
            group.buyers = sum(1 for cid in ids if cid in bought)
            group.revenue = sum((bought[cid] for cid in ids if cid in bought), Decimal("0.00"))
    return report


def customer_invitations(*, customer_id: int, limit: int = 100) -> list[Invitation]:
    """A card's invitations, for its timeline (newest event first)."""
    return list(Invitation.objects.filter(customer_id=customer_id).select_related("event")
                .order_by("-event__starts_at", "-id")[:limit])


def events_exist() -> bool:
    return Event.objects.exists()
