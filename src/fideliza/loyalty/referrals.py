"""Referrals (a member brings a friend) and affiliates (a partner earns a commission).

Fraud guards at registration: the friend must be genuinely new (no purchase before the
first contact, not a card that existed before it) and must not be the referrer under
another name — same e-mail, phone (compared in E.164 whatever the format typed), tax id
or postal address. A rejected referral is kept with its reason and never rewarded.
Rewards wait for the friend's first purchase of at least the program's minimum and for a
review delay (returns window); a purchase returned in full before release rejects it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.services import Actor
from fideliza.core.money import quantize_money
from fideliza.customers.models import Customer
from fideliza.customers.normalize import (
    normalize_email,
    normalize_phone,
    normalize_tax_id,
    strip_accents,
)
from fideliza.sales.selectors import (
    customer_ordered_before,
    order_rows,
    refunded_by_order,
    return_orders,
    returns_history,
)

from .models import (
    Affiliate,
    AffiliateCommission,
    AffiliatePayout,
    CauseType,
    CommissionKind,
    Member,
    Program,
    Referral,
    ReferralStatus,
)
from .services import bonus_award, member_enroll, random_code

# The referral is often typed in at the till right after the friend's first sale: a card
# or a purchase at most this old still belongs to a genuinely new customer.
NEW_CUSTOMER_GRACE = timedelta(days=1)


def _phone(raw: str) -> str:
    raw = (raw or "").strip()
    return (normalize_phone(raw, settings.FIDELIZA_PHONE_REGION) or "") if raw else ""


def _address(customer: Customer) -> str:
    text = strip_accents(f"{customer.address} {customer.postal_code}").lower()
    return " ".join(re.findall(r"[a-z0-9]+", text)) if customer.address.strip() else ""


def self_referral_reason(referrer: Customer, friend: Customer) -> str | None:
    """Why `friend` looks like `referrer` under another card, or None."""
    if referrer.pk == friend.pk:
        return _("Es el mismo cliente.")
    if normalize_email(referrer.email) and normalize_email(referrer.email) == normalize_email(friend.email):
        return _("Mismo e-mail que quien recomienda.")
    if _phone(referrer.phone) and _phone(referrer.phone) == _phone(friend.phone):
        return _("Mismo teléfono que quien recomienda.")
    if normalize_tax_id(referrer.tax_id) and normalize_tax_id(referrer.tax_id) == normalize_tax_id(friend.tax_id):
        return _("Mismo NIF que quien recomienda.")
    if _address(referrer) and _address(referrer) == _address(friend):
        return _("Misma dirección que quien recomienda.")
    return None


def existing_customer_reason(friend: Customer, at: datetime) -> str | None:
    if customer_ordered_before(customer_id=friend.pk, before=at - NEW_CUSTOMER_GRACE):
        return _("Ya era cliente: tenía compras anteriores.")
    if friend.created_at and friend.created_at < at - NEW_CUSTOMER_GRACE:
        return _("Ya era cliente: su ficha es anterior a la recomendación.")
    return None


@transaction.atomic
def referral_register(*, code: str, customer: Customer, actor: Actor,
                      at: datetime | None = None) -> Referral:
    """Record that `customer` came through `code` (a member's or an affiliate's).

    Idempotent per customer and program. A referral failing a fraud guard is recorded as
    rejected, with the reason, so the dashboard shows it; it never earns anything.
    """
    at = at or timezone.now()
    code = (code or "").strip().upper()
    member = Member.objects.select_related("customer", "program").filter(referral_code=code).first()
    affiliate = None if member else Affiliate.objects.filter(code=code, is_active=True).first()
    if member is None and affiliate is None:
        raise ValidationError({"code": _("El código de recomendación «%(code)s» no existe.") % {"code": code}})
    program = member.program if member else Program.objects.filter(is_active=True).order_by("id").first()
    if program is None:
        raise ValidationError(_("No hay ningún programa de fidelización activo."))
    prior = Referral.objects.filter(program=program, referred=customer).first()
    if prior is not None:
        return prior
    reason = None
    if member is not None:
        reason = self_referral_reason(member.customer, customer)
    elif affiliate is not None and affiliate.customer is not None:
        reason = self_referral_reason(affiliate.customer, customer)
    elif affiliate is not None and affiliate.email and normalize_email(affiliate.email) == normalize_email(customer.email):
        reason = _("Mismo e-mail que el afiliado.")
    reason = reason or existing_customer_reason(customer, at)
    return Referral.objects.create(
        program=program, referrer=member, affiliate=affiliate, referred=customer,
        first_contact_at=at, status=ReferralStatus.REJECTED if reason else ReferralStatus.PENDING,
        reason=reason or "")


def referrals_on_orders(order_ids: Sequence[int]) -> int:
    """A pending referral qualifies with the friend's first order of at least the minimum."""
    orders = order_rows(order_ids)
    if not orders:
        return 0
    pending = list(Referral.objects.filter(status=ReferralStatus.PENDING,
                                           referred_id__in={o["customer_id"] for o in orders})
                   .select_related("program"))
    by_customer: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for o in sorted(orders, key=lambda o: (o["placed_at"], o["id"])):
        by_customer[o["customer_id"]].append(o)
    changed = []
    for ref in pending:
        for o in by_customer[ref.referred_id]:
            if (o["placed_at"] >= ref.first_contact_at - NEW_CUSTOMER_GRACE
                    and o["total"] >= ref.program.referral_min_purchase):
                ref.status, ref.qualifying_order_id = ReferralStatus.QUALIFIED, o["id"]
                ref.release_at = o["placed_at"] + timedelta(days=ref.program.referral_review_days)
                changed.append(ref)
                break
    Referral.objects.bulk_update(changed, ["status", "qualifying_order", "release_at"])
    return len(changed)


def referrals_on_returns(return_ids: Sequence[int]) -> int:
    """A qualifying purchase returned in full before the review ends rejects the referral."""
    order_ids = sorted(set(return_orders(return_ids).values()))
    refs = list(Referral.objects.filter(status=ReferralStatus.QUALIFIED, qualifying_order_id__in=order_ids)
                .select_related("qualifying_order"))
    refunded = refunded_by_order([r.qualifying_order_id for r in refs if r.qualifying_order_id is not None])
    rejected = []
    for ref in refs:
        order = ref.qualifying_order
        assert order is not None  # filtered on qualifying_order_id
        if refunded.get(order.pk, Decimal(0)) >= order.total:
            ref.status, ref.reason = ReferralStatus.REJECTED, _("La compra que la cualificaba se devolvió.")
            rejected.append(ref)
    Referral.objects.bulk_update(rejected, ["status", "reason"])
    return len(rejected)


def referrals_release(*, now: datetime | None = None) -> int:
    """Reward the referrals whose review delay is over (daily job). Returns how many."""
    now = now or timezone.now()
    actor = Actor.system("loyalty:referrals")
    done = 0
    for ref_id in Referral.objects.filter(status=ReferralStatus.QUALIFIED, release_at__lte=now) \
            .values_list("pk", flat=True):
        with transaction.atomic():
            ref = (Referral.objects.select_for_update(of=("self",)).select_related("program", "referrer", "referred",
                                                                       "qualifying_order").get(pk=ref_id))
            if ref.status != ReferralStatus.QUALIFIED:
                continue
            order = ref.qualifying_order
            assert order is not None  # a qualified referral has its qualifying order
            if refunded_by_order([order.pk]).get(order.pk, Decimal(0)) >= order.total:
                ref.status, ref.reason = ReferralStatus.REJECTED, _("La compra que la cualificaba se devolvió.")
                ref.save(update_fields=["status", "reason"])
                continue
            note = _("Recomendación de %(name)s") % {"name": ref.referred.display_name}
            if ref.referrer is not None and ref.program.referrer_points:
                bonus_award(member=ref.referrer, cause_type=CauseType.REFERRAL, cause_id=str(ref.pk),
                            actor=actor, points=ref.program.referrer_points, occurred_at=now, note=note)
            if ref.program.referred_points:
                friend = member_enroll(program=ref.program, customer=ref.referred, actor=actor, at=now)
                bonus_award(member=friend, cause_type=CauseType.REFERRAL, cause_id=str(ref.pk),
                            actor=actor, points=ref.program.referred_points, occurred_at=now,
                            note=_("Bienvenida por recomendación"))
            ref.status, ref.rewarded_at = ReferralStatus.REWARDED, now
            ref.save(update_fields=["status", "rewarded_at"])
            done += 1
    return done


# --- affiliates ----------------------------------------------------------------------

@transaction.atomic
def affiliate_create(*, name: str, commission_kind: str, commission_value: Decimal, actor: Actor,
                     email: str = "", customer: Customer | None = None, window_days: int = 365) -> Affiliate:
    affiliate = Affiliate(name=name, email=normalize_email(email), customer=customer,
                          commission_kind=commission_kind, commission_value=commission_value,
                          window_days=window_days, code="A" + random_code(9))
    affiliate.full_clean()
    affiliate.save()
    return affiliate


def _commission(affiliate: Affiliate, revenue: Decimal) -> Decimal:
    if affiliate.commission_kind == CommissionKind.FIXED:
        return quantize_money(affiliate.commission_value)
    return quantize_money(revenue * affiliate.commission_value / 100)


def affiliates_on_orders(order_ids: Sequence[int]) -> int:
    """Commission on every order of an affiliate's (non-rejected) referral within its window."""
    orders = order_rows(order_ids)
    if not orders:
        return 0
    refs = {r.referred_id: r for r in Referral.objects.filter(
        affiliate__isnull=False, affiliate__is_active=True, referred_id__in={o["customer_id"] for o in orders})
        .exclude(status=ReferralStatus.REJECTED).select_related("affiliate")}
    rows = []
    for o in orders:
        ref = refs.get(o["customer_id"])
        if ref is None or ref.affiliate is None:  # (the query wants an affiliate)
            continue
        end = ref.first_contact_at + timedelta(days=ref.affiliate.window_days)
        if ref.first_contact_at - NEW_CUSTOMER_GRACE <= o["placed_at"] <= end:
            rows.append(AffiliateCommission(affiliate=ref.affiliate, order_id=o["id"], cause=f"order:{o['id']}",
                                            revenue=o["total"], amount=_commission(ref.affiliate, o["total"]),
                                            created_at=o["placed_at"]))
    AffiliateCommission.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def affiliates_on_returns(return_ids: Sequence[int]) -> int:
    """Reverse commissions in proportion to the refund (cumulative, so a full return
    reverses exactly the commission)."""
    rets = return_orders(return_ids)
    order_ids = set(rets.values())
    paid = list(AffiliateCommission.objects.filter(cause__in=[f"order:{o}" for o in order_ids])
                .select_related("order"))
    if not paid:
        return 0
    history = returns_history(sorted(order_ids))
    wanted = set(rets)
    rows = []
    for com in paid:
        total, cumulative = com.order.total, Decimal(0)
        for rid, amount, at in history[com.order_id]:
            before, cumulative = cumulative, cumulative + amount
            if rid not in wanted or total <= 0:
                continue
            share = (quantize_money(com.amount * min(Decimal(1), cumulative / total))
                     - quantize_money(com.amount * min(Decimal(1), before / total)))
            revenue = min(cumulative, total) - min(before, total)
            rows.append(AffiliateCommission(affiliate_id=com.affiliate_id, order_id=com.order_id,
                                            cause=f"return:{rid}", revenue=-revenue, amount=-share,
                                            created_at=at))
    AffiliateCommission.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def affiliate_payout_create(*, affiliate: Affiliate, period_end: date, actor: Actor) -> AffiliatePayout:
    """Pay every unpaid commission (and reversal) dated up to `period_end`."""
    affiliate = Affiliate.objects.select_for_update().get(pk=affiliate.pk)
    due = AffiliateCommission.objects.filter(affiliate=affiliate, payout__isnull=True,
                                             created_at__date__lte=period_end)
    amount = due.aggregate(s=Sum("amount"))["s"] or Decimal(0)
    if amount <= 0:
        raise ValidationError({"period_end": _("No hay comisiones pendientes de pago hasta esa fecha.")})
    payout = AffiliatePayout.objects.create(affiliate=affiliate, amount=amount, period_end=period_end,
                                            created_by=actor.user)
    due.update(payout=payout)
    return payout


def affiliates_report(*, start: date, end: date) -> list[dict[str, Any]]:
    """Per affiliate: customers brought, revenue and commission in [start, end], paid and owed."""
    out = []
    for aff in Affiliate.objects.annotate(
            customers=Count("referrals", filter=~Q(referrals__status=ReferralStatus.REJECTED))).order_by("name"):
        period = AffiliateCommission.objects.filter(affiliate=aff, created_at__date__gte=start,
                                                    created_at__date__lte=end)
        agg = period.aggregate(revenue=Sum("revenue"), commission=Sum("amount"))
        paid = AffiliatePayout.objects.filter(affiliate=aff).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        owed = (AffiliateCommission.objects.filter(affiliate=aff, payout__isnull=True)
                .aggregate(s=Sum("amount"))["s"] or Decimal(0))
        out.append({"affiliate": aff, "customers": aff.customers, "revenue": agg["revenue"] or Decimal(0),
                    "commission": agg["commission"] or Decimal(0), "paid": paid, "owed": owed})
    return out
