"""Reads for loyalty: balances, the consistency check of the ledger, tier progress, the
member card, the liability figure."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from fideliza.core.money import money_format, quantize_money
from fideliza.customers.models import Customer

from .models import (
    Coupon,
    CouponRedemption,
    LedgerEntry,
    LotAllocation,
    Member,
    PointLot,
    Program,
    Referral,
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
