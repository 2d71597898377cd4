"""The rule simulator: "if this rule had run last year: points issued, cost, members per
tier". Replays the period's real orders through `points_for_basket`, the function accrual
uses, with the program's current rules and with them plus a candidate rule: segment-limited
rules count for the customers in the segment today, and the per-order and yearly caps
apply (the yearly one counted from the start of the simulated period). Tier multipliers
are left out: they depend on the path, not the rule. Reads only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.utils import timezone

from fideliza.core.money import quantize_money
from fideliza.sales.selectors import order_facts, order_ids_placed

from .earning import Earner, EarningTerms, LineIn, OrderIn, RuleSpec, points_for_basket
from .models import Program, Tier, TierBasis
from .services import earners_load, program_rule_specs
from .tiers import qualified_tier

CHUNK = 5000


@dataclass(frozen=True)
class Scenario:
    points: int
    cost: Decimal
    tiers: list[tuple[str, int]]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (datetime.combine(start, time.min, tzinfo=tz), datetime.combine(end, time.max, tzinfo=tz))


def simulate(*, program: Program, start: date, end: date, extra: RuleSpec | None = None) -> dict[str, Any]:
    """Points, cost and tier distribution of [start, end] with the current rules and with
    `extra` added."""
    base_rules = program_rule_specs(program)
    scenarios = {"current": base_rules, "with_rule": [*base_rules, extra] if extra else None}
    every_rule = [*base_rules, *([extra] if extra else [])]
    terms = EarningTerms.of(program)
    lo, hi = _bounds(start, end)
    ids = order_ids_placed(since=lo, until=hi)
    points = {"current": 0, "with_rule": 0}
    per_customer: dict[str, dict[int, Decimal]] = {"current": defaultdict(Decimal), "with_rule": defaultdict(Decimal)}
    earners: dict[str, dict[int, Earner]] = {"current": {}, "with_rule": {}}
    revenue = Decimal(0)
    customers: set[int] = set()
    for offset in range(0, len(ids), CHUNK):
        chunk = ids[offset:offset + CHUNK]
        rows, facts = order_facts(chunk)
        lines = {oid: [LineIn(product_id=pid, category_id=cid, quantity=qty, amount=amount)
                       for pid, cid, qty, amount in found] for oid, found in facts.items()}
        orders = sorted((o["placed_at"], o["id"], o["customer_id"], o["channel"], o["store_id"], o["total"])
                        for o in rows)
        new = sorted({row[2] for row in orders} - customers)
        loaded = earners_load(program, every_rule, [], new, {})
        for name in earners:
            earners[name].update((cid, Earner(segment_ids=e.segment_ids)) for cid, e in loaded.items())
        for placed, oid, cust, channel, store, total in orders:
            revenue += total
            customers.add(cust)
            order = OrderIn(placed_on=timezone.localdate(placed), channel=channel, store_id=store, total=total,
                            lines=lines.get(oid, ()))
            for name, rules in scenarios.items():
                if rules is None:
                    continue
                earner = earners[name][cust]
                earned = points_for_basket(order, rules, terms, earner).points
                earner.record(order, earned)
                points[name] += earned
                per_customer[name][cust] += Decimal(earned) if program.tier_basis == TierBasis.POINTS else total
    tiers = list(Tier.objects.filter(program=program).order_by("rank"))

    def scenario(name: str) -> Scenario | None:
        if scenarios[name] is None:
            return None
        counts: dict[str, int] = defaultdict(int)
        for value in per_customer[name].values():
            tier = qualified_tier(tiers, value)
            counts[tier.name if tier else "—"] += 1
        order_names = ["—", *[t.name for t in tiers]]
        return Scenario(points=points[name], cost=quantize_money(Decimal(points[name]) * program.point_value),
                        tiers=[(n, counts.get(n, 0)) for n in order_names if n in counts or n != "—"])

    current, with_rule = scenario("current"), scenario("with_rule")
    shown = with_rule or current
    return {
        "orders": len(ids), "customers": len(customers), "revenue": quantize_money(revenue),
        "current": current, "with_rule": with_rule,
        "extra_points": (with_rule.points - current.points) if with_rule and current else None,
        "extra_cost": (with_rule.cost - current.cost) if with_rule and current else None,
        "cost_share": (quantize_money(shown.cost * 100 / revenue) if revenue and shown else None),
    }
