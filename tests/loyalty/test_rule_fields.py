"""Segment rules over points: loyalty registers the field with segments (segments sit below)."""

import pytest

from fideliza.customers.models import Customer
from fideliza.loyalty.models import Member
from fideliza.segments.rules import FIELDS, compile_rules

from .conftest import make_customer, make_order

pytestmark = pytest.mark.django_db


def _matching(rule: dict) -> set[int]:
    return set(Customer.objects.filter(compile_rules(rule)).values_list("pk", flat=True))


def test_points_balance_rule_counts_every_membership_and_none_as_zero(program, catalog):
    buyer, stranger = make_customer(), make_customer()
    make_order(buyer, [(catalog["hammer"], 1)])
    balance = Member.objects.get(customer=buyer).points_balance
    assert balance > 0
    assert "points_balance" in FIELDS and FIELDS["points_balance"].group == "behaviour"
    assert _matching({"field": "points_balance", "cmp": "gte", "value": balance}) == {buyer.pk}
    assert _matching({"field": "points_balance", "cmp": "lte", "value": 0}) == {stranger.pk}
    assert _matching({"field": "points_balance", "cmp": "between",
                      "value": [1, balance]}) == {buyer.pk}
