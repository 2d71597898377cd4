from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fideliza.loyalty.models import (
    AffiliateCommission,
    CauseType,
    LedgerEntry,
    Member,
    Referral,
    ReferralStatus,
)
from fideliza.loyalty.referrals import (
    affiliate_create,
    affiliate_payout_create,
    affiliates_report,
    referral_register,
    referrals_release,
)
from fideliza.loyalty.services import member_enroll

from .conftest import make_customer, make_order, make_return

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral_program(program):
    program.referrer_points = 200
    program.referred_points = 100
    program.referral_min_purchase = Decimal("30")
    program.referral_review_days = 14
    program.save()
    return program


@pytest.fixture
def referrer(referral_program, actor):
    ana = make_customer(first_name="Ana", phone="612 34 56 78", tax_id="12345678Z",
                        address="Calle Mayor 5", postal_code="28013", email="ana@example.com")
    return member_enroll(program=referral_program, customer=ana, actor=actor)


def referral_points():
    return list(LedgerEntry.objects.filter(cause_type=CauseType.REFERRAL).values_list("points", flat=True))


def test_genuine_referral_rewards_both_after_the_review_delay(referrer, catalog, actor):
    friend = make_customer(first_name="Luis")
    ref = referral_register(code=referrer.referral_code.lower(), customer=friend, actor=actor)
    assert ref.status == ReferralStatus.PENDING
    make_order(friend, [(catalog["paint"], 2)])  # 60 € ≥ 30 €
    ref.refresh_from_db()
    assert ref.status == ReferralStatus.QUALIFIED
    assert referrals_release() == 0  # still in review
    assert referrals_release(now=timezone.now() + timedelta(days=15)) == 1
    assert sorted(referral_points()) == [100, 200]
    assert referrals_release(now=timezone.now() + timedelta(days=16)) == 0  # once
    assert sorted(referral_points()) == [100, 200]


@pytest.mark.parametrize("phone", ["+34 612 345 678", "0034612345678", "612-34-56-78", "(+34) 612345678"])
def test_self_referral_by_same_phone_in_another_format_awards_nothing(referrer, catalog, actor, phone):
    alias = make_customer(first_name="A.", email="otra@example.com", phone=phone)
    ref = referral_register(code=referrer.referral_code, customer=alias, actor=actor)
    assert ref.status == ReferralStatus.REJECTED and "teléfono" in ref.reason
    make_order(alias, [(catalog["drill"], 1)])
    referrals_release(now=timezone.now() + timedelta(days=30))
    assert referral_points() == []


@pytest.mark.parametrize("data", [
    {"email": "ANA@example.com "},
    {"tax_id": "12345678-z"},
    {"address": "calle  mayor, 5", "postal_code": "28013"},
])
def test_self_referral_by_email_tax_id_or_address_awards_nothing(referrer, actor, data):
    alias = make_customer(first_name="Otra", **{"email": "x@example.com", **data})
    ref = referral_register(code=referrer.referral_code, customer=alias, actor=actor)
    assert ref.status == ReferralStatus.REJECTED


def test_existing_customer_cannot_be_referred(referrer, catalog, actor):
    old = make_customer(first_name="Pepe")
    make_order(old, [(catalog["nails"], 1)], placed_at=timezone.now() - timedelta(days=90))
    ref = referral_register(code=referrer.referral_code, customer=old, actor=actor)
    assert ref.status == ReferralStatus.REJECTED and "cliente" in ref.reason
    make_order(old, [(catalog["drill"], 1)])
    referrals_release(now=timezone.now() + timedelta(days=30))
    assert referral_points() == []


def test_purchase_below_minimum_awards_nothing(referrer, catalog, actor):
    friend = make_customer(first_name="Marta")
    referral_register(code=referrer.referral_code, customer=friend, actor=actor)
    make_order(friend, [(catalog["nails"], 2)])  # 10 € < 30 €
    referrals_release(now=timezone.now() + timedelta(days=30))
    assert Referral.objects.get(referred=friend).status == ReferralStatus.PENDING
    assert referral_points() == []


def test_returned_qualifying_purchase_rejects_the_referral(referrer, catalog, actor):
    friend = make_customer(first_name="Raúl")
    referral_register(code=referrer.referral_code, customer=friend, actor=actor)
    order = make_order(friend, [(catalog["paint"], 2)])
    make_return(order, amount=order.total)
    assert Referral.objects.get(referred=friend).status == ReferralStatus.REJECTED
    referrals_release(now=timezone.now() + timedelta(days=30))
    assert referral_points() == []


def test_a_customer_is_referred_once(referrer, referral_program, actor):
    friend = make_customer(first_name="Eva")
    other = member_enroll(program=referral_program, customer=make_customer(first_name="Otro"), actor=actor)
    first = referral_register(code=referrer.referral_code, customer=friend, actor=actor)
    second = referral_register(code=other.referral_code, customer=friend, actor=actor)
    assert first.pk == second.pk and second.referrer_id == referrer.pk


def test_affiliate_commission_window_return_and_payout(referral_program, catalog, actor):
    aff = affiliate_create(name="Blog de bricolaje", commission_kind="percent", commission_value=Decimal("10"),
                           actor=actor, window_days=30)
    friend = make_customer(first_name="Nuria")
    referral_register(code=aff.code, customer=friend, actor=actor)
    order = make_order(friend, [(catalog["drill"], 1)])  # 100 € → 10 €
    make_order(friend, [(catalog["paint"], 1)])  # 30 € → 3 €
    make_return(order, amount=Decimal("50.00"))  # −5 €
    make_order(friend, [(catalog["drill"], 1)], placed_at=timezone.now() - timedelta(days=60))  # before contact
    amounts = sorted(AffiliateCommission.objects.values_list("amount", flat=True))
    assert amounts == [Decimal("-5.00"), Decimal("3.00"), Decimal("10.00")]
    payout = affiliate_payout_create(affiliate=aff, period_end=timezone.localdate(), actor=actor)
    assert payout.amount == Decimal("8.00")
    row = affiliates_report(start=timezone.localdate() - timedelta(days=1), end=timezone.localdate())[0]
    assert row["customers"] == 1 and row["commission"] == Decimal("8.00")
    assert row["paid"] == Decimal("8.00") and row["owed"] == 0
    assert Member.objects.filter(customer=friend).exists()
