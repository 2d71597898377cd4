from decimal import Decimal

import pytest

from fideliza.loyalty.models import Coupon, Member, Reward
from fideliza.loyalty.services import points_adjust

from .conftest import make_order

pytestmark = pytest.mark.django_db


def test_member_balance_tier_and_explanation(api, program, tiers, catalog, customer):
    make_order(customer, [(catalog["drill"], 3)])  # 300 € → Plata (≥ 200), 900 points
    body = api.get(f"/api/v1/loyalty/members/{customer.pk}").json()
    assert body["balance"] == 950 and body["spendable"] == 950
    assert body["tier"]["name"] == "Plata"
    assert body["next_tier"] == "Oro" and body["missing_for_next"] == "700.00"
    assert "Plata" in body["tier_explanation"]


def test_preview_uses_rules_and_tier_multiplier_and_writes_nothing(api, program, tiers, catalog, customer):
    make_order(customer, [(catalog["drill"], 3)])  # now Plata: 1.25x
    before = Member.objects.get(customer=customer).points_balance
    r = api.post("/api/v1/loyalty/preview", {"customer_id": customer.pk,
                                             "lines": [{"sku": "TAL-1", "quantity": 1}, {"sku": "PIN-1", "quantity": 1}]})
    assert r.status_code == 200, r.content
    assert r.json()["points"] == int((300 + 60) * Decimal("1.25"))
    assert Member.objects.get(customer=customer).points_balance == before


def test_redeem_points_is_idempotent_and_refusal_is_409(api, program, catalog, customer):
    make_order(customer, [(catalog["nails"], 2)])  # 10 + 50 welcome
    r1 = api.post(f"/api/v1/loyalty/members/{customer.pk}/redeem", {"points": 40}, **{"Idempotency-Key": "a"})
    r2 = api.post(f"/api/v1/loyalty/members/{customer.pk}/redeem", {"points": 40}, **{"Idempotency-Key": "a"})
    assert r1.status_code == 201 and r2.status_code == 201
    assert r1.content == r2.content and r2["Idempotent-Replayed"] == "true"
    r3 = api.post(f"/api/v1/loyalty/members/{customer.pk}/redeem", {"points": 40}, **{"Idempotency-Key": "b"})
    assert r3.status_code == 409 and r3.json()["type"] == "insufficient_points"
    assert Member.objects.get(customer=customer).points_balance == 20


def test_redeem_reward_issues_coupon_then_coupon_redeems_once(api, program, catalog, customer, actor):
    make_order(customer, [(catalog["nails"], 1)])
    member = Member.objects.get(customer=customer)
    points_adjust(member=member, points=500, reason="regalo", actor=actor)
    reward = Reward.objects.create(program=program, name="Vale 10 €", points_cost=300, value=10)
    r = api.post(f"/api/v1/loyalty/rewards/{reward.pk}/redeem", {"customer_id": customer.pk},
                 **{"Idempotency-Key": "rw-1"})
    assert r.status_code == 201, r.content
    code = r.json()["coupon"]["code"]
    assert r.json()["balance_after"] == 555 - 300
    basket = {"code": code.lower().replace("-", ""), "customer_id": customer.pk,
              "lines": [{"sku": "PIN-1", "quantity": 1}]}
    check = api.post("/api/v1/loyalty/coupons/validate", basket).json()
    assert check == {"valid": True, "discount": "10.00", "reason": None, "message": None}
    first = api.post("/api/v1/loyalty/coupons/redeem", {**basket, "order_reference": "V-1"})
    assert first.status_code == 201 and first.json()["discount"] == "10.00"
    again = api.post("/api/v1/loyalty/coupons/redeem", {**basket, "order_reference": "V-1"})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    other = api.post("/api/v1/loyalty/coupons/redeem", {**basket, "order_reference": "V-2"})
    assert other.status_code == 409 and other.json()["type"] == "coupon_exhausted"
    assert Coupon.objects.get(code=code).uses_count == 1


def test_coupon_refusals_are_422_with_field_messages(api, program, catalog, customer, actor):
    from fideliza.loyalty.coupons import coupon_create

    coupon = coupon_create(actor=actor, name="Pintura -20 %", kind="percent", value=Decimal("20"),
                           category=catalog["paint_cat"], min_purchase=Decimal("25"), max_uses=None,
                           max_uses_per_customer=None)
    body = {"code": coupon.code, "lines": [{"sku": "CLA-1", "quantity": 10}], "order_reference": "X"}
    r = api.post("/api/v1/loyalty/coupons/redeem", body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "code"
    ok = api.post("/api/v1/loyalty/coupons/validate", {**body, "lines": [{"sku": "PIN-1", "quantity": 1}]}).json()
    assert ok["valid"] and ok["discount"] == "6.00"
    unknown = api.post("/api/v1/loyalty/coupons/validate", {**body, "code": "NOPE-NOPE-NOPE"}).json()
    assert unknown["valid"] is False and unknown["reason"] == "coupon_unknown"


def test_register_a_referral_through_the_api(api, program, customer, actor):
    from fideliza.loyalty.services import member_enroll

    from .conftest import make_customer

    referrer = member_enroll(program=program, customer=customer, actor=actor)
    friend = make_customer(first_name="Amiga")
    r = api.post("/api/v1/loyalty/referrals", {"code": referrer.referral_code, "customer_id": friend.pk})
    assert r.status_code == 201 and r.json()["status"] == "pending"
    alias = make_customer(first_name="Yo", email=customer.email.upper())
    r = api.post("/api/v1/loyalty/referrals", {"code": referrer.referral_code, "customer_id": alias.pk})
    assert r.json()["status"] == "rejected" and r.json()["reason"]
    bad = api.post("/api/v1/loyalty/referrals", {"code": "NOEXISTE", "customer_id": friend.pk})
    assert bad.status_code == 422
