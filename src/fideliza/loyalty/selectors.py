"""Reads for loyalty: balances, the consistency check of the ledger, tier progress, the
member card, the liability figure."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from fideliza.core.money import money_format, quantize_money
from fideliza.core.sql import ids_filter
from fideliza.customers.models import Customer

from .models import (
    Coupon,
    CouponRedemption,
    ExpiryNotice,
    LedgerEntry,
    LotAllocation,
    Member,
    PointLot,
    Program,
    Referral,
    ReferralStatus,
    Reward,
    Tier,
    TierBasis,
    TierWindow,
)
from .tiers import qualified_tier, qualifying_values, tier_window


def points_spendable(member: Member, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return (PointLot.objects.filter(member=member, points_remaining__gt=0, available_at__lte=now)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .aggregate(s=Sum("points_remaining"))["s"] or 0)


def points_pending(member: Member, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return (PointLot.objects.filter(member=member, points_remaining__gt=0, available_at__gt=now)
            .aggregate(s=Sum("points_remaining"))["s"] or 0)


@dataclass(frozen=True)
class LedgerProblem:
    member_id: int
    what: str
    expected: int
    found: int


def ledger_check(member_ids: list[int] | None = None) -> list[LedgerProblem]:
    """Every way the cache or the lots could disagree with the ledger; [] when consistent.

    - the cached balance equals the sum of the member's entries;
    - the points left in the member's lots add up to that balance;
    - each lot's remaining points equal its initial points minus what was drawn from it.
    """
    members = Member.objects.all()
    if member_ids is not None:
        members = members.filter(pk__in=member_ids)
    problems: list[LedgerProblem] = []
    sums = dict(LedgerEntry.objects.filter(member__in=members).values("member_id")
                .annotate(s=Sum("points")).values_list("member_id", "s"))
    lots = dict(PointLot.objects.filter(member__in=members).values("member_id")
                .annotate(s=Sum("points_remaining")).values_list("member_id", "s"))
    for mid, balance in members.values_list("pk", "points_balance"):
        if sums.get(mid, 0) != balance:
            problems.append(LedgerProblem(mid, "balance != sum(entries)", sums.get(mid, 0), balance))
        if lots.get(mid, 0) != balance:
            problems.append(LedgerProblem(mid, "sum(lots) != balance", balance, lots.get(mid, 0)))
    drawn = dict(LotAllocation.objects.filter(lot__member__in=members).values("lot_id")
                 .annotate(s=Sum("points")).values_list("lot_id", "s"))
    for lot_id, mid, initial, remaining in PointLot.objects.filter(member__in=members).values_list(
            "pk", "member_id", "points_initial", "points_remaining"):
        if initial - drawn.get(lot_id, 0) != remaining:
            problems.append(LedgerProblem(mid, f"lot {lot_id} remaining", initial - drawn.get(lot_id, 0), remaining))
    return problems


def loyalty_liability(program: Program) -> dict[str, Any]:
    """Outstanding points × value per point: what the business owes its members."""
    points = Member.objects.filter(program=program).aggregate(s=Sum("points_balance"))["s"] or 0
    return {"points": points, "point_value": program.point_value,
            "amount": quantize_money(Decimal(points) * program.point_value),
            "members": Member.objects.filter(program=program, points_balance__gt=0).count()}


def tier_progress(member: Member, at: datetime | None = None) -> dict[str, Any]:
    """Why the member is in their tier and what is missing for the next one."""
    program = member.program
    at = at or timezone.now()
    tiers = list(Tier.objects.filter(program=program).order_by("rank"))
    value = qualifying_values(program, [member.pk], at).get(member.pk, Decimal(0))
    win = tier_window(program, at)
    current = member.tier
    next_tier = next((t for t in tiers if t.rank > (current.rank if current else -1)), None)
    missing = max(Decimal(0), next_tier.threshold - value) if next_tier else Decimal(0)
    by_points = program.tier_basis == TierBasis.POINTS
    # Spend is written as money in the reader's locale («270,34 € de gasto»), points as a count.
    unit = _("puntos") if by_points else _("de gasto")

    def amount(v: Decimal) -> str:
        return number_format(int(v), force_grouping=True) if by_points else money_format(v)

    window = (_("desde el 1 de enero (o el año anterior completo)")
              if program.tier_window == TierWindow.CALENDAR_YEAR else _("en los últimos 12 meses"))
    value_txt = amount(value)
    if current is not None:
        why = _("Está en %(tier)s porque lleva %(value)s %(unit)s %(window)s (umbral: %(thr)s).") % {
            "tier": current.name, "value": value_txt, "unit": unit, "window": window,
            "thr": amount(current.threshold)}
        qualified = qualified_tier(tiers, value)
        if qualified is None or qualified.rank < current.rank:
            why += " " + _("Conserva el nivel hasta la revisión del final del periodo.")
    else:
        why = _("Aún no tiene nivel: lleva %(value)s %(unit)s %(window)s.") % {
            "value": value_txt, "unit": unit, "window": window}
    if next_tier is not None:
        need = amount(missing)
        next_txt = _("Le faltan %(missing)s %(unit)s para %(tier)s.") % {
            "missing": need, "unit": unit, "tier": next_tier.name}
    else:
        next_txt = _("Está en el nivel más alto.")
    percent = 100
    if next_tier is not None and next_tier.threshold > 0:
        percent = int(min(Decimal(100), value * 100 / next_tier.threshold))
    return {"tier": current, "value": value, "next_tier": next_tier, "missing": missing,
            "percent": percent, "why": why, "next": next_txt, "window_start": win.start,
            "basis": program.tier_basis, "tiers": tiers}


def member_for(customer: Customer, program: Program | None = None) -> Member | None:
    qs = Member.objects.filter(customer=customer).select_related("program", "tier")
    if program is not None:
        qs = qs.filter(program=program)
    return qs.order_by("program_id").first()


def member_history(member: Member, limit: int = 20) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(member=member).order_by("-occurred_at", "-id")[:limit]


def member_open_lots(member: Member) -> QuerySet[PointLot]:
    return (PointLot.objects.filter(member=member, points_remaining__gt=0)
            .order_by(F("expires_at").asc(nulls_last=True), "id"))


def customer_coupons(customer: Customer, now: datetime | None = None) -> QuerySet[Coupon]:
    now = now or timezone.now()
    return (Coupon.objects.filter(customer=customer, is_active=True)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
            .annotate(n=Count("redemptions"))
            .filter(Q(max_uses__isnull=True) | Q(uses_count__lt=F("max_uses")))
            .order_by("valid_until", "id"))


def member_card_context(customer: Customer) -> dict[str, Any]:
    """Everything the member card include (`loyalty/_member_card.html`) shows."""
    member = member_for(customer)
    if member is None:
        return {"loyalty_member": None, "loyalty_customer": customer}
    now = timezone.now()
    soon = now + timedelta(days=member.program.expiry_notice_days)
    lots = list(member_open_lots(member)[:20])
    expiring = sum(lot.points_remaining for lot in lots if lot.expires_at and lot.expires_at <= soon)
    return {
        "loyalty_member": member,
        "loyalty_customer": customer,
        "loyalty_spendable": points_spendable(member, now),
        "loyalty_pending": points_pending(member, now),
        "loyalty_lots": lots,
        "loyalty_expiring_soon": expiring,
        "loyalty_expiry_horizon": soon,
        "loyalty_progress": tier_progress(member, now),
        "loyalty_history": list(member_history(member)),
        "loyalty_coupons": list(customer_coupons(customer, now)[:10]),
        "loyalty_referrals": list(Referral.objects.filter(referrer=member).select_related("referred")[:10]),
        "loyalty_rewards": list(Reward.objects.filter(program=member.program, is_active=True)
                                .select_related("min_tier").order_by("points_cost")),
        "loyalty_form_key": uuid.uuid4().hex,  # one per rendered form: a double submit spends once
        "loyalty_now": now,
    }


def coupon_redemption_totals(coupon_ids: Iterable[int] | QuerySet[Any]) -> dict[str, Any]:
    """{"n": redemptions, "discount": their total discount (None without any),
    "customers": distinct customers} of the coupons `coupon_ids` (a list or a query of ids)."""
    return CouponRedemption.objects.filter(coupon_id__in=coupon_ids).aggregate(
        n=Count("pk"), discount=Sum("discount"), customers=Count("customer_id", distinct=True))


@dataclass
class MemberMessageFacts:
    """What a message may say about one customer's membership (the lowest program id, as
    `member_for`): spendable points, tier, referral code, expiries, the next tier."""

    points: int
    tier_name: str | None
    referral_code: str | None
    expiring: tuple[date, int] | None  # the next day points expire, and how many
    soon: list[tuple[date, int]]  # (day, points) expiring within the program's notice period
    next_tier_name: str | None
    missing: Decimal | None  # what is missing for the next tier (points or money)
    missing_in_points: bool


def members_message_facts(customer_ids: Sequence[int], now: datetime) -> dict[int, MemberMessageFacts]:
    """{customer: MemberMessageFacts} for the members among `customer_ids` (sorted; at most
    a few thousand), set-based: membership, programs and tiers, spendable points, expiries
    (two queries) and the tier values of each program, never one query per customer."""
    present_set = set(customer_ids)
    members: dict[int, dict[str, Any]] = {}
    for mid, cid, program_id, tier_id, referral in (
            Member.objects.filter(ids_filter("customer_id", customer_ids))
            .order_by("customer_id", "program_id")
            .values_list("pk", "customer_id", "program_id", "tier_id", "referral_code")):
        if cid in present_set and cid not in members:
            members[cid] = {"pk": mid, "customer_id": cid, "program_id": program_id,
                            "tier_id": tier_id, "referral_code": referral}
    if not members:
        return {}
    programs = {p.pk: p for p in Program.objects.only("pk", "tier_basis", "tier_window", "expiry_notice_days")}
    tiers_by_program: dict[int, list[tuple[int, int, str, Decimal]]] = {}
    tier_names: dict[int, str] = {}
    for t in Tier.objects.order_by("program_id", "rank").values("pk", "program_id", "rank", "name", "threshold"):
        tiers_by_program.setdefault(t["program_id"], []).append((t["pk"], t["rank"], t["name"], t["threshold"]))
        tier_names[t["pk"]] = t["name"]
    member_ids = sorted(m["pk"] for m in members.values())
    member_set = set(member_ids)
    open_lots = PointLot.objects.filter(ids_filter("member_id", member_ids), points_remaining__gt=0)
    spendable = {
        mid: total for mid, total in
        open_lots.filter(available_at__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values("member_id").annotate(s=Sum("points_remaining")).values_list("member_id", "s")
        if mid in member_set}
    expiring, soon = _expiries(
        open_lots, member_set,
        {m["pk"]: programs[m["program_id"]].expiry_notice_days for m in members.values()}, now)
    # What is missing for the next tier, per program (as tier_progress).
    by_program: dict[int, list[dict[str, Any]]] = {}
    for m in members.values():
        by_program.setdefault(m["program_id"], []).append(m)
    facts: dict[int, MemberMessageFacts] = {}
    for program_id, program_members in by_program.items():
        tiers = tiers_by_program.get(program_id, [])
        rank_of = {pk: rank for pk, rank, _n, _t in tiers}
        need_value = []
        for m in program_members:
            current = rank_of.get(m["tier_id"], -1) if m["tier_id"] else -1
            m["next"] = next((t for t in tiers if t[1] > current), None)
            if m["next"] is not None:
                need_value.append(m["pk"])
        program = programs[program_id]
        values = qualifying_values(program, need_value, now) if need_value else {}
        for m in program_members:
            nxt = m["next"]
            facts[m["customer_id"]] = MemberMessageFacts(
                points=int(spendable.get(m["pk"]) or 0),
                tier_name=tier_names.get(m["tier_id"]) if m["tier_id"] else None,
                referral_code=m["referral_code"] or None,
                expiring=expiring.get(m["pk"]), soon=soon.get(m["pk"], []),
                next_tier_name=nxt[2] if nxt else None,
                missing=max(Decimal(0), Decimal(nxt[3]) - values.get(m["pk"], Decimal(0))) if nxt else None,
                missing_in_points=program.tier_basis == TierBasis.POINTS)
    return facts


def _expiries(open_lots: QuerySet[PointLot], member_ids: set[int], notice_days: dict[int, int], now: datetime
              ) -> tuple[dict[int, tuple[date, int]], dict[int, list[tuple[date, int]]]]:
    """({member id: (local date, points)} of the next day on which points expire,
    {member id: [(local date, points), …]} of the points expiring within the member's
    program's notice period, by day in date order — the lots the expiry notices are about).

    `notice_days`: {member id: days of notice}. One plain query for every member; the
    grouping by local day is done here, once per distinct instant (a per-member bound or
    a per-row date function in SQL costs far more: SQLite runs those in Python).
    """
    if not member_ids:
        return {}, {}
    zone = timezone.get_current_timezone()
    local_day: dict[datetime, date] = {}
    horizon = {days: now + timedelta(days=days) for days in set(notice_days.values())}
    nearest: dict[int, tuple[date, int]] = {}
    soon: dict[int, dict[date, int]] = {}
    for mid, at, points in (open_lots.filter(expires_at__gt=now)
                            .values_list("member_id", "expires_at", "points_remaining")):
        if mid not in member_ids or at is None:  # filtered on expires_at: never None
            continue
        day = local_day.get(at)
        if day is None:
            day = local_day[at] = at.astimezone(zone).date()
        points = int(points)
        first = nearest.get(mid)
        if first is None or day < first[0]:
            nearest[mid] = (day, points)
        elif day == first[0]:
            nearest[mid] = (day, first[1] + points)
        if at <= horizon[notice_days[mid]]:
            days_of = soon.setdefault(mid, {})
            days_of[day] = days_of.get(day, 0) + points
    return nearest, {mid: sorted(days.items()) for mid, days in soon.items()}


# --- loyalty events as the automations' triggers read them ----------------------------

def expiry_notices_recent(*, since: datetime, until: datetime, min_points: int,
                          customers: QuerySet[Customer]) -> list[tuple[int, date, int]]:
    """(customer, expiry day, points) of the expiry notices written in (since, until] for
    points of at least `min_points` expiring today or later, of members among `customers`."""
    return list(ExpiryNotice.objects.filter(created_at__gt=since, created_at__lte=until,
                                            expires_on__gte=timezone.localdate(until), points__gte=min_points,
                                            member__customer__in=customers)
                .values_list("member__customer_id", "expires_on", "points"))


def points_in_notice_period(*, now: datetime, customers: QuerySet[Customer]) -> list[tuple[int, datetime, int]]:
    """(customer, expires at, points) of the open lots of members among `customers` that
    expire within their program's notice period (as `expiry_notices_create` selects them),
    for the active programs whose points expire."""
    rows: list[tuple[int, datetime, int]] = []
    for program in Program.objects.filter(is_active=True, expiry_days__isnull=False):
        rows += [(cid, at, points) for cid, at, points in PointLot.objects.filter(
            member__program=program, points_remaining__gt=0, expires_at__gt=now,
            expires_at__lte=now + timedelta(days=program.expiry_notice_days),
            member__customer__in=customers).values_list("member__customer_id", "expires_at", "points_remaining")
            if at is not None]
    return rows


def members_tier_changed(*, customers: QuerySet[Customer], seen_rank: Any, reached_since: datetime,
                         ) -> list[tuple[int, int, int | None, int, str | None, datetime | None]]:
    """(member, customer, rank seen, current rank (-1 without a tier), tier name, tier
    since) of the members among `customers` whose current rank differs from `seen_rank`
    (a subquery on the member `OuterRef("pk")`, null when never seen); a member never seen
    counts only if they reached their tier after `reached_since`."""
    return list(Member.objects.filter(customer__in=customers)
                .annotate(seen=Subquery(seen_rank), current=Coalesce(F("tier__rank"), -1))
                .filter(Q(seen__isnull=True, tier__isnull=False, tier_since__gt=reached_since)
                        | (Q(seen__isnull=False) & ~Q(seen=F("current"))))
                .values_list("pk", "customer_id", "seen", "current", "tier__name", "tier_since"))


def members_current_rank(*, unless: Any) -> list[tuple[int, int]]:
    """(member, current rank or -1) of every member for whom `unless` (an `Exists` on the
    member `OuterRef("pk")`) is false."""
    return list(Member.objects.filter(~unless).annotate(current=Coalesce(F("tier__rank"), -1))
                .values_list("pk", "current"))


def referrals_recently_qualified(*, since: datetime, until: datetime,
                                 customers: QuerySet[Customer]) -> list[tuple[int, int, str]]:
    """(referral, referrer's customer, friend's first name) of the member referrals whose
    qualifying purchase was placed in (since, until], referrers among `customers`."""
    return list(Referral.objects.filter(status__in=[ReferralStatus.QUALIFIED, ReferralStatus.REWARDED],
                                        referrer__isnull=False, qualifying_order__placed_at__gt=since,
                                        qualifying_order__placed_at__lte=until,
                                        referrer__customer__in=customers)
                .values_list("pk", "referrer__customer_id", "referred__first_name"))


def referral_ids_of_referred(customer_ids: Iterable[int]) -> list[int]:
    """The referrals that brought these customers."""
    return list(Referral.objects.filter(referred_id__in=list(customer_ids)).values_list("pk", flat=True))


def customers_who_referred() -> QuerySet[Any]:
    """Ids of the customers who, as members, have referred someone (any program, any
    status but rejected), as a subquery: the referral move's «sin referidos» lists."""
    return (Referral.objects.filter(referrer__isnull=False).exclude(status=ReferralStatus.REJECTED)
            .order_by().values("referrer__customer_id"))


def tier_customers(tier_id: int) -> QuerySet[Customer]:
    """The current (unmerged) customers whose membership is in the tier `tier_id` now."""
    from fideliza.customers.selectors import customers_current

    return customers_current().filter(loyalty_memberships__tier_id=tier_id)


def tiers_all() -> QuerySet[Tier]:
    """Every tier of every program, by program and rank (for choice fields)."""
    return Tier.objects.select_related("program").order_by("program_id", "rank")
