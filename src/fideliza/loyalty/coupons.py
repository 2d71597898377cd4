"""Coupons and rewards: unguessable codes, limits that hold under concurrency, and the
redemption of a reward (spend points → issue a coupon).

A coupon's limits (total uses, uses per customer) are checked and consumed while holding
`SELECT … FOR UPDATE` on the coupon row, so fifty tills redeeming the last use of a code
at the same moment produce exactly one redemption; the CheckConstraint
`uses_count <= max_uses` is the database's backstop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record, audit_record_bulk
from fideliza.catalog.models import Category, Product
from fideliza.catalog.selectors import category_parents, products_by_sku
from fideliza.core.bulk import insert_constant
from fideliza.core.money import quantize_money
from fideliza.customers.models import Customer
from fideliza.segments.selectors import segment_has_member

from .earning import category_descendants
from .models import (
    CauseType,
    Coupon,
    CouponRedemption,
    CouponSource,
    EntryKind,
    Member,
    Reward,
    RewardKind,
    RewardRedemption,
)
from .services import (
    IdempotencyConflict,
    _fifo,
    _lock_member,
    _spendable_lots,
    _write_debit,
    random_code,
)


class CouponRefused(ValidationError):
    """The code cannot be used for this basket; `code` says why (e.g. "coupon_exhausted").

    Exhausted limits are conflicts (409 in the API); everything else is invalid input (422).
    """

    CONFLICT_CODES = frozenset({"coupon_exhausted", "coupon_customer_limit"})

    def __init__(self, message: str, code: str) -> None:
        super().__init__({"code": message}, code=code)
        self.reason = code

    @property
    def is_conflict(self) -> bool:
        return self.reason in self.CONFLICT_CODES


@dataclass(frozen=True)
class BasketLine:
    product_id: int | None
    category_id: int | None
    quantity: Decimal
    amount: Decimal  # after line discounts
    unit_price: Decimal = Decimal(0)


@dataclass(frozen=True)
class Basket:
    lines: Sequence[BasketLine]
    other_codes: Sequence[str] = field(default_factory=tuple)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


def basket_from_skus(items: Sequence[dict], other_codes: Sequence[str] = ()) -> Basket:
    """A basket from [{"sku", "quantity", "unit_price"?, "discount"?}]; unknown SKUs count
    towards the total but match no product restriction."""
    skus = {str(i.get("sku") or "") for i in items}
    products = products_by_sku(skus)
    lines = []
    for item in items:
        product = products.get(str(item.get("sku") or ""))
        qty = Decimal(str(item.get("quantity") or 1))
        price = item.get("unit_price")
        price = Decimal(str(price)) if price is not None else (product.list_price if product else Decimal(0))
        amount = quantize_money(qty * price - Decimal(str(item.get("discount") or 0)))
        lines.append(BasketLine(product_id=product.pk if product else None,
                                category_id=product.category_id if product else None,
                                quantity=qty, amount=amount, unit_price=price))
    return Basket(lines=lines, other_codes=tuple(c.strip().upper() for c in other_codes if c.strip()))


def coupon_code() -> str:
    """12 random symbols from a 32-letter alphabet (60 bits): unguessable, easy to read out."""
    raw = random_code(12)
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalize_code(code: str) -> str:
    raw = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}" if len(raw) == 12 else (code or "").strip().upper()


@transaction.atomic
def coupon_create(
    *,
    actor: Actor,
    name: str,
    kind: str = RewardKind.AMOUNT,
    value: Decimal = Decimal(0),
    source: str = CouponSource.CAMPAIGN,
    customer: Customer | None = None,
    max_uses: int | None = 1,
    max_uses_per_customer: int | None = 1,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    min_purchase: Decimal = Decimal(0),
    product: Product | None = None,
    category: Category | None = None,
    stackable: bool = False,
    reward: Reward | None = None,
    segment: Any = None,
) -> Coupon:
    coupon = Coupon(code=coupon_code(), name=name, kind=kind, value=value, source=source, customer=customer,
                    segment=segment,
                    max_uses=max_uses, max_uses_per_customer=max_uses_per_customer, valid_from=valid_from,
                    valid_until=valid_until, min_purchase=min_purchase, product=product, category=category,
                    stackable=stackable, reward=reward)
    coupon.full_clean()
    _terms_check(coupon)
    coupon.save()
    audit_record(actor=actor, action=AuditAction.CREATE, entity="loyalty.coupon", entity_id=coupon.pk,
                 changes={"name": (None, name), "customer": (None, customer.pk if customer else None)})
    return coupon


def _terms_check(coupon: Coupon) -> None:
    """The cross-field rules of a coupon's terms (after `full_clean`)."""
    if coupon.kind == RewardKind.PERCENT and coupon.value > 100:
        raise ValidationError({"value": _("Un descuento porcentual no puede superar el 100 %.")})
    if coupon.kind == RewardKind.FREE_PRODUCT and coupon.product_id is None:
        raise ValidationError({"product": _("Indique el producto que se regala.")})
    if coupon.valid_from and coupon.valid_until and coupon.valid_until <= coupon.valid_from:
        raise ValidationError({"valid_until": _("El final de la validez debe ser posterior al inicio.")})


@dataclass(frozen=True)
class IssuedCoupon:
    pk: int
    code: str


ISSUE_BATCH = 5000  # codes per IN (…) list when reading the issued ids back


def coupons_issue(
    *,
    customer_ids: Sequence[int],
    name: str,
    source: str,
    kind: str,
    value: Decimal,
    valid_from: datetime,
    valid_until: datetime,
    min_purchase: Decimal = Decimal(0),
    audit_actor: Actor | None = None,
    now: datetime | None = None,
) -> dict[int, IssuedCoupon]:
    """One single-use coupon bound to each of `customer_ids` (existing customers), all on
    the same terms: {customer id: its coupon}. The campaigns' and automations' offers.

    Inserted in bulk (a campaign issues up to hundreds of thousands at once) after checking
    the terms once as `coupon_create` does. With `audit_actor`, one audit row per coupon
    as `coupon_create` writes; without it the caller records the issue in its own audit
    row (a campaign launch records how many coupons it issued). Call inside the caller's
    transaction: the coupons must not outlive a launch that fails.
    """
    if not customer_ids:
        return {}
    terms = Coupon(code="", name=name, kind=kind, value=value, source=source, max_uses=1, max_uses_per_customer=1,
                   valid_from=valid_from, valid_until=valid_until, min_purchase=min_purchase, stackable=False)
    terms.full_clean(exclude=["code"])
    _terms_check(terms)
    codes: dict[str, int] = {}
    for cid in customer_ids:
        code = coupon_code()
        while code in codes:
            code = coupon_code()
        codes[code] = cid
    now = now or timezone.now()
    constant = {"name": name, "source": source, "kind": kind, "value": value, "max_uses": 1,
                "max_uses_per_customer": 1, "uses_count": 0, "valid_from": valid_from, "valid_until": valid_until,
                "min_purchase": min_purchase, "stackable": False, "is_active": True, "created_at": now}
    insert_constant(Coupon, constant, ["code", "customer"], list(codes.items()))
    issued: dict[int, IssuedCoupon] = {}
    code_list = list(codes)
    if connection.vendor == "postgresql":
        # One array parameter: an IN list of 5,000 codes cost more to compile and convert
        # than to run.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, code FROM {connection.ops.quote_name(Coupon._meta.db_table)} "
                           f"WHERE code = ANY(%s)", [code_list])
            found = cursor.fetchall()
    else:
        found = [row for i in range(0, len(code_list), ISSUE_BATCH)
                 for row in Coupon.objects.filter(code__in=code_list[i:i + ISSUE_BATCH]).values_list("pk", "code")]
    for pk, code in found:
        issued[codes[code]] = IssuedCoupon(pk, code)
    if audit_actor is not None:
        audit_record_bulk(actor=audit_actor, action=AuditAction.CREATE, entity="loyalty.coupon",
                          rows=[(c.pk, {"name": (None, name), "customer": (None, cid)}) for cid, c in issued.items()])
    return issued


def coupons_deactivate(coupon_ids: Sequence[int]) -> int:
    """Switch off coupons nobody will read (their message was never sent); returns how many."""
    return sum(Coupon.objects.filter(pk__in=coupon_ids[i:i + ISSUE_BATCH]).update(is_active=False)
               for i in range(0, len(coupon_ids), ISSUE_BATCH))


def _eligible_lines(coupon: Coupon, basket: Basket) -> list[BasketLine]:
    if coupon.product_id:
        return [line for line in basket.lines if line.product_id == coupon.product_id]
    if coupon.category_id:
        allowed = category_descendants(category_parents()).get(coupon.category_id, frozenset({coupon.category_id}))
        return [line for line in basket.lines if line.category_id in allowed]
    return list(basket.lines)


def coupon_discount(coupon: Coupon, *, customer: Customer | None, basket: Basket,
                    now: datetime | None = None, check_limits: bool = True) -> Decimal:
    """The discount `coupon` gives this basket, or CouponRefused saying why not."""
    now = now or timezone.now()
    if not coupon.is_active:
        raise CouponRefused(_("El cupón está desactivado."), "coupon_inactive")
    if coupon.valid_from and now < coupon.valid_from:
        raise CouponRefused(_("El cupón aún no es válido."), "coupon_not_yet_valid")
    if coupon.valid_until and now >= coupon.valid_until:
        raise CouponRefused(_("El cupón ha caducado."), "coupon_expired")
    if coupon.customer_id and (customer is None or customer.pk != coupon.customer_id):
        raise CouponRefused(_("El cupón pertenece a otro cliente."), "coupon_other_customer")
    if coupon.segment_id and (
            customer is None or not segment_has_member(segment_id=coupon.segment_id, customer_id=customer.pk)):
        raise CouponRefused(_("El cupón es solo para los clientes de un segmento."), "coupon_segment")
    if check_limits and coupon.max_uses is not None and coupon.uses_count >= coupon.max_uses:
        raise CouponRefused(_("El cupón ya se ha usado todas las veces permitidas."), "coupon_exhausted")
    if check_limits and coupon.max_uses_per_customer is not None:
        if customer is None:
            raise CouponRefused(_("Este cupón requiere identificar al cliente."), "coupon_customer_required")
        used = CouponRedemption.objects.filter(coupon=coupon, customer=customer).count()
        if used >= coupon.max_uses_per_customer:
            raise CouponRefused(_("Este cliente ya ha usado el cupón las veces permitidas."),
                                "coupon_customer_limit")
    others = [c for c in basket.other_codes if c != coupon.code]
    if others:
        if not coupon.stackable:
            raise CouponRefused(_("Este cupón no se puede combinar con otros."), "coupon_not_stackable")
        if Coupon.objects.filter(code__in=others, stackable=False).exists():
            raise CouponRefused(_("Otro cupón de la compra no se puede combinar."), "coupon_not_stackable")
    if basket.total < coupon.min_purchase:
        raise CouponRefused(_("La compra mínima para este cupón es %(min)s.") % {"min": coupon.min_purchase},
                            "coupon_min_purchase")
    eligible = _eligible_lines(coupon, basket)
    if (coupon.product_id or coupon.category_id) and not eligible:
        raise CouponRefused(_("La compra no incluye los productos a los que se aplica el cupón."),
                            "coupon_not_applicable")
    base = sum((line.amount for line in eligible), Decimal(0))
    if coupon.kind == RewardKind.AMOUNT:
        return quantize_money(min(coupon.value, base))
    if coupon.kind == RewardKind.PERCENT:
        return quantize_money(base * coupon.value / 100)
    if coupon.kind == RewardKind.FREE_PRODUCT:
        return quantize_money(min(max((line.unit_price for line in eligible), default=Decimal(0)), base))
    return Decimal("0.00")  # a gift is handed over, not discounted


@transaction.atomic
def coupon_redeem(*, code: str, customer: Customer | None, basket: Basket, order_reference: str,
                  actor: Actor, now: datetime | None = None) -> CouponRedemption:
    """Use the coupon once for this basket. The same coupon and `order_reference` again
    returns the first redemption (a till retrying) instead of using it twice."""
    code = normalize_code(code)
    coupon = Coupon.objects.select_for_update().filter(code=code).first()
    if coupon is None:
        raise CouponRefused(_("El código «%(code)s» no existe.") % {"code": code}, "coupon_unknown")
    reference = (order_reference or "").strip()[:128]
    if reference:
        prior = CouponRedemption.objects.filter(coupon=coupon, order_reference=reference).first()
        if prior is not None:
            if prior.customer_id != (customer.pk if customer else None):
                raise IdempotencyConflict({"order_reference": _("Esta referencia ya usó el cupón con otro cliente.")},
                                          code="idempotency_conflict")
            return prior
    now = now or timezone.now()
    discount = coupon_discount(coupon, customer=customer, basket=basket, now=now)
    redemption = CouponRedemption.objects.create(coupon=coupon, customer=customer, order_reference=reference,
                                                 discount=discount, redeemed_at=now)
    Coupon.objects.filter(pk=coupon.pk).update(uses_count=F("uses_count") + 1)
    return redemption


@transaction.atomic
def reward_redeem(*, member: Member, reward: Reward, idempotency_key: str, actor: Actor) -> RewardRedemption:
    """Spend the reward's points (nearest expiry first) and issue its coupon, once per key."""
    key = (idempotency_key or "").strip()[:64]
    if not key:
        raise ValidationError({"idempotency_key": _("Falta la clave de idempotencia.")})
    member = _lock_member(member.pk)
    prior = RewardRedemption.objects.filter(member=member, entry__cause_type=CauseType.REWARD,
                                            entry__cause_id=key).select_related("coupon").first()
    if prior is not None:
        if prior.reward_id != reward.pk:
            raise IdempotencyConflict({"idempotency_key": _("Esta clave ya se usó para otra recompensa.")},
                                      code="idempotency_conflict")
        return prior
    if not reward.is_active or reward.program_id != member.program_id:
        raise ValidationError({"reward": _("Esta recompensa no está disponible.")})
    if reward.min_tier is not None and (member.tier is None or member.tier.rank < reward.min_tier.rank):
        raise ValidationError({"reward": _("Esta recompensa es exclusiva del nivel %(tier)s o superior.")
                               % {"tier": reward.min_tier.name}})
    now = timezone.now()
    entry = _write_debit(member, kind=EntryKind.REDEEM, points=reward.points_cost, cause_type=CauseType.REWARD,
                         cause_id=key, occurred_at=now, lots=list(_fifo(_spendable_lots(member, now))),
                         note=reward.name, created_by_id=actor.user.pk if actor.user else None)
    coupon = coupon_create(actor=actor, name=reward.name, kind=reward.kind, value=reward.value,
                           source=CouponSource.REWARD, customer=member.customer, max_uses=1,
                           max_uses_per_customer=1, valid_from=now,
                           valid_until=now + timedelta(days=reward.coupon_valid_days),
                           min_purchase=reward.min_purchase, product=reward.product, reward=reward)
    return RewardRedemption.objects.create(member=member, reward=reward, points=reward.points_cost,
                                           coupon=coupon, entry=entry)
