import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fideliza.loyalty.models import Member, TierBasis, TierWindow
from fideliza.loyalty.selectors import tier_progress
from fideliza.loyalty.services import points_redeem
from fideliza.loyalty.tiers import tiers_review

from .conftest import make_order, make_return

pytestmark = pytest.mark.django_db


def tier_of(customer):
    m = Member.objects.select_related("tier").get(customer=customer)
    return m.tier.name if m.tier else None


def test_upgrade_is_immediate_and_multiplier_applies_to_next_order(program, tiers, catalog, customer):
    make_order(customer, [(catalog["nails"], 2)])  # 10 € → Bronce
    assert tier_of(customer) == "Bronce"
    make_order(customer, [(catalog["drill"], 2)])  # 210 € in 12 months → Plata at once
    assert tier_of(customer) == "Plata"
    make_order(customer, [(catalog["nails"], 20)])  # 100 € × 1 × 1.25
    m = Member.objects.get(customer=customer)
    assert m.entries.filter(kind="earn").order_by("-id").first().points == 125


def test_spending_points_does_not_cost_the_tier(program, tiers, catalog, customer, actor):
    make_order(customer, [(catalog["drill"], 3)])  # 300 € → Plata
    m = Member.objects.get(customer=customer)
    points_redeem(member=m, points=m.points_balance, idempotency_key="all", actor=actor)
    tiers_review(at=timezone.now() + timedelta(days=1))
    assert tier_of(customer) == "Plata"


def test_progress_explains_why_and_what_is_missing(program, tiers, catalog, customer):
    make_order(customer, [(catalog["drill"], 3)])
    p = tier_progress(Member.objects.get(customer=customer))
    assert p["tier"].name == "Plata" and p["next_tier"].name == "Oro"
    assert p["value"] == Decimal("300.00") and p["missing"] == Decimal("700.00")
    # Spend written as money in Spanish: decimal comma and the currency.
    assert "Plata" in p["why"] and "300,00\xa0€ de gasto" in p["why"] and re.search(r"umbral: [\d.]+,\d\d\xa0€", p["why"])
    assert "700,00\xa0€ de gasto" in p["next"] and "Oro" in p["next"]
    assert p["percent"] == 30


def test_tier_by_points_counts_earned_not_bonus(program, tiers, catalog, customer):
    program.tier_basis = TierBasis.POINTS
    program.join_points = 500  # a bonus: spendable, not tier-qualifying
    program.save()
    make_order(customer, [(catalog["nails"], 20)])  # 100 points
    assert tier_of(customer) == "Bronce"
    make_order(customer, [(catalog["hammer"], 2)])  # 120 points → 220 ≥ 200
    assert tier_of(customer) == "Plata"


@pytest.mark.parametrize(("policy", "expected"), [("never", "Oro"), ("period_end", "Bronce"),
                                                  ("one_level", "Plata")])
def test_downgrade_policies_at_period_end(program, tiers, catalog, customer, policy, expected):
    program.downgrade_policy = policy
    program.save()
    make_order(customer, [(catalog["drill"], 10)], placed_at=timezone.now() - timedelta(days=200))  # 1000 € → Oro
    assert tier_of(customer) == "Oro"
    assert tiers_review() == 0  # held for less than a period: nothing changes yet
    assert tier_of(customer) == "Oro"
    tiers_review(at=timezone.now() + timedelta(days=400))  # the 1000 € left the rolling window
    assert tier_of(customer) == expected


def test_calendar_year_keeps_last_years_tier(program, tiers, catalog, customer):
    program.tier_window = TierWindow.CALENDAR_YEAR
    program.save()
    now = timezone.localtime()
    last_year = now.replace(year=now.year - 1, month=6, day=15)
    make_order(customer, [(catalog["drill"], 10)], placed_at=last_year)
    assert tier_of(customer) == "Oro"
    tiers_review(at=now)  # this year: 0 €, but last year's 1000 € still count
    assert tier_of(customer) == "Oro"


def test_return_lowers_the_qualifying_amount(program, tiers, catalog, customer):
    order = make_order(customer, [(catalog["drill"], 3)])
    make_return(order, amount=Decimal("300.00"))
    p = tier_progress(Member.objects.get(customer=customer))
    assert p["value"] == 0
    assert p["tier"].name == "Plata"  # no downgrade before the period-end review
    assert "revisión" in p["why"]
