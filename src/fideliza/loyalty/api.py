"""Point-of-sale API for loyalty: balance and tier, basket preview, redeem points or a
reward, validate and redeem a coupon. Thin: every write is one service call, run once per
`Idempotency-Key` through `fideliza.api_support.idempotent_response`.

Refusals the till must show to the customer are 409 (not enough points, coupon used up,
per-customer limit reached) with `{"detail": "…", "type": "…"}`; invalid input is 422.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header, Router, Schema
from pydantic import Field

from fideliza.accounts.auth import request_actor, request_user, require_write
from fideliza.api_support import (
    ERRORS_READ,
    ERRORS_WRITE,
    IDEMPOTENCY_HEADER_DOC,
    IDEMPOTENCY_KEY_PATTERN,
    DbId,
    ErrorOut,
    MoneyIn,
    MoneyOut,
    QuantityIn,
    idempotent_response,
    render_json,
)
from fideliza.customers.models import Customer
from fideliza.customers.selectors import customers_visible_to

from .coupons import (
    CouponRefused,
    basket_from_skus,
    coupon_discount,
    coupon_redeem,
    normalize_code,
    reward_redeem,
)
from .earning import EarningTerms, LineIn, OrderIn, points_for_basket
from .models import Coupon, Member, Program, Reward
from .selectors import points_pending, points_spendable, tier_progress
from .services import (
    IdempotencyConflict,
    InsufficientPoints,
    basket_earner,
    default_program,
    member_enroll,
    points_redeem,
    program_rule_specs,
)

router = Router(tags=["loyalty"])


class RefusalOut(Schema):
    detail: str
    type: str = Field(description="insufficient_points, coupon_exhausted, coupon_customer_limit, idempotency_conflict")


ERRORS_POS = {**ERRORS_WRITE, 409: RefusalOut}


def _refusal(request: HttpRequest, exc: ValidationError, kind: str) -> HttpResponse:
    messages = [m for ms in exc.message_dict.values() for m in ms] if hasattr(exc, "error_dict") else exc.messages
    body = {"detail": " ".join(str(m) for m in messages), "type": kind}
    return HttpResponse(render_json(request, body, 409), status=409, content_type="application/json; charset=utf-8")


def _customer(request: HttpRequest, customer_id: int) -> Customer:
    return get_object_or_404(customers_visible_to(request_user(request)), pk=customer_id)


def _program() -> Program:
    program = default_program()
    if program is None:
        raise ValidationError({"program": _("No hay ningún programa de fidelización activo.")})
    return program


def _member(customer: Customer, program: Program) -> Member | None:
    return Member.objects.filter(program=program, customer=customer).select_related("tier", "program").first()


# --- schemas ---------------------------------------------------------------------------

class TierOut(Schema):
    name: str
    rank: int
    earn_multiplier: str
    free_shipping: bool


class LoyaltyMemberOut(Schema):
    customer_id: int
    program: str
    member: bool
    balance: int = Field(description="Points in the ledger (the cached sum of every movement).")
    spendable: int = Field(description="Points that can be redeemed now (not pending, not expired).")
    pending: int = Field(description="Points still in their returns window.")
    tier: TierOut | None
    next_tier: str | None
    missing_for_next: str | None = Field(description="Points or amount missing for the next tier.")
    tier_explanation: str
    referral_code: str | None


class BasketLineIn(Schema):
    sku: str = Field(max_length=64)
    quantity: QuantityIn
    unit_price: MoneyIn | None = None
    discount: MoneyIn | None = None


class LoyaltyPreviewIn(Schema):
    customer_id: DbId | None = None
    lines: list[BasketLineIn] = Field(min_length=1, max_length=1000)
    channel: str = "store"
    store_id: DbId | None = None


class LoyaltyPreviewOut(Schema):
    points: int
    tier_multiplier: str
    capped: bool
    rules: list[dict[str, Any]]


class RedeemPointsIn(Schema):
    points: int = Field(ge=1, le=10**9)
    note: str = Field("", max_length=200)


class EntryOut(Schema):
    id: int
    points: int
    balance_after: int
    occurred_at: datetime


class RewardOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    points_cost: int
    value: MoneyOut
    min_tier: str | None


class RedeemRewardIn(Schema):
    customer_id: DbId


class CouponOut(Schema):
    code: str
    name: str
    kind: str
    value: MoneyOut
    valid_until: datetime | None
    min_purchase: MoneyOut


class RewardRedemptionOut(Schema):
    id: int
    points: int
    balance_after: int
    coupon: CouponOut


class CouponCheckIn(Schema):
    code: str = Field(min_length=1, max_length=40)
    customer_id: DbId | None = None
    lines: list[BasketLineIn] = Field(min_length=1, max_length=1000)
    other_codes: list[str] = Field(default_factory=list, max_length=20)


class CouponRedeemIn(CouponCheckIn):
    order_reference: str = Field(min_length=1, max_length=128,
                                 description="The till's id of the sale; the same reference again replays.")


class CouponCheckOut(Schema):
    valid: bool
    discount: MoneyOut
    reason: str | None
    message: str | None


class CouponRedemptionOut(Schema):
    id: int
    code: str
    discount: MoneyOut
    redeemed_at: datetime


def _coupon_out(coupon: Coupon) -> dict[str, Any]:
    return {"code": coupon.code, "name": coupon.name, "kind": coupon.kind, "value": str(coupon.value),
            "valid_until": coupon.valid_until.isoformat() if coupon.valid_until else None,
            "min_purchase": str(coupon.min_purchase)}


# --- endpoints --------------------------------------------------------------------------

@router.get("/members/{int:customer_id}", response={200: LoyaltyMemberOut, **ERRORS_READ}, url_name="loyalty_member")
def member_get(request: HttpRequest, customer_id: DbId) -> dict[str, Any]:
    """Balance, spendable points and tier of a customer, with why and what is missing."""
    customer = _customer(request, customer_id)
    program = _program()
    member = _member(customer, program)
    if member is None:
        return {"customer_id": customer.pk, "program": program.name, "member": False, "balance": 0,
                "spendable": 0, "pending": 0, "tier": None, "next_tier": None, "missing_for_next": None,
                "tier_explanation": _("No es socio del programa."), "referral_code": None}
    progress = tier_progress(member)
    tier = member.tier
    return {
        "customer_id": customer.pk, "program": program.name, "member": True,
        "balance": member.points_balance, "spendable": points_spendable(member),
        "pending": points_pending(member),
        "tier": ({"name": tier.name, "rank": tier.rank, "earn_multiplier": str(tier.earn_multiplier),
                  "free_shipping": tier.free_shipping} if tier else None),
        "next_tier": progress["next_tier"].name if progress["next_tier"] else None,
        "missing_for_next": str(progress["missing"]) if progress["next_tier"] else None,
        "tier_explanation": f"{progress['why']} {progress['next']}",
        "referral_code": member.referral_code,
    }


@router.post("/preview", response={200: LoyaltyPreviewOut, **ERRORS_READ}, url_name="loyalty_preview")
def preview(request: HttpRequest, payload: LoyaltyPreviewIn) -> dict[str, Any]:
    """Points this basket would earn if recorded now (writes nothing): the same rules as
    accrual, segment-limited rules, tier multiplier and both caps included."""
    program = _program()
    customer_id = _customer(request, payload.customer_id).pk if payload.customer_id else None
    basket = basket_from_skus([line.model_dump() for line in payload.lines])
    order = OrderIn(placed_on=timezone.localdate(), channel=payload.channel, store_id=payload.store_id,
                    total=basket.total,
                    lines=[LineIn(product_id=ln.product_id, category_id=ln.category_id, quantity=ln.quantity,
                                  amount=ln.amount) for ln in basket.lines])
    specs = program_rule_specs(program)
    earner = basket_earner(program, specs, customer_id)
    earning = points_for_basket(order, specs, EarningTerms.of(program), earner)
    names = {s.id: s.name for s in specs}
    return {"points": earning.points, "tier_multiplier": str(earner.tier_multiplier), "capped": earning.capped,
            "rules": [{"rule": names[rid], "points": str(value.quantize(Decimal("0.01")))}
                      for rid, value in earning.by_rule.items()]}


@router.post("/members/{int:customer_id}/redeem", response={201: EntryOut, **ERRORS_POS},
             url_name="loyalty_redeem_points")
def redeem_points(
    request: HttpRequest,
    customer_id: DbId,
    payload: RedeemPointsIn,
    idempotency_key: str = Header(..., alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DOC,
                                 pattern=IDEMPOTENCY_KEY_PATTERN),
) -> HttpResponse:
    """Spend points at the till (nearest expiry first). 409 when the spendable balance is short."""
    require_write(request, "sales")
    customer = _customer(request, customer_id)
    member = _member(customer, _program())
    if member is None:
        raise ValidationError({"customer_id": _("El cliente no es socio del programa.")})

    def write() -> tuple[int, Any]:
        entry = points_redeem(member=member, points=payload.points, idempotency_key=idempotency_key,
                              actor=request_actor(request), note=payload.note)
        return 201, {"id": entry.pk, "points": entry.points, "balance_after": entry.balance_after,
                     "occurred_at": entry.occurred_at.isoformat()}

    try:
        return idempotent_response(request, scope="loyalty.redeem", key=idempotency_key, write=write)
    except InsufficientPoints as exc:
        return _refusal(request, exc, "insufficient_points")
    except IdempotencyConflict as exc:
        return _refusal(request, exc, "idempotency_conflict")


@router.get("/rewards", response={200: list[RewardOut], **ERRORS_READ}, url_name="loyalty_rewards")
def rewards_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"id": r.pk, "name": r.name, "description": r.description, "kind": r.kind,
             "points_cost": r.points_cost, "value": r.value, "min_tier": r.min_tier.name if r.min_tier else None}
            for r in Reward.objects.filter(program=_program(), is_active=True).select_related("min_tier")]


@router.post("/rewards/{int:reward_id}/redeem", response={201: RewardRedemptionOut, **ERRORS_POS},
             url_name="loyalty_redeem_reward")
def redeem_reward(
    request: HttpRequest,
    reward_id: DbId,
    payload: RedeemRewardIn,
    idempotency_key: str = Header(..., alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DOC,
                                 pattern=IDEMPOTENCY_KEY_PATTERN),
) -> HttpResponse:
    """Spend the reward's points and issue its coupon (single use, for this customer)."""
    require_write(request, "sales")
    reward = get_object_or_404(Reward, pk=reward_id, is_active=True)
    customer = _customer(request, payload.customer_id)
    member = _member(customer, reward.program)

    def write() -> tuple[int, Any]:
        nonlocal member
        if member is None:
            member = member_enroll(program=reward.program, customer=customer, actor=request_actor(request))
        done = reward_redeem(member=member, reward=reward, idempotency_key=idempotency_key,
                             actor=request_actor(request))
        assert done.entry is not None  # reward_redeem writes the debit (NULL only before migration 0002)
        return 201, {"id": done.pk, "points": done.points, "balance_after": done.entry.balance_after,
                     "coupon": _coupon_out(done.coupon)}

    try:
        return idempotent_response(request, scope="loyalty.reward", key=idempotency_key, write=write)
    except InsufficientPoints as exc:
        return _refusal(request, exc, "insufficient_points")
    except IdempotencyConflict as exc:
        return _refusal(request, exc, "idempotency_conflict")


@router.post("/coupons/validate", response={200: CouponCheckOut, **ERRORS_READ}, url_name="loyalty_coupon_validate")
def coupon_validate(request: HttpRequest, payload: CouponCheckIn) -> dict[str, Any]:
    """Would this code apply to this basket, and for how much? Writes nothing."""
    customer = _customer(request, payload.customer_id) if payload.customer_id else None
    coupon = Coupon.objects.filter(code=normalize_code(payload.code)).first()
    if coupon is None:
        return {"valid": False, "discount": 0, "reason": "coupon_unknown",
                "message": _("El código «%(code)s» no existe.") % {"code": payload.code}}
    basket = basket_from_skus([line.model_dump() for line in payload.lines], payload.other_codes)
    try:
        discount = coupon_discount(coupon, customer=customer, basket=basket)
    except CouponRefused as exc:
        return {"valid": False, "discount": 0, "reason": exc.reason, "message": " ".join(exc.messages)}
    return {"valid": True, "discount": discount, "reason": None, "message": None}


@router.post("/coupons/redeem", response={201: CouponRedemptionOut, **ERRORS_POS}, url_name="loyalty_coupon_redeem")
def coupon_redeem_endpoint(
    request: HttpRequest,
    payload: CouponRedeemIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DOC,
                                 pattern=IDEMPOTENCY_KEY_PATTERN),
) -> HttpResponse:
    """Use the coupon for this sale. 409 when its limits are used up; 422 when it does not apply."""
    require_write(request, "sales")
    customer = _customer(request, payload.customer_id) if payload.customer_id else None
    basket = basket_from_skus([line.model_dump() for line in payload.lines], payload.other_codes)

    def write() -> tuple[int, Any]:
        done = coupon_redeem(code=payload.code, customer=customer, basket=basket,
                             order_reference=payload.order_reference, actor=request_actor(request))
        return 201, {"id": done.pk, "code": done.coupon.code, "discount": str(done.discount),
                     "redeemed_at": done.redeemed_at.isoformat()}

    try:
        return idempotent_response(request, scope="loyalty.coupon", key=idempotency_key, write=write)
    except CouponRefused as exc:
        if exc.is_conflict:
            return _refusal(request, exc, exc.reason)
        raise
    except IdempotencyConflict as exc:
        return _refusal(request, exc, "idempotency_conflict")


__all__ = ["ErrorOut", "router"]


class ReferralIn(Schema):
    code: str = Field(min_length=1, max_length=20, description="The member's referral code or an affiliate code")
    customer_id: DbId = Field(description="The new customer who came with the code")


class ReferralOut(Schema):
    id: int
    status: str
    reason: str


@router.post("/referrals", response={201: ReferralOut, **ERRORS_WRITE}, url_name="loyalty_referral_register")
def referral_create(request: HttpRequest, payload: ReferralIn) -> tuple[int, dict[str, Any]]:
    """Record the first contact of a referred customer. Fraud guards run here: a referral
    that fails one is recorded as `rejected` with its reason and never rewarded."""
    from .referrals import referral_register

    require_write(request, "customers")
    customer = _customer(request, payload.customer_id)
    ref = referral_register(code=payload.code, customer=customer, actor=request_actor(request))
    return 201, {"id": ref.pk, "status": ref.status, "reason": ref.reason}
