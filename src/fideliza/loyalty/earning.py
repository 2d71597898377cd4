"""How many points an order earns: pure functions over plain values (no queries).

`points_for_basket` is the one implementation of the earning rule: order accrual
(`services.orders_accrue`, per order and in bulk), the point-of-sale basket preview and
the rule simulator all call it, each with the earner's state loaded set-based by
`services.earners_load` (tier multiplier, segments, points already earned in the year),
so the three can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_UP, Decimal

from .models import EarningRule, Program, Rounding, RuleKind

_ROUNDING: dict[str, str] = {Rounding.DOWN: ROUND_DOWN, Rounding.HALF_UP: ROUND_HALF_UP, Rounding.UP: ROUND_CEILING}


@dataclass(frozen=True)
class LineIn:
    product_id: int | None
    category_id: int | None
    quantity: Decimal
    amount: Decimal  # what the customer paid for the line, after its discount


@dataclass(frozen=True)
class OrderIn:
    placed_on: date  # local date of the purchase
    channel: str
    store_id: int | None
    total: Decimal
    lines: Sequence[LineIn]


@dataclass(frozen=True)
class RuleSpec:
    id: int
    name: str
    kind: str
    points: Decimal
    multiplier: Decimal
    category_ids: frozenset[int] | None  # the rule's category and all its descendants
    product_id: int | None
    channel: str
    store_id: int | None
    min_purchase: Decimal | None
    starts_on: date | None
    ends_on: date | None
    segment_id: int | None = None

    def matches_order(self, order: OrderIn, segment_ids: frozenset[int] = frozenset()) -> bool:
        if self.starts_on and order.placed_on < self.starts_on:
            return False
        if self.ends_on and order.placed_on > self.ends_on:
            return False
        if self.channel and order.channel != self.channel:
            return False
        if self.store_id and order.store_id != self.store_id:
            return False
        if self.segment_id and self.segment_id not in segment_ids:
            return False
        return not (self.min_purchase is not None and order.total < self.min_purchase)

    def matches_line(self, line: LineIn) -> bool:
        if self.product_id and line.product_id != self.product_id:
            return False
        return not (self.category_ids is not None and line.category_id not in self.category_ids)

    @property
    def rate(self) -> Decimal:
        return self.points * self.multiplier


@dataclass
class Earning:
    points: int
    raw: Decimal
    capped: bool = False
    by_rule: dict[int, Decimal] = field(default_factory=dict)
    best_rule_id: int | None = None


def category_descendants(parents: Mapping[int, int | None]) -> dict[int, frozenset[int]]:
    """{category id: itself and every descendant} from {id: parent id}."""
    children: dict[int, list[int]] = {}
    for cid, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(cid)
    out: dict[int, frozenset[int]] = {}
    for root in parents:
        seen, stack = {root}, [root]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        out[root] = frozenset(seen)
    return out


def rule_specs(rules: Iterable[EarningRule], descendants: Mapping[int, frozenset[int]]) -> list[RuleSpec]:
    return [
        RuleSpec(
            id=r.pk, name=r.name, kind=r.kind, points=r.points, multiplier=r.multiplier,
            category_ids=(descendants.get(r.category_id, frozenset({r.category_id}))
                          if r.category_id else None),
            product_id=r.product_id, channel=r.channel, store_id=r.store_id,
            min_purchase=r.min_purchase, starts_on=r.starts_on, ends_on=r.ends_on,
            segment_id=r.segment_id,
        )
        for r in rules if r.is_active
    ]


def round_points(value: Decimal, rounding: str) -> int:
    return int(value.quantize(Decimal(1), rounding=_ROUNDING.get(rounding, ROUND_DOWN)))


@dataclass(frozen=True)
class EarningTerms:
    """The program's limits on what a basket earns."""

    rounding: str = Rounding.DOWN
    max_per_order: int | None = None
    max_per_member_year: int | None = None

    @classmethod
    def of(cls, program: Program) -> EarningTerms:
        # An empty yearly cap, or 0, is no cap.
        return cls(rounding=program.rounding, max_per_order=program.max_points_per_order,
                   max_per_member_year=program.max_points_per_member_year or None)


@dataclass
class Earner:
    """What the customer's own state adds to the rules: the tier multiplier (members), the
    segments the rules name that the customer belongs to, and the points already earned
    per local year (for the yearly cap; `record` adds each accrued order)."""

    tier_multiplier: Decimal = Decimal(1)
    segment_ids: frozenset[int] = frozenset()
    earned_by_year: dict[int, int] = field(default_factory=dict)

    def record(self, order: OrderIn, points: int) -> None:
        year = order.placed_on.year
        self.earned_by_year[year] = self.earned_by_year.get(year, 0) + points


def points_for_basket(order: OrderIn, rules: Sequence[RuleSpec], terms: EarningTerms,
                      earner: Earner | None = None) -> Earning:
    """Points one order or till basket earns.

    Each line earns with its best matching per-amount rule (rules compete, they do not
    add up: "3x in this category, 1x elsewhere"); per-unit and per-order rules add. Rules
    limited to a segment count only for its members. The tier multiplier applies to the
    sum, rounding once at the end, then the per-order cap, then what is left of the
    yearly cap (`earner.earned_by_year` for the order's year). Writes nothing: the
    accrual calls `earner.record` after crediting the points.
    """
    earner = earner or Earner()
    segments = earner.segment_ids
    applicable = [r for r in rules if r.matches_order(order, segments)]
    per_amount = [r for r in applicable if r.kind == RuleKind.PER_AMOUNT]
    by_rule: dict[int, Decimal] = {}
    for line in order.lines:
        if line.amount <= 0:
            continue
        best = max((r for r in per_amount if r.matches_line(line)), key=lambda r: r.rate, default=None)
        if best is not None:
            by_rule[best.id] = by_rule.get(best.id, Decimal(0)) + line.amount * best.rate
        for r in applicable:
            if r.kind == RuleKind.PER_UNIT and r.matches_line(line) and line.quantity > 0:
                by_rule[r.id] = by_rule.get(r.id, Decimal(0)) + line.quantity * r.rate
    for r in applicable:
        if r.kind == RuleKind.PER_ORDER and (
            (r.product_id is None and r.category_ids is None)
            or any(r.matches_line(line) for line in order.lines)
        ):
            by_rule[r.id] = by_rule.get(r.id, Decimal(0)) + r.rate
    raw = sum(by_rule.values(), Decimal(0)) * earner.tier_multiplier
    points = max(round_points(raw, terms.rounding), 0)
    capped = False
    if terms.max_per_order is not None and points > terms.max_per_order:
        points, capped = terms.max_per_order, True
    if terms.max_per_member_year is not None:
        room = max(0, terms.max_per_member_year - earner.earned_by_year.get(order.placed_on.year, 0))
        if points > room:
            points, capped = room, True
    best_rule = max(by_rule, key=lambda k: by_rule[k], default=None)
    return Earning(points=points, raw=raw, capped=capped, by_rule=by_rule, best_rule_id=best_rule)
