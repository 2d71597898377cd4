"""One earning rule: what the till's preview promises is what accrual credits.

The point-of-sale preview, order accrual and the rule simulator all call
`earning.points_for_basket`; these tests drive the preview through the API and accrual
through `order_record`, as a till does: a rule limited to a segment, the yearly cap, and
random baskets, rules, tiers and caps (Hypothesis), across the DST change and the turn
of the year.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fideliza.loyalty.models import (
    CauseType,
    EarningRule,
    EntryKind,
    LedgerEntry,
    Program,
    Rounding,
    RuleKind,
    Tier,
)
from fideliza.loyalty.simulator import simulate
from fideliza.segments.models import Segment, SegmentKind, SegmentMember

from .conftest import make_customer, make_order

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 5, 20, 12, 0, tzinfo=TZ)
_names = itertools.count(1)


def _segment(*customers) -> Segment:
    segment = Segment.objects.create(name=f"Clientes VIP {next(_names)}", kind=SegmentKind.STATIC,
                                     member_count=len(customers))
    SegmentMember.objects.bulk_create([SegmentMember(segment=segment, customer=c) for c in customers])
    return segment


def _earned(order) -> int:
    return LedgerEntry.objects.get(cause_type=CauseType.ORDER, cause_id=str(order.pk), kind=EntryKind.EARN).points


def _preview(api, customer, items) -> dict:
    r = api.post("/api/v1/loyalty/preview", {"customer_id": customer.pk,
                                             "lines": [{"sku": p.sku, "quantity": q} for p, q in items]})
    assert r.status_code == 200, r.content
    return r.json()


@time_machine.travel(NOW, tick=False)
def test_a_rule_limited_to_a_segment_shows_at_the_till(api, program, catalog):
    vip, other = make_customer(), make_customer()
    segment = _segment(vip)
    EarningRule.objects.create(program=program, name="Doble VIP", kind=RuleKind.PER_ORDER, points=100,
                               segment=segment)
    basket = [(catalog["nails"], 2)]  # 10 € → 10 points, +100 for the segment
    promised = {c.pk: _preview(api, c, basket)["points"] for c in (vip, other)}
    earned = {c.pk: _earned(make_order(c, basket, placed_at=timezone.now())) for c in (vip, other)}
    assert promised == earned == {vip.pk: 110, other.pk: 10}
    rules = {r["rule"] for r in _preview(api, vip, basket)["rules"]}
    assert "Doble VIP" in rules


@time_machine.travel(NOW, tick=False)
def test_the_yearly_cap_shows_at_the_till(api, program, catalog, customer):
    Program.objects.filter(pk=program.pk).update(max_points_per_member_year=500)
    make_order(customer, [(catalog["drill"], 1)], placed_at=NOW - timedelta(days=30))  # 300 points (3x)
    make_order(customer, [(catalog["drill"], 1)], placed_at=datetime(2025, 12, 1, tzinfo=TZ))  # last year's
    basket = [(catalog["drill"], 1)]  # 300 more, 200 left under the cap
    promised = _preview(api, customer, basket)
    assert (promised["points"], promised["capped"]) == (200, True)
    assert _earned(make_order(customer, basket, placed_at=timezone.now())) == 200
    after = _preview(api, customer, basket)
    assert (after["points"], after["capped"]) == (0, True)


@time_machine.travel(NOW, tick=False)
def test_the_simulator_counts_segment_rules_and_the_yearly_cap_as_accrual_does(program, catalog):
    Program.objects.filter(pk=program.pk).update(max_points_per_member_year=400)
    program.refresh_from_db()
    vip, other = make_customer(), make_customer()
    segment = _segment(vip)
    EarningRule.objects.create(program=program, name="Doble VIP", kind=RuleKind.PER_ORDER, points=100,
                               segment=segment)
    for day in (40, 30, 20):
        for c in (vip, other):
            make_order(c, [(catalog["hammer"], 2)], placed_at=NOW - timedelta(days=day))  # 120 (+100 VIP)
    accrued = sum(LedgerEntry.objects.filter(kind=EntryKind.EARN).values_list("points", flat=True))
    assert accrued == 400 + 360  # the VIP reaches the cap on the third order
    result = simulate(program=program, start=date(2026, 1, 1), end=NOW.date())
    assert result["current"].points == accrued


# --- the property: for any basket and rule set, the preview is what accrual credits --------

RULE = st.fixed_dictionaries({
    "kind": st.sampled_from([RuleKind.PER_AMOUNT, RuleKind.PER_AMOUNT, RuleKind.PER_ORDER, RuleKind.PER_UNIT]),
    "points": st.sampled_from([Decimal("0.5"), Decimal(1), Decimal(2), Decimal(10), Decimal("12.5")]),
    "multiplier": st.sampled_from([Decimal(1), Decimal("1.5"), Decimal(3)]),
    "scope": st.sampled_from([None, None, "tools", "paint_cat", "drill"]),
    "in_segment": st.sampled_from([None, True, False]),  # limited to a segment the customer is (not) in
    "min_purchase": st.sampled_from([None, None, Decimal(50)]),
    "channel": st.sampled_from(["", "", "store", "web"]),
})
ITEMS = st.lists(st.tuples(st.sampled_from(["drill", "hammer", "paint", "nails"]), st.integers(1, 5)),
                 min_size=1, max_size=4)
# The clock: an ordinary day, the spring DST change, the last and first half hours of a year
# (local year ≠ UTC year just after midnight on 1 January).
CLOCKS = [datetime(2026, 5, 20, 12, 0, tzinfo=TZ), datetime(2026, 3, 29, 3, 30, tzinfo=TZ),
          datetime(2025, 12, 31, 23, 40, tzinfo=TZ), datetime(2026, 1, 1, 0, 30, tzinfo=TZ)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(rules=st.lists(RULE, min_size=1, max_size=4), basket=ITEMS,
       history=st.lists(st.tuples(ITEMS, st.sampled_from([5, 45, 60 * 24, 60 * 24 * 40])), max_size=3),
       clock=st.sampled_from(CLOCKS), rounding=st.sampled_from(list(Rounding.values)),
       order_cap=st.sampled_from([None, None, 150]), year_cap=st.sampled_from([None, 300, 1200]),
       channel=st.sampled_from(["store", "web"]), with_tiers=st.booleans())
def test_preview_equals_accrual_for_any_basket(api, catalog, rules, basket, history, clock, rounding, order_cap,
                                               year_cap, channel, with_tiers):
    with time_machine.travel(clock, tick=False), transaction.atomic():
        program = Program.objects.create(name="Club", rounding=rounding, max_points_per_order=order_cap,
                                         max_points_per_member_year=year_cap, join_points=25)
        if with_tiers:
            for name, rank, threshold, mult in [("Bronce", 0, 0, "1"), ("Plata", 1, 100, "1.25"),
                                                ("Oro", 2, 400, "1.5")]:
                Tier.objects.create(program=program, name=name, rank=rank, threshold=threshold,
                                    earn_multiplier=Decimal(mult))
        customer = make_customer()
        mine, theirs = _segment(customer), _segment()
        for rule in rules:
            scope = catalog.get(rule["scope"]) if rule["scope"] else None
            EarningRule.objects.create(
                program=program, name=f"Regla {next(_names)}", kind=rule["kind"], points=rule["points"],
                multiplier=rule["multiplier"], min_purchase=rule["min_purchase"], channel=rule["channel"],
                category=scope if scope is not None and rule["scope"] != "drill" else None,
                product=scope if rule["scope"] == "drill" else None,
                segment={None: None, True: mine, False: theirs}[rule["in_segment"]])
        for items, minutes_ago in history:  # earlier purchases: the tier and the year's points so far
            make_order(customer, [(catalog[n], q) for n, q in items],
                       placed_at=clock - timedelta(minutes=minutes_ago), channel=channel)
        items = [(catalog[n], q) for n, q in basket]
        r = api.post("/api/v1/loyalty/preview", {"customer_id": customer.pk, "channel": channel,
                                                 "lines": [{"sku": p.sku, "quantity": q} for p, q in items]})
        assert r.status_code == 200, r.content
        order = make_order(customer, items, placed_at=timezone.now(), channel=channel)
        assert r.json()["points"] == _earned(order)
        transaction.set_rollback(True)
