"""Writes for the points ledger: enrolment, accrual, bonuses, redemption, adjustment,
claw-back on returns. Every function here is the only way its rows are written.

Locking: every write to a member's ledger happens inside `transaction.atomic` while
holding `SELECT … FOR UPDATE` on the member row (always taken in ascending id order when
several members are involved), so concurrent redemptions serialise and the balance check
cannot race. On SQLite the IMMEDIATE transactions of the settings serialise writers.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Sum
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record
from fideliza.catalog.selectors import category_parents
from fideliza.core.bulk import insert_rows, reserve_ids
from fideliza.customers.models import Customer
from fideliza.sales.selectors import (
    order_facts,
    order_ids_all,
    order_totals,
    return_ids_all,
    return_orders,
    returns_history,
)
from fideliza.segments.selectors import segment_memberships

from .earning import (
    Earner,
    EarningTerms,
    LineIn,
    OrderIn,
    RuleSpec,
    category_descendants,
    points_for_basket,
    rule_specs,
)
from .models import (
    CauseType,
    EarningRule,
    EntryKind,
    LedgerEntry,
    LotAllocation,
    Member,
    PointLot,
    Program,
    Tier,
)

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud at a till
ID_CHUNK = 5000  # keeps IN (…) lists under SQLite's variable limit


class InsufficientPoints(ValidationError):
    """Not enough spendable points. The API answers 409."""

    def __init__(self, *, requested: int, available: int) -> None:
        super().__init__(
            {"points": _("Saldo insuficiente: se piden %(req)s puntos y hay %(av)s disponibles.")
             % {"req": requested, "av": available}},
            code="insufficient_points",
        )
        self.requested, self.available = requested, available
        self.reason = "insufficient_points"


class IdempotencyConflict(ValidationError):
    """The same idempotency key was already used for a different request (409)."""


def random_code(length: int = 10) -> str:
    """Random symbols of CODE_ALPHABET; 32 symbols divide 256, so every byte maps evenly."""
    return "".join(CODE_ALPHABET[b % 32] for b in secrets.token_bytes(length))


def _chunks(ids: Sequence[int], size: int = ID_CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def default_program() -> Program | None:
    return Program.objects.filter(is_active=True).order_by("id").first()


# --- the low-level ledger writers --------------------------------------------------

@dataclass
class Credit:
    member_id: int
    kind: str
    points: int
    cause_type: str
    cause_id: str
    occurred_at: datetime
    available_at: datetime
    expires_at: datetime | None
    qualifying_amount: Decimal = Decimal(0)
    qualifying_points: int = 0
    rule_id: int | None = None
    note: str = ""
    created_by_id: int | None = None


def _lot_dates(program: Program, occurred_at: datetime, *, pending: bool) -> tuple[datetime, datetime | None]:
    available = occurred_at + timedelta(days=program.pending_days) if pending else occurred_at
    expires = occurred_at + timedelta(days=program.expiry_days) if program.expiry_days else None
    return available, expires


ENTRY_COLUMNS = ("id", "member_id", "kind", "points", "balance_after", "cause_type", "cause_id",
                 "qualifying_amount", "qualifying_points", "rule_id", "note", "shortfall", "created_by_id",
                 "occurred_at", "created_at")
LOT_COLUMNS = ("id", "member_id", "entry_id", "points_initial", "points_remaining", "available_at", "expires_at")


def _write_credits(balances: dict[int, int], credits: Sequence[Credit]) -> list[LedgerEntry]:
    """Append credit entries (and their lots) and update the cached balances; returns the
    entries (not re-read from the database) for up to 10 credits, none for more.

    Precondition: the caller holds the row lock of every member in `balances`, whose
    values are the balances read under that lock; they are updated in place.
    Rows go in as plain tuples with reserved ids (executemany / COPY): this is the hot
    path of order accrual, where building model instances cost more than the inserts.
    """
    if not credits:
        return []
    adapt = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    created = adapt(now)
    entry_ids = reserve_ids(LedgerEntry, len(credits))
    rows, lots, entries = [], [], []
    for c, eid in zip(credits, entry_ids, strict=True):
        balances[c.member_id] += c.points
        rows.append((eid, c.member_id, c.kind, c.points, balances[c.member_id], c.cause_type, c.cause_id,
                     str(c.qualifying_amount), c.qualifying_points, c.rule_id, c.note[:250], 0,
                     c.created_by_id, adapt(c.occurred_at), created))
        entry = LedgerEntry(id=eid, member_id=c.member_id, kind=c.kind, points=c.points,
                            balance_after=balances[c.member_id], cause_type=c.cause_type, cause_id=c.cause_id,
                            qualifying_amount=c.qualifying_amount, qualifying_points=c.qualifying_points,
                            rule_id=c.rule_id, note=c.note[:250], created_by_id=c.created_by_id,
                            occurred_at=c.occurred_at, created_at=now) if len(credits) <= 10 else None
        entries.append(entry)
    insert_rows(LedgerEntry, ENTRY_COLUMNS, rows)
    with_points = [(c, eid) for c, eid in zip(credits, entry_ids, strict=True) if c.points > 0]
    lot_ids = reserve_ids(PointLot, len(with_points))
    lots = [(lid, c.member_id, eid, c.points, c.points, adapt(c.available_at),
             adapt(c.expires_at) if c.expires_at else None)
            for (c, eid), lid in zip(with_points, lot_ids, strict=True)]
    if lots:
        insert_rows(PointLot, LOT_COLUMNS, lots)
    touched = sorted({c.member_id for c in credits})
    _set_balances([(balances[mid], mid) for mid in touched])
    built = [e for e in entries if e is not None]
    for e in built:
        e._state.adding = False
    return built


def _set_balances(rows: Sequence[tuple[int, int]]) -> None:
    """UPDATE the cached balances: [(balance, member id)]. One executemany: Django's
    bulk_update builds a CASE expression per row, far slower for thousands of members."""
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {Member._meta.db_table} SET points_balance = %s WHERE id = %s", rows)


def _lock_member(member_id: int) -> Member:
    return Member.objects.select_for_update(of=("self",)).select_related("program", "tier").get(pk=member_id)


def _spendable_lots(member: Member, now: datetime) -> models.QuerySet[PointLot]:
    return (PointLot.objects.filter(member=member, points_remaining__gt=0, available_at__lte=now)
            .filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)))


def _fifo(qs: models.QuerySet[PointLot]) -> models.QuerySet[PointLot]:
    # Nearest expiry first; points that never expire last.
    return qs.order_by(F("expires_at").asc(nulls_last=True), "id")


def _write_debit(
    member: Member,
    *,
    kind: str,
    points: int,
    cause_type: str,
    cause_id: str,
    occurred_at: datetime,
    lots: Sequence[PointLot],
    allow_partial: bool = False,
    note: str = "",
    created_by_id: int | None = None,
    qualifying_amount: Decimal = Decimal(0),
    qualifying_points: int = 0,
) -> LedgerEntry:
    """Take `points` from `lots` in the given order and append one debit entry.

    Precondition: `member` was read with its row lock held in this transaction. Without
    `allow_partial`, fewer points in the lots than asked is `InsufficientPoints`; with it
    (claw-back of points already spent) the entry takes what there is and records the
    rest as `shortfall` — the balance never goes negative.
    """
    take, allocations, touched = points, [], []
    for lot in lots:
        if take == 0:
            break
        used = min(lot.points_remaining, take)
        if used <= 0:
            continue
        lot.points_remaining -= used
        take -= used
        allocations.append((lot, used))
        touched.append(lot)
    if take and not allow_partial:
        raise InsufficientPoints(requested=points, available=points - take)
    taken = points - take
    entry = LedgerEntry.objects.create(
        member=member, kind=kind, points=-taken, balance_after=member.points_balance - taken,
        cause_type=cause_type, cause_id=cause_id, shortfall=take, note=note[:250],
        created_by_id=created_by_id, occurred_at=occurred_at,
        qualifying_amount=qualifying_amount, qualifying_points=qualifying_points,
    )
    if allocations:
        LotAllocation.objects.bulk_create(
            [LotAllocation(entry=entry, lot=lot, points=used) for lot, used in allocations])
        PointLot.objects.bulk_update(touched, ["points_remaining"])
    member.points_balance -= taken
    Member.objects.filter(pk=member.pk).update(points_balance=member.points_balance)
    return entry


def _existing_entry(member: Member, cause_type: str, cause_id: str, kind: str) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(member=member, cause_type=cause_type, cause_id=cause_id,
                                      kind=kind).first()


def _held_by_transfer(member: Member, cause_type: str, cause_id: str, kind: str) -> LedgerEntry | None:
    """An entry of this cause that a merge moved into `member` (and no undo moved out):
    a merged card's birthday bonus counts as the survivor's."""
    net: dict[int, int] = defaultdict(int)
    for origin, moved in LedgerEntry.objects.filter(
            member=member, kind__in=[EntryKind.MOVE_IN, EntryKind.MOVE_OUT], origin__cause_type=cause_type,
            origin__cause_id=cause_id, origin__kind=kind).values_list("origin_id", "kind"):
        net[origin] += 1 if moved == EntryKind.MOVE_IN else -1
    held = [origin for origin, n in net.items() if n > 0]
    return LedgerEntry.objects.filter(pk__in=held).order_by("pk").first() if held else None


# --- enrolment and bonuses ----------------------------------------------------------

def _new_member(program: Program, customer_id: int, joined_at: datetime) -> Member:
    return Member(program=program, customer_id=customer_id, joined_at=joined_at,
                  referral_code=random_code(10))


def _join_credit(program: Program, member: Member) -> Credit | None:
    if not program.join_points:
        return None
    available, expires = _lot_dates(program, member.joined_at, pending=False)
    return Credit(member_id=member.pk, kind=EntryKind.BONUS, points=program.join_points,
                  cause_type=CauseType.JOIN, cause_id=str(member.pk), occurred_at=member.joined_at,
                  available_at=available, expires_at=expires, note=_("Bienvenida al programa"))


@transaction.atomic
def member_enroll(*, program: Program, customer: Customer, actor: Actor,
                  at: datetime | None = None) -> Member:
    """Enrol `customer` (idempotent) and give the welcome bonus once."""
    existing = Member.objects.filter(program=program, customer=customer).first()
    if existing is not None:
        return existing
    member = _new_member(program, customer.pk, at or timezone.now())
    member.full_clean(exclude=["referral_code"])
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError:  # enrolled concurrently (an order, another click): that one stands
        return Member.objects.get(program=program, customer=customer)
    credit = _join_credit(program, member)
    if credit:
        credit.created_by_id = actor.user.pk if actor.user else None
        _write_credits({member.pk: 0}, [credit])
        member.refresh_from_db(fields=["points_balance"])
    audit_record(actor=actor, action=AuditAction.CREATE, entity="loyalty.member", entity_id=member.pk,
                 changes={"customer": (None, customer.pk), "program": (None, program.pk)})
    return member


BONUS_CAUSES: dict[str, str] = {
    CauseType.BIRTHDAY: "birthday_points",
    CauseType.SURVEY: "survey_points",
    CauseType.REVIEW: "review_points",
    CauseType.REFERRAL: "referrer_points",
}


@transaction.atomic
def bonus_award(
    *,
    member: Member,
    cause_type: str,
    cause_id: str,
    actor: Actor,
    points: int | None = None,
    occurred_at: datetime | None = None,
    note: str = "",
) -> LedgerEntry | None:
    """Give a bonus once per cause (a birthday year, a survey response, a review…).

    `points` defaults to the program's amount for that cause. Returns the entry (the
    existing one when the cause was already rewarded), or None when it is worth 0 points.
    """
    member = _lock_member(member.pk)
    prior = (_existing_entry(member, cause_type, str(cause_id), EntryKind.BONUS)
             or _held_by_transfer(member, cause_type, str(cause_id), EntryKind.BONUS))
    if prior is not None:
        return prior
    if points is None:
        points = getattr(member.program, BONUS_CAUSES.get(cause_type, ""), 0) or 0
    if points <= 0:
        return None
    when = occurred_at or timezone.now()
    available, expires = _lot_dates(member.program, when, pending=False)
    (entry,) = _write_credits({member.pk: member.points_balance}, [Credit(
        member_id=member.pk, kind=EntryKind.BONUS, points=points, cause_type=cause_type,
        cause_id=str(cause_id), occurred_at=when, available_at=available, expires_at=expires,
        note=note, created_by_id=actor.user.pk if actor.user else None)])
    return entry


# --- redemption and adjustment ------------------------------------------------------

@transaction.atomic
def points_redeem(*, member: Member, points: int, idempotency_key: str, actor: Actor,
                  note: str = "") -> LedgerEntry:
    """Spend `points` from the member's spendable lots, nearest expiry first.

    The same `idempotency_key` replayed returns the first entry and spends nothing more.
    Raises InsufficientPoints when the spendable balance is short (nothing is written).
    """
    if points <= 0:
        raise ValidationError({"points": _("Indique un número de puntos mayor que cero.")})
    key = (idempotency_key or "").strip()[:64]
    if not key:
        raise ValidationError({"idempotency_key": _("Falta la clave de idempotencia.")})
    member = _lock_member(member.pk)
    prior = _existing_entry(member, CauseType.REDEMPTION, key, EntryKind.REDEEM)
    if prior is not None:
        if -prior.points != points:
            raise IdempotencyConflict(
                {"idempotency_key": _("Esta clave ya se usó para un canje distinto.")},
                code="idempotency_conflict")
        return prior
    now = timezone.now()
    return _write_debit(member, kind=EntryKind.REDEEM, points=points, cause_type=CauseType.REDEMPTION,
                        cause_id=key, occurred_at=now, lots=list(_fifo(_spendable_lots(member, now))),
                        note=note, created_by_id=actor.user.pk if actor.user else None)


@transaction.atomic
def points_adjust(*, member: Member, points: int, reason: str, actor: Actor,
                  idempotency_key: str | None = None) -> LedgerEntry:
    """A manual correction by staff: a new entry, never an edit. Cannot make the balance negative."""
    if points == 0:
        raise ValidationError({"points": _("El ajuste no puede ser de cero puntos.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Indique el motivo del ajuste.")})
    key = (idempotency_key or secrets.token_hex(16))[:64]
    member = _lock_member(member.pk)
    prior = _existing_entry(member, CauseType.USER, key, EntryKind.ADJUST)
    if prior is not None:
        return prior
    now = timezone.now()
    by = actor.user.pk if actor.user else None
    if points > 0:
        available, expires = _lot_dates(member.program, now, pending=False)
        (entry,) = _write_credits({member.pk: member.points_balance}, [Credit(
            member_id=member.pk, kind=EntryKind.ADJUST, points=points, cause_type=CauseType.USER,
            cause_id=key, occurred_at=now, available_at=available, expires_at=expires,
            note=reason, created_by_id=by)])
    else:
        lots = list(_fifo(PointLot.objects.filter(member=member, points_remaining__gt=0)))
        entry = _write_debit(member, kind=EntryKind.ADJUST, points=-points, cause_type=CauseType.USER,
                             cause_id=key, occurred_at=now, lots=lots, note=reason, created_by_id=by)
    audit_record(actor=actor, action=AuditAction.UPDATE, entity="loyalty.member", entity_id=member.pk,
                 changes={"points_balance": (member.points_balance - entry.points, member.points_balance)},
                 context={"reason": reason})
    return entry


# --- accrual from orders and claw-back on returns -----------------------------------

def program_rule_specs(program: Program) -> list[RuleSpec]:
    return rule_specs(EarningRule.objects.filter(program=program, is_active=True),
                      category_descendants(category_parents()))


def _marks(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


def _orders_in(order_ids: Sequence[int]) -> tuple[list[dict], dict[int, list[LineIn]]]:
    orders, facts = order_facts(order_ids)
    lines = {oid: [LineIn(product_id=pid, category_id=cat, quantity=qty, amount=amount)
                   for pid, cat, qty, amount in rows] for oid, rows in facts.items()}
    return orders, lines


def _segments_of(specs: Sequence[RuleSpec], customer_ids: Sequence[int]) -> dict[int, frozenset[int]]:
    """{customer: the segments (among those the rules name) it belongs to}; no query
    when no rule is limited to a segment."""
    return segment_memberships(sorted({s.segment_id for s in specs if s.segment_id}), customer_ids)


def _earned_by_year(member_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """{member: {local year: points earned from orders}} for the yearly cap: the member's
    own earn entries, plus the earned points that merges moved in (or out, on undo); a
    transfer is dated like the earn entry it carries."""
    earned: dict[int, dict[int, int]] = defaultdict(dict)
    if not member_ids:
        return earned
    value = models.Case(models.When(kind=EntryKind.EARN, then=F("points")),
                        models.When(kind=EntryKind.MOVE_OUT, then=-F("origin__points")),
                        default=F("origin__points"))
    rows = (LedgerEntry.objects.filter(member_id__in=list(member_ids))
            .filter(models.Q(kind=EntryKind.EARN)
                    | models.Q(kind__in=[EntryKind.MOVE_IN, EntryKind.MOVE_OUT], origin__kind=EntryKind.EARN))
            .annotate(y=ExtractYear("occurred_at")).values("member_id", "y")
            .annotate(s=Sum(value)).values_list("member_id", "y", "s"))
    for mid, year, total in rows:
        earned[mid][year] = total or 0
    return earned


def earners_load(program: Program, specs: Sequence[RuleSpec], tiers: Sequence[Tier],
                 customer_ids: Sequence[int], members: Mapping[int, tuple[int, int | None]],
                 ) -> dict[int, Earner]:
    """{customer: Earner} for `points_for_basket`, set-based: one query for the segments
    the rules name (none without segment rules), one for the points earned per year
    (only with a yearly cap and members). `members` is {customer: (member id, tier id)}
    for the customers who are members of `program`; the others earn at tier 1x with
    nothing earned yet."""
    multiplier = {t.pk: t.earn_multiplier for t in tiers}
    segments = _segments_of(specs, customer_ids) if customer_ids else {}
    earned: dict[int, dict[int, int]] = {}
    if program.max_points_per_member_year and members:
        earned = _earned_by_year([mid for mid, _tier in members.values()])
    earners = {}
    for cid in customer_ids:
        mid, tier_id = members.get(cid, (None, None))
        earners[cid] = Earner(
            tier_multiplier=multiplier.get(tier_id, Decimal(1)) if tier_id else Decimal(1),
            segment_ids=segments.get(cid, frozenset()),
            earned_by_year=dict(earned.get(mid, {})) if mid is not None else {})
    return earners


def basket_earner(program: Program, specs: Sequence[RuleSpec], customer_id: int | None) -> Earner:
    """The Earner of one customer (the point-of-sale preview); an anonymous basket earns
    at 1x, with no segment and nothing earned yet."""
    if customer_id is None:
        return Earner()
    member = Member.objects.filter(program=program, customer_id=customer_id).values_list("pk", "tier_id").first()
    tiers = list(Tier.objects.filter(program=program)) if member and member[1] else []
    members = {customer_id: member} if member else {}
    return earners_load(program, specs, tiers, [customer_id], members)[customer_id]


def orders_accrue(order_ids: Sequence[int]) -> int:
    """Accrue points for newly recorded orders, set-based (an import passes thousands).

    Idempotent: an order that already earned in a program earns nothing again, so a
    replayed hook or a re-sent order is harmless. Runs inside the caller's transaction
    (or its own). Returns the number of earn entries written.

    This runs on every recorded order, so it keeps to a fixed, small number of queries
    whatever the batch size: 4 for the configuration, about 9 per chunk of orders.
    """
    programs = list(Program.objects.raw(
        f"SELECT * FROM {Program._meta.db_table} WHERE is_active = %s ORDER BY id", [True]))
    if not programs:
        return 0
    ids_p = [p.pk for p in programs]
    rules: dict[int, list[EarningRule]] = defaultdict(list)
    for rule in EarningRule.objects.raw(
            f"SELECT * FROM {EarningRule._meta.db_table} WHERE is_active = %s AND program_id IN ({_marks(ids_p)}) "
            "ORDER BY id", [True, *ids_p]):
        rules[rule.program_id].append(rule)
    tiers: dict[int, list[Tier]] = defaultdict(list)
    for tier in Tier.objects.raw(f"SELECT * FROM {Tier._meta.db_table} WHERE program_id IN ({_marks(ids_p)}) "
                                 "ORDER BY program_id, rank", ids_p):
        tiers[tier.program_id].append(tier)
    descendants: dict[int, frozenset[int]] = {}
    if any(r.category_id for group in rules.values() for r in group):
        descendants = category_descendants(category_parents())
    written = 0
    ids = sorted(set(order_ids))
    for program in programs:
        specs = rule_specs(rules[program.pk], descendants)
        for chunk in _chunks(ids):
            with transaction.atomic(savepoint=False):
                written += _accrue_chunk(program, specs, tiers[program.pk], chunk)
    return written


def _accrue_chunk(program: Program, specs: Sequence[RuleSpec], tiers: Sequence[Tier],
                  order_ids: Sequence[int]) -> int:
    from .tiers import tiers_upgrade

    orders, lines = _orders_in(order_ids)
    if not orders:
        return 0
    customer_ids = sorted({o["customer_id"] for o in orders})
    # Lock the members that exist; the ones created below are this transaction's own rows.
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, customer_id, points_balance, tier_id FROM {Member._meta.db_table} "
                       f"WHERE program_id = %s AND customer_id IN ({_marks(customer_ids)}) ORDER BY id{lock}",
                       [program.pk, *customer_ids])
        locked = list(cursor.fetchall())
    member_of = {cid: pk for pk, cid, _b, _t in locked}
    balances = {pk: bal for pk, _c, bal, _t in locked}
    tier_of = {pk: tier for pk, _c, _b, tier in locked}
    new_members: list[Member] = []
    missing = [cid for cid in customer_ids if cid not in member_of]
    if program.auto_enroll and missing:
        first_order: dict[int, datetime] = {}
        for o in sorted(orders, key=lambda o: o["placed_at"]):
            first_order.setdefault(o["customer_id"], o["placed_at"])
        # ON CONFLICT DO NOTHING: a concurrent transaction enrolling the same customer makes
        # this wait for it and skip the row; the locked re-read below takes whichever row
        # exists, and only the rows this transaction created (its random referral codes)
        # get the welcome bonus. A (vanishingly rare) referral-code clash is retried.
        adapt = connection.ops.adapt_datetimefield_value
        for _attempt in range(3):
            wanted = {m.referral_code: m for m in (_new_member(program, cid, first_order[cid]) for cid in missing)}
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {Member._meta.db_table} (program_id, customer_id, joined_at, points_balance, "
                    f"referral_code) VALUES (%s, %s, %s, 0, %s) ON CONFLICT DO NOTHING",
                    [(program.pk, m.customer_id, adapt(m.joined_at), code) for code, m in wanted.items()])
                cursor.execute(f"SELECT id, customer_id, points_balance, tier_id, referral_code "
                               f"FROM {Member._meta.db_table} WHERE program_id = %s "
                               f"AND customer_id IN ({_marks(missing)}) ORDER BY id{lock}", [program.pk, *missing])
                for pk, cid, balance, tier_id, code in cursor.fetchall():
                    member_of[cid], balances[pk], tier_of[pk] = pk, balance, tier_id
                    if code in wanted:
                        wanted[code].pk = pk
                        new_members.append(wanted[code])
                    else:
                        locked.append((pk, cid, balance, tier_id))
            missing = [cid for cid in missing if cid not in member_of]
            if not missing:
                break
    done: set[str] = set()
    locked_ids = {row[0] for row in locked}
    if locked:
        # By cause only (the (cause_type, cause_id) index), members filtered here: with
        # both IN lists SQLite's planner scans the member index instead. An order earns
        # once per program, whichever card earned it (a merged card's entries stay with it).
        causes = [str(o["id"]) for o in orders]
        members = set(locked_ids)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT member_id, cause_id FROM {LedgerEntry._meta.db_table} "
                           f"WHERE cause_type = %s AND cause_id IN ({_marks(causes)}) AND kind = %s",
                           [CauseType.ORDER, *causes, EntryKind.EARN])
            found = cursor.fetchall()
            others = sorted({mid for mid, _cause in found if mid not in members})
            if others:
                cursor.execute(f"SELECT id FROM {Member._meta.db_table} WHERE program_id = %s "
                               f"AND id IN ({_marks(others)})", [program.pk, *others])
                members |= {row[0] for row in cursor.fetchall()}
        done = {cause for mid, cause in found if mid in members}
    existing = {cid: (mid, tier_of[mid]) for cid, mid in member_of.items() if mid in locked_ids}
    earners = earners_load(program, specs, tiers, customer_ids, existing)
    terms = EarningTerms.of(program)
    credits = [c for c in (_join_credit(program, m) for m in new_members) if c]
    for o in sorted(orders, key=lambda o: (o["placed_at"], o["id"])):
        mid = member_of.get(o["customer_id"])
        if mid is None or str(o["id"]) in done:
            continue
        order_in = OrderIn(placed_on=timezone.localdate(o["placed_at"]), channel=o["channel"],
                           store_id=o["store_id"], total=o["total"], lines=lines.get(o["id"], ()))
        earner = earners[o["customer_id"]]
        earning = points_for_basket(order_in, specs, terms, earner)
        earner.record(order_in, earning.points)
        available, expires = _lot_dates(program, o["placed_at"], pending=True)
        credits.append(Credit(
            member_id=mid, kind=EntryKind.EARN, points=earning.points, cause_type=CauseType.ORDER,
            cause_id=str(o["id"]), occurred_at=o["placed_at"], available_at=available,
            expires_at=expires, qualifying_amount=o["total"], qualifying_points=earning.points,
            rule_id=earning.best_rule_id))
    _write_credits(balances, credits)
    earned = sorted({c.member_id for c in credits if c.kind == EntryKind.EARN})
    if earned and tiers:
        tiers_upgrade(program=program, tiers=tiers, current={mid: tier_of[mid] for mid in earned})
    return sum(1 for c in credits if c.kind == EntryKind.EARN)


def _share(points: int, part: Decimal, whole: Decimal) -> int:
    """round(points × min(1, part/whole)), half up; all of it when whole is 0."""
    if whole <= 0:
        return points if part > 0 else 0
    ratio = min(Decimal(1), part / whole)
    return int((Decimal(points) * ratio).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def returns_clawback(return_ids: Sequence[int]) -> int:
    """Take back the points of returned or refunded orders, in proportion to the refund.

    The reversal of a return is share(after it) − share(before it), where share(x) is the
    order's earned points × min(1, cumulative refund x / order total): partial returns
    add up to exactly what the order earned once it is returned in full. Idempotent per
    return. Points already spent are recorded as `shortfall`, never taken below zero.
    """
    count = 0
    for chunk in _chunks(sorted(set(return_ids))):
        count += _clawback_chunk(chunk)
    return count


def transfer_holders(entry_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """{entry id: (member id, entry id)}: where the points of each of these entries are now,
    for the entries that merges moved (the last transfer in); the others stay where they
    were written. One query on the partial index of transfers."""
    holders: dict[int, tuple[int, int]] = {}
    for part in _chunks(list(entry_ids)):
        for origin, member_id, pk in (LedgerEntry.objects.filter(origin_id__in=part, kind=EntryKind.MOVE_IN)
                                      .order_by("id").values_list("origin_id", "member_id", "id")):
            holders[origin] = (member_id, pk)
    return holders


@transaction.atomic
def _clawback_chunk(return_ids: Sequence[int]) -> int:
    from .tiers import tiers_refresh

    rets = return_orders(return_ids)
    if not rets:
        return 0
    order_ids = sorted(set(rets.values()))
    totals = order_totals(order_ids)
    history = returns_history(order_ids)
    earns = list(LedgerEntry.objects.filter(
        cause_type=CauseType.ORDER, kind=EntryKind.EARN, cause_id__in=[str(o) for o in order_ids])
        .values_list("member_id", "cause_id", "points", "id"))
    # A merged card's earn entry stays with it; its points are taken back where a merge
    # moved them (the survivor's membership, from the lot the transfer made first).
    holders = transfer_holders([e[3] for e in earns])
    claims = sorted((*holders.get(entry_id, (member_id, entry_id)), cause_id, earned)
                    for member_id, cause_id, earned, entry_id in earns)
    wanted = set(rets)
    count = 0
    touched = set()
    for member_id, holding_entry, cause_id, earned in claims:
        oid = int(cause_id)
        member = _lock_member(member_id)
        cumulative = Decimal(0)
        for rid, amount, at in history[oid]:
            before = cumulative
            cumulative += amount
            if rid not in wanted:
                continue
            if LedgerEntry.objects.filter(cause_type=CauseType.RETURN, cause_id=str(rid), kind=EntryKind.REVERSE,
                                          member__program_id=member.program_id).exists():
                continue
            total = totals[oid]
            points = _share(earned, cumulative, total) - _share(earned, before, total)
            refunded = min(cumulative, total) - min(before, total) if total > 0 else Decimal(0)
            own = list(PointLot.objects.filter(entry_id=holding_entry, points_remaining__gt=0))
            others = list(_fifo(PointLot.objects.filter(member=member, points_remaining__gt=0)
                                .exclude(entry_id=holding_entry)))
            _write_debit(member, kind=EntryKind.REVERSE, points=points, cause_type=CauseType.RETURN,
                         cause_id=str(rid), occurred_at=at, lots=own + others, allow_partial=True,
                         qualifying_amount=-refunded, qualifying_points=-points,
                         note=_("Devolución del pedido %(order)s") % {"order": oid})
            touched.add(member_id)
            count += 1
    if touched:
        tiers_refresh(member_ids=sorted(touched), allow_downgrade=False)
    return count


# --- configuration (programs, rules, tiers, rewards) ----------------------------------

def points_backfill(*, batch: int = 20_000) -> tuple[int, int]:
    """Accrue every recorded order and claw back every return (a new program, the demo).

    Each batch of orders is its own transaction (committed when it ends, unless the
    caller holds one), so a crash loses at most the batch it was in; running it again
    resumes: accrual skips the orders that already earned and claw-back the returns
    already reversed. Returns (earn entries written, returns clawed back) by this run.
    """
    ids = order_ids_all()
    earned = 0
    for start in range(0, len(ids), batch):
        with transaction.atomic():
            earned += orders_accrue(ids[start:start + batch])
    reversed_ = 0
    return_ids = return_ids_all()
    for start in range(0, len(return_ids), batch):
        with transaction.atomic():
            reversed_ += returns_clawback(return_ids[start:start + batch])
    return earned, reversed_


_ConfigModel = TypeVar("_ConfigModel", bound=models.Model)


def loyalty_config_save(*, obj: _ConfigModel, actor: Actor) -> _ConfigModel:
    """Validate and save a program, rule, tier or reward, with an audit row of what changed."""
    creating = obj.pk is None
    before = {}
    if not creating:
        old = type(obj)._default_manager.filter(pk=obj.pk).values().first() or {}
        before = {k: v for k, v in old.items()}
    obj.full_clean()
    obj.save()
    after = type(obj)._default_manager.filter(pk=obj.pk).values().first() or {}
    changes = {k: (before.get(k), v) for k, v in after.items() if creating or before.get(k) != v}
    changes.pop("id", None)
    if changes:
        audit_record(actor=actor, action=AuditAction.CREATE if creating else AuditAction.UPDATE,
                     entity=f"loyalty.{obj._meta.model_name}", entity_id=obj.pk, changes=changes)
    return obj
