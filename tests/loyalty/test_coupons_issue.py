"""`loyalty.coupons.coupons_issue`: the bulk issue campaigns and automations call."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from fideliza.accounts.models import AuditLog
from fideliza.accounts.services import Actor
from fideliza.loyalty.coupons import (
    coupon_discount,
    coupons_deactivate,
    coupons_issue,
    normalize_code,
)
from fideliza.loyalty.models import Coupon, CouponSource, RewardKind
from tests.clock import MIDSUMMER
from tests.factories.customers import customer_make

pytestmark = pytest.mark.django_db

UNTIL = MIDSUMMER + timedelta(days=30)


def _issue(ids, **terms):
    args = {"name": "Verano", "source": CouponSource.CAMPAIGN, "kind": RewardKind.AMOUNT, "value": Decimal("5"),
            "valid_from": MIDSUMMER, "valid_until": UNTIL, "now": MIDSUMMER, **terms}
    return coupons_issue(customer_ids=ids, **args)


def test_one_single_use_coupon_per_customer_bound_to_it():
    a, b = customer_make(), customer_make()
    issued = _issue([a.pk, b.pk], min_purchase=Decimal("20"))
    assert set(issued) == {a.pk, b.pk}
    assert issued[a.pk].code != issued[b.pk].code
    coupon = Coupon.objects.get(pk=issued[a.pk].pk)
    assert (coupon.code, coupon.customer_id, coupon.max_uses, coupon.max_uses_per_customer) == (
        issued[a.pk].code, a.pk, 1, 1)
    assert (coupon.valid_from, coupon.valid_until, coupon.min_purchase, coupon.created_at) == (
        MIDSUMMER, UNTIL, Decimal("20.00"), MIDSUMMER)
    assert normalize_code(coupon.code) == coupon.code
    assert not AuditLog.objects.filter(entity="loyalty.coupon").exists()


def test_an_actor_gets_one_audit_row_per_coupon():
    a, b = customer_make(), customer_make()
    issued = _issue([a.pk, b.pk], audit_actor=Actor.system("automation:1"))
    rows = AuditLog.objects.filter(entity="loyalty.coupon").order_by("entity_id")
    assert sorted(r.entity_id for r in rows) == sorted(str(c.pk) for c in issued.values())
    assert {r.changes["customer"][1] for r in rows} == {a.pk, b.pk}


@pytest.mark.parametrize(("terms", "field"), [
    ({"kind": RewardKind.PERCENT, "value": Decimal("120")}, "value"),
    ({"valid_until": MIDSUMMER}, "valid_until"),
    ({"value": Decimal("-1")}, "__all__"),  # the CheckConstraint value >= 0
])
def test_terms_are_checked_once_before_anything_is_written(terms, field):
    a = customer_make()
    with pytest.raises(ValidationError) as caught:
        _issue([a.pk], **terms)
    assert field in caught.value.message_dict
    assert not Coupon.objects.exists()


def test_deactivated_coupons_are_refused():
    a = customer_make()
    issued = _issue([a.pk])
    assert coupons_deactivate([issued[a.pk].pk]) == 1
    with pytest.raises(ValidationError):
        coupon_discount(Coupon.objects.get(pk=issued[a.pk].pk), customer=a, basket=None, now=MIDSUMMER)
