"""Reads of follow-ups, with each role's visibility applied.

«Mi día» order (stated on the page): priority first (high, normal, low); within a priority
the customer whose loss would cost most, predicted CLV × churn risk from the analytics
snapshot (`insights.selectors.customers_value_at_risk`); then the due time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from fideliza.accounts.models import User
from fideliza.accounts.selectors import user_names
from fideliza.customers.selectors import customers_visible_to
from fideliza.insights.selectors import customers_value_at_risk

from .models import FollowUp, FollowUpStatus
from .services import business_zone, local_day_bounds

# Each section of «Mi día» shows at most SHOWN follow-ups, chosen in the stated order among
# the first CANDIDATES by priority and time; its count is always the whole count.
SHOWN = 50
CANDIDATES = 200


def followups_visible_to(user: User) -> QuerySet[FollowUp]:
    """Follow-ups on the customers `user` may see (a sales representative: their own).

    A correlated EXISTS rather than `customer IN (…)`: with an IN list SQLite walks every
    visible customer's follow-ups (the customer index) even when the query asks for one
    person's open ones, which have an index of their own (1 M rows: 0.5 s against ms).
    """
    return FollowUp.objects.filter(Exists(customers_visible_to(user).filter(pk=OuterRef("customer_id"))))


def assigned_to(user: User) -> Q:
    """Follow-ups for `user`: named for them, or for their role with nobody named."""
    return Q(assignee=user) | Q(assignee__isnull=True, assignee_role=user.role)


@dataclass
class DayItem:
    followup: FollowUp
    value_at_risk: Decimal | None
    urls: dict[str, str] = field(default_factory=dict)  # filled by the page that shows it


@dataclass
class MyDay:
    day: date
    overdue: list[DayItem] = field(default_factory=list)
    today: list[DayItem] = field(default_factory=list)
    returning: list[DayItem] = field(default_factory=list)
    overdue_count: int = 0
    today_count: int = 0
    returning_count: int = 0

    @property
    def total(self) -> int:
        return self.overdue_count + self.today_count + self.returning_count

    @property
    def truncated(self) -> bool:
        return (len(self.overdue), len(self.today), len(self.returning)) != (
            self.overdue_count, self.today_count, self.returning_count)


def _sorted(rows: list[FollowUp], risk: dict[int, Decimal], moment: str) -> list[DayItem]:
    items = [DayItem(f, risk.get(f.customer_id)) for f in rows]
    items.sort(key=lambda i: (i.followup.priority, -(i.value_at_risk or Decimal(0)),
                              getattr(i.followup, moment), i.followup.pk))
    return items


def my_day(*, user: User, now: datetime | None = None, viewer: User | None = None) -> MyDay:
    """The user's follow-ups due today (business zone), overdue, and snoozed ones coming back
    today, each list in the stated order. `viewer` (default: the user) looks at them: only
    the customers the viewer may see count."""
    now = now or timezone.now()
    today = now.astimezone(business_zone()).date()
    start, end = local_day_bounds(today)
    mine = followups_visible_to(user).filter(assigned_to(user)).select_related("customer", "assignee")
    if viewer is not None and viewer.pk != user.pk:
        mine = mine.filter(Exists(customers_visible_to(viewer).filter(pk=OuterRef("customer_id"))))
    sections = {
        "overdue": (mine.filter(status=FollowUpStatus.OPEN, due_at__lt=start), "due_at"),
        "today": (mine.filter(status=FollowUpStatus.OPEN, due_at__gte=start, due_at__lt=end), "due_at"),
        "returning": (mine.filter(status=FollowUpStatus.SNOOZED, snoozed_until__lt=end), "snoozed_until"),
    }
    rows = {name: list(qs.order_by("priority", moment, "id")[:CANDIDATES]) for name, (qs, moment) in sections.items()}
    counts = {name: (len(found) if len(found) < CANDIDATES else sections[name][0].count())
              for name, found in rows.items()}
    risk = customers_value_at_risk({f.customer_id for found in rows.values() for f in found})
    return MyDay(
        day=today,
        overdue=_sorted(rows["overdue"], risk, "due_at")[:SHOWN],
        today=_sorted(rows["today"], risk, "due_at")[:SHOWN],
        returning=_sorted(rows["returning"], risk, "snoozed_until")[:SHOWN],
        overdue_count=counts["overdue"], today_count=counts["today"], returning_count=counts["returning"],
    )


@dataclass
class TeamOverdue:
    label: str
    count: int


@dataclass
class HomeToday:
    day: date
    due_today: int
    overdue: int
    returning: int
    next_items: list[DayItem]
    team_overdue: list[TeamOverdue]
    team_overdue_total: int


def home_today(*, user: User, now: datetime | None = None, shown: int = 5) -> HomeToday:
    """The home page's «Hoy» block: my follow-ups of the day, and — for owner, marketing and
    support — the overdue follow-ups of the rest of the team, per person or role."""
    now = now or timezone.now()
    day = my_day(user=user, now=now)
    start, _end = local_day_bounds(day.day)
    counts: Counter[tuple[int | None, str]] = Counter()
    if not user.is_sales_rep:  # a representative's customers are his own: no team to watch
        # Grouped whole, the user's own groups dropped here: an exclusion in SQL (NULL-safe
        # NOT OR) made SQLite's plan three times slower.
        team = (followups_visible_to(user).filter(status=FollowUpStatus.OPEN, due_at__lt=start)
                .order_by().values("assignee_id", "assignee_role").annotate(n=Count("pk")))
        mine = {(user.pk, ""), (None, user.role)}
        counts.update({key: row["n"] for row in team
                       if (key := (row["assignee_id"], row["assignee_role"])) not in mine})
    names = user_names(k[0] for k in counts if k[0])
    rows = []
    for (assignee_id, role), n in counts.items():
        if assignee_id is not None:
            label = names[assignee_id]
        else:
            label = FollowUp(assignee_role=role).assignee_label
        rows.append(TeamOverdue(label, n))
    rows.sort(key=lambda r: (-r.count, r.label))
    return HomeToday(day=day.day, due_today=day.today_count, overdue=day.overdue_count,
                     returning=day.returning_count,
                     next_items=(day.overdue + day.today + day.returning)[:shown],
                     team_overdue=rows, team_overdue_total=sum(r.count for r in rows))


def customer_followups(*, customer_id: int, limit: int = 20) -> list[FollowUp]:
    """A card's open follow-ups first (by due time), then the latest closed ones."""
    qs = FollowUp.objects.filter(customer_id=customer_id).select_related("assignee")
    open_rows = list(qs.filter(status__in=(FollowUpStatus.OPEN, FollowUpStatus.SNOOZED)).order_by("due_at", "id")[:limit])
    closed = list(qs.filter(status__in=(FollowUpStatus.DONE, FollowUpStatus.CANCELLED))
                  .order_by("-closed_at", "-id")[:limit])
    return open_rows + closed


def followups_exist() -> bool:
    return FollowUp.objects.exists()


def followups_open_by_customer() -> list[tuple[int, int]]:
    """(follow-up, customer) of the open follow-ups, oldest first."""
    return list(FollowUp.objects.filter(status=FollowUpStatus.OPEN).order_by("pk").values_list("pk", "customer_id"))


def followups_open_of(customer_id: int | None) -> QuerySet[FollowUp]:
    """The open and snoozed follow-ups of a customer (none for None), soonest first: what a
    logged contact may mark done."""
    if customer_id is None:
        return FollowUp.objects.none()
    return (FollowUp.objects.filter(customer_id=customer_id, status__in=(FollowUpStatus.OPEN, FollowUpStatus.SNOOZED))
            .order_by("due_at", "id"))


def customers_with_followup_from(*, kind: str, origin_id: int) -> set[int]:
    """The customers who already have a follow-up from the origin (`kind`, id), in any
    state: what a repeated one-click action must not create again."""
    return set(FollowUp.objects.filter(origin_kind=kind, origin_id=origin_id).values_list("customer_id", flat=True))


def followups_from_origin_count(*, kind: str, origin_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{origin id: (follow-ups, of which still open)} of the origins (`kind`, ids)."""
    rows = (FollowUp.objects.filter(origin_kind=kind, origin_id__in=origin_ids).order_by().values("origin_id")
            .annotate(n=Count("pk"), still_open=Count("pk", filter=Q(status__in=(FollowUpStatus.OPEN,
                                                                                FollowUpStatus.SNOOZED)))))
    return {r["origin_id"]: (r["n"], r["still_open"]) for r in rows if r["origin_id"] is not None}


def followups_of_origin(*, kind: str, origin_id: int) -> QuerySet[FollowUp]:
    """The follow-ups one origin created (a contact cadence, an automation), every status:
    a caller narrows them (by customer, by state) or correlates them with its own query."""
    return FollowUp.objects.filter(origin_kind=kind, origin_id=origin_id)


def followups_pending_q() -> Q:
    """Open or snoozed: still to do."""
    return Q(status__in=(FollowUpStatus.OPEN, FollowUpStatus.SNOOZED))
