"""The daily expiry of point lots, in set-based SQL (fast on millions of lots), and the
notices sent N days before points expire.

Each batch of members is handled in its own short transaction holding the row locks of
exactly those members (ascending id, like every other ledger writer): one expiry entry
per member and run, one allocation per expired lot, the cached balance and the lots
updated by the same statements, so the ledger stays consistent at every commit.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from fideliza.accounts.services import Actor

from .models import (
    CauseType,
    EntryKind,
    ExpiryNotice,
    ExpiryRun,
    LedgerEntry,
    LotAllocation,
    Member,
    PointLot,
)

BATCH = 5000


def _tables() -> dict[str, str]:
    return {"lot": PointLot._meta.db_table, "entry": LedgerEntry._meta.db_table,
            "alloc": LotAllocation._meta.db_table, "member": Member._meta.db_table}


def _expire_batch(run: ExpiryRun, member_ids: list[int], now: datetime) -> tuple[int, int]:
    t = _tables()
    marks = ",".join(["%s"] * len(member_ids))
    cause = str(run.pk)
    with transaction.atomic(), connection.cursor() as cur:
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        cur.execute(f"SELECT id FROM {t['member']} WHERE id IN ({marks}) ORDER BY id{lock}", member_ids)
        # This run's entries are the ones above the current maximum id: joins find them by
        # primary-key range, not by the cause index (whose statistics, from before any
        # expiry row existed, lead PostgreSQL's planner to scan every entry of the run).
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {t['entry']}")
        before = cur.fetchone()[0]
        cur.execute(
            f"""INSERT INTO {t['entry']} (member_id, kind, points, balance_after, cause_type, cause_id,
                    qualifying_amount, qualifying_points, note, shortfall, occurred_at, created_at)
                SELECT l.member_id, %s, -SUM(l.points_remaining), m.points_balance - SUM(l.points_remaining),
                       %s, %s, 0, 0, %s, 0, %s, %s
                FROM {t['lot']} l JOIN {t['member']} m ON m.id = l.member_id
                WHERE l.member_id IN ({marks}) AND l.expires_at <= %s AND l.points_remaining > 0
                GROUP BY l.member_id, m.points_balance""",
            [EntryKind.EXPIRE, CauseType.EXPIRY, cause, "", run.cutoff, now, *member_ids, run.cutoff])
        members = cur.rowcount
        cur.execute(
            f"""INSERT INTO {t['alloc']} (entry_id, lot_id, points)
                SELECT e.id, l.id, l.points_remaining
                FROM {t['lot']} l JOIN {t['entry']} e ON e.member_id = l.member_id
                WHERE e.id > %s AND e.cause_type = %s AND e.cause_id = %s AND e.kind = %s
                  AND l.member_id IN ({marks}) AND l.expires_at <= %s AND l.points_remaining > 0""",
            [before, CauseType.EXPIRY, cause, EntryKind.EXPIRE, *member_ids, run.cutoff])
        lots = cur.rowcount
        cur.execute(
            f"""UPDATE {t['member']} SET points_balance = {t['member']}.points_balance - s.total
                FROM (SELECT member_id, SUM(points_remaining) AS total FROM {t['lot']}
                      WHERE member_id IN ({marks}) AND expires_at <= %s AND points_remaining > 0
                      GROUP BY member_id) s
                WHERE {t['member']}.id = s.member_id""",
            [*member_ids, run.cutoff])
        cur.execute(
            f"""UPDATE {t['lot']} SET points_remaining = 0
                WHERE member_id IN ({marks}) AND expires_at <= %s AND points_remaining > 0""",
            [*member_ids, run.cutoff])
    return members, lots


def points_expire(*, now: datetime | None = None, actor: Actor | None = None) -> ExpiryRun:
    """Expire every lot whose expiry date has passed; returns the run with its counts.

    Safe to run again (a second run finds nothing left to expire) and concurrently with
    redemptions (both lock the member rows).
    """
    now = now or timezone.now()
    run = ExpiryRun.objects.create(cutoff=now)
    member_ids = sorted(set(PointLot.objects.filter(expires_at__lte=now, points_remaining__gt=0)
                            .values_list("member_id", flat=True)))
    for start in range(0, len(member_ids), BATCH):
        members, lots = _expire_batch(run, member_ids[start:start + BATCH], now)
        run.members_affected += members
        run.lots_expired += lots
    run.points_expired = -(LedgerEntry.objects.filter(cause_type=CauseType.EXPIRY, cause_id=str(run.pk))
                           .aggregate(s=Sum("points"))["s"] or 0)
    run.save(update_fields=["members_affected", "lots_expired", "points_expired"])
    return run


def expiry_notices_create(*, now: datetime | None = None) -> list[ExpiryNotice]:
    """One notice per member and expiry date for points expiring within the program's
    notice period. The automations with the «Puntos a punto de caducar» trigger turn them
    into messages (`automations.triggers.points_expiring_hits`)."""
    from .models import Program

    now = now or timezone.now()
    notices = []
    for program in Program.objects.filter(is_active=True, expiry_days__isnull=False):
        horizon = now + timedelta(days=program.expiry_notice_days)
        rows = (PointLot.objects.filter(member__program=program, points_remaining__gt=0,
                                        expires_at__gt=now, expires_at__lte=horizon)
                .annotate(day=TruncDate("expires_at")).values("member_id", "day")
                .annotate(points=Sum("points_remaining")))
        notices += [ExpiryNotice(member_id=r["member_id"], expires_on=r["day"], points=r["points"])
                    for r in rows]
    existing = set(ExpiryNotice.objects.filter(member_id__in={n.member_id for n in notices})
                   .values_list("member_id", "expires_on"))
    created = [n for n in notices if (n.member_id, n.expires_on) not in existing]
    ExpiryNotice.objects.bulk_create(created, ignore_conflicts=True)
    return created


def birthdays_award(*, today: date | None = None) -> int:
    """The birthday bonus, once per member and year (29 February counts on the 28th)."""
    from .services import bonus_award

    today = today or timezone.localdate()
    days = [today.day]
    if today.month == 2 and today.day == 28 and not calendar.isleap(today.year):
        days.append(29)
    actor = Actor.system("loyalty:birthdays")
    count = 0
    for member in (Member.objects.filter(program__is_active=True, program__birthday_points__gt=0,
                                         customer__birth_date__month=today.month,
                                         customer__birth_date__day__in=days)
                   .exclude(entries__cause_type=CauseType.BIRTHDAY, entries__cause_id=str(today.year))
                   .select_related("program")):
        entry = bonus_award(member=member, cause_type=CauseType.BIRTHDAY, cause_id=str(today.year),
                            actor=actor)
        count += 1 if entry is not None else 0
    return count
