"""Tier qualification: upgrade at once, downgrade only as the program's policy says.

The qualifying value is kept apart from spendable points: each earn/reverse entry carries
the order amount (`qualifying_amount`) and the tier points (`qualifying_points`) it adds
or removes, so redeeming or expiring points never costs a member their tier.

Windows: a rolling window is the last 365 days. With a calendar year, a tier earned in
one year is kept through the next, so the value is the larger of this year's and last
year's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from fideliza.core.money import quantize_money

from .models import DowngradePolicy, LedgerEntry, Member, Program, Tier, TierBasis, TierWindow


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    previous_start: datetime | None  # calendar year: last year also counts


def tier_window(program: Program, at: datetime | None = None) -> Window:
    at = at or timezone.now()
    if program.tier_window == TierWindow.CALENDAR_YEAR:
        local = timezone.localtime(at)
        start = local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        return Window(start=start, end=at, previous_start=start.replace(year=start.year - 1))
    return Window(start=at - timedelta(days=365), end=at, previous_start=None)


def _field(program: Program) -> str:
    return "qualifying_points" if program.tier_basis == TierBasis.POINTS else "qualifying_amount"


def qualifying_values(program: Program, member_ids: Sequence[int], at: datetime | None = None) -> dict[int, Decimal]:
    """{member id: qualifying value} for the program's window ending at `at`.

    Raw SQL: it runs on every recorded order, and the ORM's compile step costs more than
    the query. Sums come back as Decimal (PostgreSQL) or a number (SQLite), rounded to cents.
    """
    win = tier_window(program, at)
    values: dict[int, Decimal] = defaultdict(Decimal)
    if not member_ids:
        return values
    column = _field(program)
    adapt = connection.ops.adapt_datetimefield_value
    marks = ", ".join(["%s"] * len(member_ids))
    sql = (f"SELECT member_id, SUM({column}) FROM {LedgerEntry._meta.db_table} "
           f"WHERE member_id IN ({marks}) AND occurred_at >= %s AND occurred_at {{op}} %s GROUP BY member_id")
    with connection.cursor() as cursor:
        cursor.execute(sql.format(op="<="), [*member_ids, adapt(win.start), adapt(win.end)])
        for mid, total in cursor.fetchall():
            values[mid] = quantize_money(Decimal(str(total or 0)))
        if win.previous_start is not None:
            cursor.execute(sql.format(op="<"), [*member_ids, adapt(win.previous_start), adapt(win.start)])
            for mid, total in cursor.fetchall():
                values[mid] = max(values[mid], quantize_money(Decimal(str(total or 0))))
    return values


def qualified_tier(tiers: Sequence[Tier], value: Decimal) -> Tier | None:
    """The highest tier whose threshold `value` reaches (tiers sorted by rank)."""
    best = None
    for tier in tiers:
        if value >= tier.threshold:
            best = tier
    return best


def _rank(tier: Tier | None) -> int:
    return -1 if tier is None else tier.rank


def tiers_upgrade(*, program: Program, tiers: Sequence[Tier], current: dict[int, int | None],
                  at: datetime | None = None) -> int:
    """Upgrade at once the members of `current` ({member id: tier id}) whose qualifying
    value reached a higher tier. `tiers` are the program's, sorted by rank. Caller holds
    the members' row locks (order accrual)."""
    rank: dict[int | None, int] = {t.pk: t.rank for t in tiers}
    values = qualifying_values(program, list(current), at)
    since = connection.ops.adapt_datetimefield_value(at or timezone.now())
    changed = []
    for mid, tier_id in current.items():
        target = qualified_tier(tiers, values.get(mid, Decimal(0)))
        if target is not None and target.rank > rank.get(tier_id, -1):
            changed.append((target.pk, since, mid))
    if changed:
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {Member._meta.db_table} SET tier_id = %s, tier_since = %s WHERE id = %s",
                               changed)
    return len(changed)


@transaction.atomic
def tiers_refresh(*, member_ids: Sequence[int], at: datetime | None = None,
                  allow_downgrade: bool = False) -> int:
    """Move members to the tier their qualifying value earns; returns how many changed.

    Upgrades apply at once. Downgrades only with `allow_downgrade` (the period-end review)
    and as the program's downgrade policy says.
    """
    at = at or timezone.now()
    changed: list[Member] = []
    by_program: dict[int, list[Member]] = defaultdict(list)
    for member in Member.objects.filter(pk__in=member_ids).select_related("tier"):
        by_program[member.program_id].append(member)
    for program_id, members in by_program.items():
        program = Program.objects.get(pk=program_id)
        tiers = list(Tier.objects.filter(program=program).order_by("rank"))
        if not tiers:
            continue
        values = qualifying_values(program, [m.pk for m in members], at)
        for member in members:
            target = qualified_tier(tiers, values.get(member.pk, Decimal(0)))
            current = member.tier
            if _rank(target) > _rank(current):
                new = target
            elif _rank(target) < _rank(current) and allow_downgrade:
                if program.downgrade_policy == DowngradePolicy.NEVER:
                    continue
                if program.downgrade_policy == DowngradePolicy.ONE_LEVEL:
                    lower = [t for t in tiers if t.rank < _rank(current)]
                    new = lower[-1] if lower else None
                    if _rank(new) < _rank(target):
                        new = target
                else:
                    new = target
            else:
                continue
            member.tier, member.tier_since = new, at
            changed.append(member)
    Member.objects.bulk_update(changed, ["tier", "tier_since"], batch_size=2000)
    return len(changed)


def tiers_review(*, at: datetime | None = None) -> int:
    """The period-end review (daily job): members who have held their tier for a whole
    period are re-qualified, and may go down as the downgrade policy allows."""
    at = at or timezone.now()
    changed = 0
    for program in Program.objects.filter(is_active=True).exclude(downgrade_policy=DowngradePolicy.NEVER):
        held_since = (tier_window(program, at).start if program.tier_window == TierWindow.CALENDAR_YEAR
                      else at - timedelta(days=365))
        ids = list(Member.objects.filter(program=program, tier__isnull=False)
                   .filter(Q(tier_since__isnull=True) | Q(tier_since__lte=held_since))
                   .values_list("pk", flat=True))
        for start in range(0, len(ids), 5000):
            changed += tiers_refresh(member_ids=ids[start:start + 5000], at=at, allow_downgrade=True)
    return changed
