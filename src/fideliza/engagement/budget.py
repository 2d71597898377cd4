"""The contact budget: how many marketing messages a customer may get, and when.

One budget covers every channel. A budget allows at most `max_messages` in ANY window of
`window` length (half-open, [s, s + window)); quiet hours are in the customer's own time
zone. `slot_find` answers the earliest moment at or after a start time where one more
message keeps every window within the budget and falls outside quiet hours.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings


@dataclass(frozen=True)
class Budget:
    max_messages: int
    window: timedelta
    quiet_start: time | None = None
    quiet_end: time | None = None

    @property
    def has_quiet_hours(self) -> bool:
        return (self.quiet_start is not None and self.quiet_end is not None
                and self.quiet_start != self.quiet_end)


def _parse_time(value: str) -> time | None:
    if not value:
        return None
    hour, minute = (int(p) for p in value.split(":"))
    return time(hour, minute)


def default_budget() -> Budget:
    """The budget from settings, used when no global ContactBudget row exists."""
    return Budget(
        max_messages=settings.FIDELIZA_BUDGET_MAX_MESSAGES,
        window=timedelta(days=settings.FIDELIZA_BUDGET_WINDOW_DAYS),
        quiet_start=_parse_time(settings.FIDELIZA_QUIET_HOURS_START),
        quiet_end=_parse_time(settings.FIDELIZA_QUIET_HOURS_END),
    )


def customer_zone(name: str) -> ZoneInfo:
    """The customer's IANA zone; empty or unknown names fall back to the business's."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(settings.TIME_ZONE)


def quiet_hours_end(at: datetime, budget: Budget, zone: ZoneInfo) -> datetime | None:
    """When the quiet hours containing `at` end (aware), or None if `at` is not in them."""
    if not budget.has_quiet_hours:
        return None
    assert budget.quiet_start is not None and budget.quiet_end is not None
    local = at.astimezone(zone)
    now_t = local.time()
    start, end = budget.quiet_start, budget.quiet_end
    if start < end:  # e.g. 13:00–16:00 the same day
        if not (start <= now_t < end):
            return None
        end_day = local.date()
    else:  # spans midnight, e.g. 21:00–09:00
        if now_t >= start:
            end_day = local.date() + timedelta(days=1)
        elif now_t < end:
            end_day = local.date()
        else:
            return None
    # fold=0 and zoneinfo resolve a non-existent local time (spring DST gap) forward.
    return datetime.combine(end_day, end, tzinfo=zone)


def window_allows(times: Sequence[datetime], t: datetime, budget: Budget) -> bool:
    """Whether one more message at `t` keeps every window containing `t` within budget.

    `times` is sorted. The fullest window containing t starts at t itself or at one of the
    messages in (t - window, t] (sliding the start right up to the next message never drops
    one), so only those starts are checked.
    """
    if budget.max_messages <= 0:
        return False
    w = budget.window
    lo = bisect.bisect_right(times, t - w)
    hi = bisect.bisect_right(times, t)
    for s in [*times[lo:hi], t]:
        count = bisect.bisect_left(times, s + w) - bisect.bisect_left(times, s)
        if count + 1 > budget.max_messages:
            return False
    return True


@dataclass(frozen=True)
class Slot:
    at: datetime | None   # None: no slot within the horizon
    over_budget: bool     # the budget (not only quiet hours) moved it
    quiet_hours: bool     # quiet hours moved it


def slot_find(times: Sequence[datetime], start: datetime, budget: Budget, zone: ZoneInfo, *,
              horizon: timedelta | None = None, quiet: bool = True) -> Slot:
    """The earliest moment ≥ start for one more marketing message (see the module docstring)."""
    limit = start + horizon if horizon is not None else None
    t = start
    moved_budget = moved_quiet = False
    # Each round moves t past at least one message's window or one quiet period.
    for _round in range(2 * len(times) + 8):
        if quiet:
            end = quiet_hours_end(t, budget, zone)
            if end is not None:
                t, moved_quiet = end, True
        if limit is not None and t > limit:
            return Slot(None, moved_budget, moved_quiet)
        if window_allows(times, t, budget):
            return Slot(t, moved_budget, moved_quiet)
        if budget.max_messages <= 0:
            return Slot(None, True, moved_quiet)
        # The next moment a counted message leaves a window containing t.
        later = [x + budget.window for x in times if x + budget.window > t]
        if not later:
            return Slot(None, True, moved_quiet)
        t, moved_budget = min(later), True
    return Slot(None, True, moved_quiet)


def budgets_resolve(customer_ids: Iterable[int]) -> dict[int, Budget]:
    """Each customer's budget: own row, else strictest segment row, else global, else settings."""
    from fideliza.core.sql import ids_filter
    from fideliza.segments.selectors import segment_memberships

    from .models import BudgetScope, ContactBudget

    ids = list(customer_ids)
    rows = list(ContactBudget.objects.filter(scope=BudgetScope.GLOBAL)[:1])
    base = _to_budget(rows[0]) if rows else default_budget()
    result = dict.fromkeys(ids, base)
    segment_budgets = {b.segment_id: _to_budget(b)
                       for b in ContactBudget.objects.filter(scope=BudgetScope.SEGMENT) if b.segment_id is not None}
    if segment_budgets and ids:
        for customer_id, segment_ids in segment_memberships(sorted(segment_budgets), ids).items():
            if customer_id not in result:
                continue
            for segment_id in sorted(segment_ids):
                candidate = segment_budgets[segment_id]
                current = result[customer_id]
                if current is base or _stricter(candidate, current):
                    result[customer_id] = candidate
    if ids:
        for row in ContactBudget.objects.filter(ids_filter("customer_id", ids), scope=BudgetScope.CUSTOMER):
            if row.customer_id in result:
                result[row.customer_id] = _to_budget(row)
    return result


def _stricter(a: Budget, b: Budget) -> bool:
    """Fewer messages per day allowed is stricter."""
    return a.max_messages / a.window.total_seconds() < b.max_messages / b.window.total_seconds()


def _to_budget(row) -> Budget:  # row: ContactBudget
    return Budget(max_messages=row.max_messages, window=timedelta(days=row.window_days),
                  quiet_start=row.quiet_start, quiet_end=row.quiet_end)
