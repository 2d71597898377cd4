"""Reads of the complaints book, with each role's visibility applied, and its reports.

A sales representative sees only the complaints of the customers assigned to them, like
every other list (`customers.selectors.customers_visible_to`).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import User
from fideliza.core.money import quantize_money
from fideliza.customers.exits import ExitReason
from fideliza.customers.selectors import customers_visible_to
from fideliza.insights.selectors import customers_clv_predicted
from fideliza.sales.selectors import orders_placed_by

from . import rules as R
from .models import (
    OPEN_STATUSES,
    CannedAnswer,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintStatus,
    ExitReasonRecord,
    RecoveryGesture,
    RootCause,
)

WARN_DAYS = 2  # business days left at which an open complaint shows «vence pronto»


def complaints_visible_to(user: User) -> QuerySet[Complaint]:
    """Complaints of the customers `user` may see (a sales representative: their own)."""
    return Complaint.objects.filter(Exists(customers_visible_to(user).filter(pk=OuterRef("customer_id"))))


def overdue_q(now: datetime) -> Q:
    """Open complaints past their resolution term (paused ones have no term running)."""
    return Q(status__in=OPEN_STATUSES, due_at__isnull=False, due_at__lte=now)


def overdue_count(*, user: User | None = None, now: datetime | None = None,
                  customers: QuerySet[Any] | None = None) -> int:
    """How many open complaints are past their term, among those `user` may see (or among
    `customers`): the six-moves plan's «quejas fuera de plazo»."""
    now = now or timezone.now()
    qs = complaints_visible_to(user) if user is not None else Complaint.objects.all()
    if customers is not None:
        qs = qs.filter(customer__in=customers)
    return qs.filter(overdue_q(now)).count()


def overdue_customers(*, user: User | None = None, now: datetime | None = None) -> list[int]:
    """The customers with an open complaint past its term (ids, oldest term first)."""
    now = now or timezone.now()
    qs = complaints_visible_to(user) if user is not None else Complaint.objects.all()
    ids = qs.filter(overdue_q(now)).order_by("due_at").values_list("customer_id", flat=True)
    return list(dict.fromkeys(ids))


@dataclass(frozen=True)
class Timer:
    """A term as the pages show it: its last day, business days left, and its state."""

    state: str          # "ok" | "soon" | "breached" | "paused" | "met" | "late"
    last_day: Any = None
    left: int = 0


def timer_of(complaint: Complaint, *, which: str, now: datetime) -> Timer:
    """The state of the first-response (`which="first"`) or resolution (`"resolution"`) term."""
    rules = complaint.rule_set
    due = complaint.first_response_due_at if which == "first" else complaint.due_at
    done = complaint.first_response_at if which == "first" else complaint.resolved_at
    paused = complaint.paused_first_days if which == "first" else complaint.paused_days
    if done is not None:
        if due is None:
            return Timer("met")
        last = (due.astimezone(R.zone_of(rules)) - timedelta(microseconds=1)).date()
        return Timer("met" if done < due else "late", last)
    if due is None:
        return Timer("paused", None, paused or 0)
    last = (due.astimezone(R.zone_of(rules)) - timedelta(microseconds=1)).date()
    if now >= due:
        return Timer("breached", last)
    left = R.remaining_days(now, due, rules, complaint.subdivision)
    return Timer("soon" if left <= WARN_DAYS else "ok", last, left)


@dataclass
class Filters:
    status: str = ""
    kind: str = ""
    category: int | None = None
    overdue: bool = False
    q: str = ""


def complaints_list(*, user: User, filters: Filters, now: datetime | None = None) -> QuerySet[Complaint]:
    now = now or timezone.now()
    qs = complaints_visible_to(user).select_related("customer", "category", "store", "assignee")
    if filters.status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif filters.status in ComplaintStatus.values:
        qs = qs.filter(status=filters.status)
    if filters.kind in R.KIND_LABELS:
        qs = qs.filter(kind=filters.kind)
    if filters.category:
        qs = qs.filter(category_id=filters.category)
    if filters.overdue:
        qs = qs.filter(overdue_q(now))
    if filters.q:
        q = filters.q.strip()
        qs = qs.filter(Q(tracking_code__iexact=q) | Q(name__icontains=q) | Q(email__iexact=q))
    return qs.order_by("-received_at", "-id")


def status_counts(user: User) -> dict[str, int]:
    rows = complaints_visible_to(user).order_by().values_list("status", flat=True)
    return dict(Counter(rows))


def complaint_history(complaint: Complaint) -> list[ComplaintEvent]:
    return list(complaint.events.select_related("by").order_by("at", "id"))


def complaint_gestures(complaint: Complaint) -> list[RecoveryGesture]:
    return list(complaint.gestures.order_by("created_at", "id"))


def canned_answers_for(category_id: int | None) -> list[CannedAnswer]:
    """Active canned answers of the category first, then those for any category."""
    qs = CannedAnswer.objects.filter(is_active=True).filter(Q(category__isnull=True) | Q(category_id=category_id))
    return sorted(qs, key=lambda a: (a.category_id is None, a.title))


def categories_active() -> QuerySet[ComplaintCategory]:
    return ComplaintCategory.objects.filter(is_active=True)


def root_causes_active() -> QuerySet[RootCause]:
    return RootCause.objects.filter(is_active=True)


def customer_complaints(*, customer_id: int, limit: int = 50) -> list[Complaint]:
    """A card's complaints, newest first (the 360° card and its timeline)."""
    return list(Complaint.objects.filter(customer_id=customer_id).select_related("category")
                .order_by("-received_at", "-id")[:limit])


def complaint_by_code(code: str, contact: str) -> Complaint | None:
    """The public status page: the complaint with this code whose e-mail or phone is `contact`."""
    contact = (contact or "").strip()
    if not code or not contact:
        return None
    row = Complaint.objects.filter(tracking_code__iexact=code.strip()).first()
    if row is None:
        return None
    digits = "".join(ch for ch in contact if ch.isdigit())
    if (row.email and row.email.lower() == contact.lower()) or (
            row.phone and digits and row.phone.endswith(digits[-9:]) and len(digits) >= 6):
        return row
    return None


def complaints_exist() -> bool:
    return Complaint.objects.exists()


# --- reports --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParetoRow:
    label: str
    count: int
    share: float       # of the total, %
    cumulative: float  # %


def pareto(counts: Iterable[tuple[str, int]]) -> list[ParetoRow]:
    """Rows by count, largest first, with their share and cumulative share of the total."""
    rows = sorted(((label, n) for label, n in counts if n), key=lambda r: (-r[1], r[0]))
    total = sum(n for _l, n in rows)
    out, running = [], 0
    for label, n in rows:
        running += n
        out.append(ParetoRow(label, n, round(100 * n / total, 1), round(100 * running / total, 1)))
    return out


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0–100) with linear interpolation between closest ranks
    (numpy's default, «linear»); None without values."""
    if not values:
        return None
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    rank = (len(data) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


@dataclass
class Durations:
    count: int
    median_hours: float | None
    p90_hours: float | None


def _durations(pairs: Iterable[tuple[datetime, datetime | None]]) -> Durations:
    hours = [(end - start).total_seconds() / 3600 for start, end in pairs if end is not None]
    return Durations(len(hours), statistics.median(hours) if hours else None, percentile(hours, 90))


@dataclass
class StoreBreaches:
    store: str
    complaints: int
    breached: int


@dataclass
class Recovery:
    """Complainants who bought again within `days` after resolution, with and without a
    gesture: an observational comparison (who got a gesture was chosen, not drawn at random)."""

    days: int
    with_gesture: int = 0
    with_gesture_back: int = 0
    without_gesture: int = 0
    without_gesture_back: int = 0
    recovered_ids: list[int] = field(default_factory=list)

    @staticmethod
    def rate(back: int, total: int) -> float | None:
        return round(100 * back / total, 1) if total else None

    @property
    def with_rate(self) -> float | None:
        return self.rate(self.with_gesture_back, self.with_gesture)

    @property
    def without_rate(self) -> float | None:
        return self.rate(self.without_gesture_back, self.without_gesture)


@dataclass
class Roi:
    gestures: int
    cost: Decimal
    clv_kept: Decimal       # predicted CLV of the complainants with a gesture who bought again
    customers_with_clv: int
    ratio: Decimal | None   # clv_kept / cost


@dataclass
class Report:
    total: int
    reasons: list[ParetoRow]
    root_causes: list[ParetoRow]
    exit_reasons: list[ParetoRow]
    first_response: Durations
    resolution: Durations
    by_store: list[StoreBreaches]
    recovery: Recovery
    roi: Roi
    overdue: int


@dataclass(frozen=True)
class _Row:
    """What the report needs of one complaint (tuples, not model instances: 20,000 rows)."""

    customer_id: int
    category: str | None
    root_cause: str | None
    store: str | None
    status: str
    received_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    due_at: datetime | None


def _breached(c: _Row, now: datetime) -> bool:
    """Missed its resolution term: resolved after it, or still open past it."""
    if c.due_at is None:
        return False
    return (c.resolved_at or now) >= c.due_at


def recovery(resolved: Iterable[tuple[int, datetime]], gestured: set[int], *, days: int, now: datetime) -> Recovery:
    """Per complainant (their latest resolution, from (customer, resolved at) pairs): did they
    order within `days` after it? Split by whether any of their complaints got a gesture."""
    latest: dict[int, datetime] = {}
    for customer_id, at in resolved:
        if customer_id not in latest or at > latest[customer_id]:
            latest[customer_id] = at
    out = Recovery(days=days)
    if not latest:
        return out
    ids = list(latest)
    back: set[int] = set()
    start = min(latest.values())
    for chunk in range(0, len(ids), 5000):
        orders = orders_placed_by(ids[chunk:chunk + 5000], since=start, until=now + timedelta(seconds=1))
        for customer_id, placed_at, _total in orders:
            at = latest[customer_id]
            if at <= placed_at <= at + timedelta(days=days):
                back.add(customer_id)
    for customer_id in latest:
        if customer_id in gestured:
            out.with_gesture += 1
            out.with_gesture_back += customer_id in back
        else:
            out.without_gesture += 1
            out.without_gesture_back += customer_id in back
    out.recovered_ids = sorted(back)
    return out


def complaints_report(*, user: User, since: datetime | None = None, days: int = 90,
                      now: datetime | None = None) -> Report:
    """The book's figures over the complaints `user` may see, received since `since`."""
    now = now or timezone.now()
    qs = complaints_visible_to(user)
    if since is not None:
        qs = qs.filter(received_at__gte=since)
    rows = [_Row(*values) for values in qs.order_by().values_list(
        "customer_id", "category__name", "root_cause__name", "store__name", "status", "received_at",
        "first_response_at", "resolved_at", "due_at")]
    gestures = list(RecoveryGesture.objects.filter(complaint__in=qs.values("pk")).values_list("customer_id", "cost"))
    gestured = {customer_id for customer_id, _cost in gestures}
    no_category, no_store = str(_("Sin categoría")), str(_("Sin tienda"))
    reasons = Counter(c.category or no_category for c in rows)
    causes = Counter(c.root_cause for c in rows if c.root_cause)
    stores: dict[str, StoreBreaches] = {}
    for c in rows:
        name = c.store or no_store
        entry = stores.setdefault(name, StoreBreaches(name, 0, 0))
        entry.complaints += 1
        entry.breached += _breached(c, now)
    rec = recovery(((c.customer_id, c.resolved_at) for c in rows if c.resolved_at is not None), gestured,
                   days=days, now=now)
    cost = quantize_money(sum((c for _id, c in gestures), Decimal(0)))
    kept_ids = gestured & set(rec.recovered_ids)
    clv = customers_clv_predicted(kept_ids)
    kept = quantize_money(sum(clv.values(), Decimal(0)))
    visible_exit = ExitReasonRecord.objects.filter(
        Exists(customers_visible_to(user).filter(pk=OuterRef("customer_id"))))
    if since is not None:
        visible_exit = visible_exit.filter(at__gte=since)
    labels = dict(ExitReason.choices)
    exits = Counter(str(labels.get(r, r)) for r in visible_exit.values_list("reason", flat=True))
    return Report(
        total=len(rows),
        reasons=pareto(reasons.items()),
        root_causes=pareto(causes.items()),
        exit_reasons=pareto(exits.items()),
        first_response=_durations((c.received_at, c.first_response_at) for c in rows),
        resolution=_durations((c.received_at, c.resolved_at) for c in rows),
        by_store=sorted(stores.values(), key=lambda s: (-s.breached, -s.complaints, s.store)),
        recovery=rec,
        roi=Roi(len(gestures), cost, kept, len(clv), (kept / cost).quantize(Decimal("0.1")) if cost else None),
        overdue=sum(1 for c in rows if c.status in OPEN_STATUSES and c.due_at is not None and c.due_at <= now),
    )
