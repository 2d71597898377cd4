from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from fideliza.loyalty.models import Coupon, EarningRule, Member, Program, Reward, Tier
from fideliza.loyalty.services import points_adjust

from .conftest import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, owner):
    client.force_login(owner)
    return client


def test_home_shows_rules_tiers_and_liability(web, program, tiers, catalog, customer):
    make_order(customer, [(catalog["drill"], 1)])
    html = web.get(reverse("loyalty:home")).content.decode()
    assert "Herramientas x3" in html and "Platino" in html
    assert 'id="liability-points">350<' in html


def test_rule_form_creates_a_rule_with_audit(web, program, catalog):
    url = reverse("loyalty:rule_create", args=[program.pk])
    r = web.post(url, {"name": "Clavos x5", "kind": "per_amount", "points": "1", "multiplier": "5",
                       "category": catalog["misc"].pk, "is_active": "on"})
    assert r.status_code == 302
    assert EarningRule.objects.get(name="Clavos x5").multiplier == 5
    bad = web.post(url, {"name": "Mal", "kind": "per_amount", "points": "1", "multiplier": "0", "is_active": "on"})
    assert bad.status_code == 200 and "form-errors" in bad.content.decode()
    assert not EarningRule.objects.filter(name="Mal").exists()


def test_support_cannot_configure(client, django_user_model, program):
    user = django_user_model.objects.create_user(username="sop", password="x", role="support")
    client.force_login(user)
    assert client.get(reverse("loyalty:home")).status_code == 403
    assert client.get(reverse("loyalty:rewards")).status_code == 200


def test_simulator_compares_a_new_rule_with_the_current_ones(web, program, tiers, catalog, customer):
    make_order(customer, [(catalog["paint"], 1)])  # 30 € of paint: 60 points now
    today = timezone.localdate()
    r = web.get(reverse("loyalty:simulator"), {"start": today.replace(year=today.year - 1), "end": today,
                                               "kind": "per_amount", "points": "1", "multiplier": "4",
                                               "category": catalog["paint_cat"].pk})
    result = r.context["result"]
    assert result["orders"] == 1 and result["current"].points == 60
    assert result["with_rule"].points == 120 and result["extra_cost"] == Decimal("0.60")
    assert dict(result["current"].tiers)["Bronce"] == 1


def test_coupon_page_creates_unique_codes(web):
    r = web.post(reverse("loyalty:coupons"), {"name": "Vuelve", "source": "recovery", "kind": "amount", "value": "5",
                                              "quantity": "3", "max_uses": "1", "max_uses_per_customer": "1",
                                              "min_purchase": "0"})
    assert r.status_code == 200
    codes = set(Coupon.objects.values_list("code", flat=True))
    assert len(codes) == 3 and all(len(c) == 14 for c in codes)


def test_member_card_tag_and_redeem_from_the_card(web, program, tiers, catalog, customer, actor):
    make_order(customer, [(catalog["drill"], 1)])
    points_adjust(member=Member.objects.get(customer=customer), points=100, reason="regalo", actor=actor)
    reward = Reward.objects.create(program=program, name="Vale 5 €", points_cost=400, value=5)
    html = Template("{% load loyalty %}{% loyalty_member_card customer %}").render(Context({"customer": customer}))
    assert 'id="loyalty-points">450<' in html and "Bronce" in html and "Vale 5 €" in html
    url = reverse("loyalty:member_redeem_reward", args=[customer.pk])
    web.post(url, {"reward": reward.pk, "idempotency_key": "form-1"})
    web.post(url, {"reward": reward.pk, "idempotency_key": "form-1"})  # double submit
    assert Member.objects.get(customer=customer).points_balance == 50
    coupon = Coupon.objects.get(customer=customer)
    html = Template("{% load loyalty %}{% loyalty_member_card customer %}").render(Context({"customer": customer}))
    assert coupon.code in html


def test_referrals_page(web, program):
    assert web.get(reverse("loyalty:referrals")).status_code == 200


def test_adjust_from_the_card_is_once_per_form_and_never_negative(web, program, catalog, customer):
    make_order(customer, [(catalog["nails"], 1)])  # 55
    url = reverse("loyalty:member_adjust", args=[customer.pk])
    web.post(url, {"points": "20", "reason": "compensación", "idempotency_key": "adj-1"})
    web.post(url, {"points": "20", "reason": "compensación", "idempotency_key": "adj-1"})
    assert Member.objects.get(customer=customer).points_balance == 75
    r = web.post(url, {"points": "-100", "reason": "error", "idempotency_key": "adj-2"}, follow=True)
    assert "Saldo insuficiente" in r.content.decode()
    assert Member.objects.get(customer=customer).points_balance == 75


def test_reward_form_offers_only_the_programs_tiers(web, program, tiers):
    other = Program.objects.create(name="Otro club", point_value=Decimal("0.01"))
    Tier.objects.create(program=other, name="Ajeno", rank=0, threshold=0, earn_multiplier=1)
    form = web.get(reverse("loyalty:reward_create")).context["form"]
    assert sorted(t.name for t in form.fields["min_tier"].queryset) == sorted(t.name for t in tiers)
