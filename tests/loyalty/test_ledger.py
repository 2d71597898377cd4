from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from fideliza.loyalty.models import CauseType, EntryKind, LedgerEntry, Member, PointLot
from fideliza.loyalty.selectors import ledger_check, points_pending, points_spendable
from fideliza.loyalty.services import (
    IdempotencyConflict,
    InsufficientPoints,
    bonus_award,
    orders_accrue,
    points_adjust,
    points_redeem,
    returns_clawback,
)
from fideliza.sales.hooks import run_orders_recorded

from .conftest import make_order, make_return

pytestmark = pytest.mark.django_db


def member_of(customer):
    return Member.objects.get(customer=customer)


def test_order_accrues_with_category_multipliers_and_welcome_bonus(program, catalog, customer):
    # 100 € in a subcategory of Herramientas (3x) + 30 € of paint (2x) + 10 € of nails (1x)
    make_order(customer, [(catalog["drill"], 1), (catalog["paint"], 1), (catalog["nails"], 2)])
    m = member_of(customer)
    earn = LedgerEntry.objects.get(member=m, kind=EntryKind.EARN)
    assert earn.points == 300 + 60 + 10
    assert LedgerEntry.objects.get(member=m, kind=EntryKind.BONUS, cause_type=CauseType.JOIN).points == 50
    assert m.points_balance == 420
    assert ledger_check() == []


def test_replayed_hook_awards_nothing(program, catalog, customer):
    order = make_order(customer, [(catalog["hammer"], 1)])
    before = member_of(customer).points_balance
    run_orders_recorded([order.pk])
    orders_accrue([order.pk, order.pk])
    assert member_of(customer).points_balance == before
    assert LedgerEntry.objects.filter(kind=EntryKind.EARN).count() == 1


def test_unique_constraint_is_the_backstop(program, catalog, customer):
    make_order(customer, [(catalog["hammer"], 1)])
    earn = LedgerEntry.objects.get(kind=EntryKind.EARN)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(member=earn.member, kind=EntryKind.EARN, points=1, balance_after=1,
                                   cause_type=earn.cause_type, cause_id=earn.cause_id,
                                   occurred_at=timezone.now())


def test_balance_cannot_go_negative_in_the_database(program, catalog, customer):
    make_order(customer, [(catalog["nails"], 1)])
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(customer=customer).update(points_balance=-1)


def test_redeem_draws_nearest_expiry_first_and_is_idempotent(program, catalog, customer, actor):
    now = timezone.now()
    make_order(customer, [(catalog["nails"], 2)], placed_at=now - timedelta(days=300))  # 10 pts, expires sooner
    make_order(customer, [(catalog["nails"], 4)], placed_at=now - timedelta(days=10))   # 20 pts
    m = member_of(customer)
    welcome = PointLot.objects.get(entry__cause_type=CauseType.JOIN)  # joined with the first order
    first = PointLot.objects.get(entry__kind=EntryKind.EARN, points_initial=10)
    second = PointLot.objects.get(entry__kind=EntryKind.EARN, points_initial=20)
    entry = points_redeem(member=m, points=55, idempotency_key="k1", actor=actor)
    assert entry.points == -55
    for lot in (welcome, first, second):
        lot.refresh_from_db()
    # the welcome lot and the first order share the oldest expiry; both go first
    assert (welcome.points_remaining, first.points_remaining, second.points_remaining) == (5, 0, 20) or \
           (welcome.points_remaining, first.points_remaining, second.points_remaining) == (0, 5, 20)
    again = points_redeem(member=m, points=55, idempotency_key="k1", actor=actor)
    assert again.pk == entry.pk
    assert member_of(customer).points_balance == 25
    with pytest.raises(IdempotencyConflict):
        points_redeem(member=m, points=1, idempotency_key="k1", actor=actor)
    assert ledger_check() == []


def test_redeem_more_than_spendable_is_refused_and_writes_nothing(program, catalog, customer, actor):
    make_order(customer, [(catalog["nails"], 1)])
    m = member_of(customer)
    with pytest.raises(InsufficientPoints) as err:
        points_redeem(member=m, points=m.points_balance + 1, idempotency_key="x", actor=actor)
    assert "points" in err.value.message_dict
    assert not LedgerEntry.objects.filter(kind=EntryKind.REDEEM).exists()
    assert ledger_check() == []


def test_pending_points_are_not_spendable(program, catalog, customer, actor):
    program.pending_days = 14
    program.join_points = 0
    program.save()
    make_order(customer, [(catalog["nails"], 2)])
    m = member_of(customer)
    assert m.points_balance == 10
    assert points_spendable(m) == 0 and points_pending(m) == 10
    with pytest.raises(InsufficientPoints):
        points_redeem(member=m, points=1, idempotency_key="p", actor=actor)
    assert points_spendable(m, timezone.now() + timedelta(days=15)) == 10


def test_full_return_claws_back_exactly_what_the_order_earned(program, catalog, customer, tiers):
    order = make_order(customer, [(catalog["drill"], 1), (catalog["paint"], 1)])
    earned = LedgerEntry.objects.get(kind=EntryKind.EARN).points
    make_return(order, amount=Decimal("40.00"))
    make_return(order, amount=Decimal("90.00"))
    reversed_ = LedgerEntry.objects.filter(kind=EntryKind.REVERSE)
    assert sum(-e.points for e in reversed_) == earned
    assert member_of(customer).points_balance == 50  # only the welcome bonus is left
    assert ledger_check() == []


def test_partial_return_is_proportional_and_replay_safe(program, catalog, customer):
    program.join_points = 0
    program.save()
    order = make_order(customer, [(catalog["hammer"], 2)])  # 40 € × 3 = 120 points
    ret = make_return(order, line_quantities={1: 1})  # half of it
    assert LedgerEntry.objects.get(kind=EntryKind.REVERSE).points == -60
    returns_clawback([ret.pk])
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSE).count() == 1
    assert member_of(customer).points_balance == 60


def test_clawback_of_spent_points_never_goes_negative(program, catalog, customer, actor):
    program.join_points = 0
    program.save()
    order = make_order(customer, [(catalog["nails"], 4)])  # 20 points
    m = member_of(customer)
    points_redeem(member=m, points=15, idempotency_key="spent", actor=actor)
    make_return(order, amount=Decimal("20.00"))
    rev = LedgerEntry.objects.get(kind=EntryKind.REVERSE)
    assert rev.points == -5 and rev.shortfall == 15
    assert member_of(customer).points_balance == 0
    assert ledger_check() == []


def test_adjust_and_bonus_once_per_cause(program, catalog, customer, actor):
    make_order(customer, [(catalog["nails"], 1)])
    m = member_of(customer)
    points_adjust(member=m, points=30, reason="Compensación por retraso", actor=actor)
    bonus_award(member=m, cause_type=CauseType.SURVEY, cause_id="enc-1", actor=actor, points=25)
    bonus_award(member=m, cause_type=CauseType.SURVEY, cause_id="enc-1", actor=actor, points=25)
    m.refresh_from_db()
    assert m.points_balance == 50 + 5 + 30 + 25
    with pytest.raises(InsufficientPoints):
        points_adjust(member=m, points=-(m.points_balance + 1), reason="error", actor=actor)
    points_adjust(member=m, points=-m.points_balance, reason="baja", actor=actor)
    assert member_of(customer).points_balance == 0
    assert ledger_check() == []


def test_caps_per_order_and_per_member_year(program, catalog, customer):
    program.max_points_per_order = 100
    program.max_points_per_member_year = 150
    program.join_points = 0
    program.save()
    make_order(customer, [(catalog["drill"], 1)])  # 300 → capped at 100
    make_order(customer, [(catalog["drill"], 1)])  # 100 more would pass the yearly 150
    points = list(LedgerEntry.objects.filter(kind=EntryKind.EARN).order_by("id").values_list("points", flat=True))
    assert points == [100, 50]


def test_rules_by_channel_dates_minimum_and_per_order(program, catalog, customer):
    from fideliza.loyalty.models import EarningRule, RuleKind

    program.join_points = 0
    program.save()
    today = timezone.localdate()
    EarningRule.objects.create(program=program, name="Web +10", kind=RuleKind.PER_ORDER, points=10,
                               channel="web")
    EarningRule.objects.create(program=program, name="Compra grande", kind=RuleKind.PER_ORDER, points=25,
                               min_purchase=Decimal("50"))
    EarningRule.objects.create(program=program, name="Caducada", kind=RuleKind.PER_ORDER, points=999,
                               starts_on=today - timedelta(days=30), ends_on=today - timedelta(days=1))
    EarningRule.objects.create(program=program, name="Por clavo", kind=RuleKind.PER_UNIT, points=2,
                               product=catalog["nails"])
    make_order(customer, [(catalog["nails"], 3)], channel="web")  # 15 + 10 (web) + 6 (units)
    make_order(customer, [(catalog["nails"], 10)])  # 50 + 25 (≥ 50 €) + 20 (units)
    points = list(LedgerEntry.objects.filter(kind=EntryKind.EARN).order_by("id").values_list("points", flat=True))
    assert points == [31, 95]


def test_rule_and_coupon_limited_to_a_segment(program, catalog, customer, actor):
    from fideliza.loyalty.coupons import (
        Basket,
        BasketLine,
        CouponRefused,
        coupon_create,
        coupon_discount,
    )
    from fideliza.loyalty.models import EarningRule, RuleKind
    from fideliza.segments.models import Segment, SegmentKind, SegmentMember

    from .conftest import make_customer

    vip = Segment.objects.create(name="VIP", kind=SegmentKind.STATIC)
    SegmentMember.objects.create(segment=vip, customer=customer)
    EarningRule.objects.create(program=program, name="VIP +100", kind=RuleKind.PER_ORDER, points=100, segment=vip)
    other = make_customer()
    make_order(customer, [(catalog["nails"], 1)])
    make_order(other, [(catalog["nails"], 1)])
    earned = dict(LedgerEntry.objects.filter(kind=EntryKind.EARN).values_list("member__customer_id", "points"))
    assert earned == {customer.pk: 105, other.pk: 5}
    coupon = coupon_create(actor=actor, name="Solo VIP", value=Decimal("5"), segment=vip)
    basket = Basket(lines=[BasketLine(product_id=None, category_id=None, quantity=Decimal(1), amount=Decimal(20))])
    assert coupon_discount(coupon, customer=customer, basket=basket) == Decimal("5.00")
    with pytest.raises(CouponRefused):
        coupon_discount(coupon, customer=other, basket=basket)
