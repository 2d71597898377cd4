"""Random sequences of earn / redeem / expire / return / adjust / replayed events, with
the ledger's invariants checked after every step."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from fideliza.core.money import quantize_money
from fideliza.loyalty.expiry import points_expire
from fideliza.loyalty.models import CauseType, EntryKind, LedgerEntry, Member, PointLot
from fideliza.loyalty.selectors import ledger_check, points_spendable
from fideliza.loyalty.services import InsufficientPoints, _share, points_adjust, points_redeem
from fideliza.sales.hooks import run_orders_recorded, run_returns_recorded

from .conftest import make_customer, make_order, make_return

pytestmark = pytest.mark.django_db

ACTOR = None  # set in the test (Actor needs Django ready)


class LedgerMachine(RuleBasedStateMachine):
    products: dict = {}

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.clock = timezone.now()
        self._travel = time_machine.travel(self.clock, tick=False)
        self._travel.start()
        self.customer = make_customer()
        self.orders: list = []          # (order, earned)
        self.refunded: dict[int, Decimal] = {}
        self.keys = 0
        self.last_redeem: tuple[str, int] | None = None

    def teardown(self) -> None:
        self._travel.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @property
    def member(self) -> Member | None:
        return Member.objects.filter(customer=self.customer).first()

    def _balance(self) -> int:
        m = self.member
        return m.points_balance if m else 0

    @initialize()
    def start(self):
        pass

    @rule(items=st.lists(st.tuples(st.sampled_from(["drill", "hammer", "paint", "nails"]),
                                   st.integers(min_value=1, max_value=4)), min_size=1, max_size=3),
          days_ago=st.integers(min_value=0, max_value=40))
    def earn(self, items, days_ago):
        order = make_order(self.customer, [(self.products[name], q) for name, q in items],
                           placed_at=timezone.now() - timedelta(days=days_ago, minutes=1))
        entry = LedgerEntry.objects.get(cause_type=CauseType.ORDER, cause_id=str(order.pk), kind=EntryKind.EARN)
        assert entry.points >= 0
        self.orders.append((order, entry.points))

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(min_value=0, max_value=10 ** 6))
    def replay_order(self, pick):
        order, _earned = self.orders[pick % len(self.orders)]
        before = self._balance()
        count = LedgerEntry.objects.count()
        run_orders_recorded([order.pk])
        assert self._balance() == before, "a replayed order must award nothing"
        assert LedgerEntry.objects.count() == count

    @precondition(lambda self: self.orders)
    @rule(pick=st.integers(min_value=0, max_value=10 ** 6), fraction=st.sampled_from(["0.25", "0.5", "1"]))
    def return_order(self, pick, fraction):
        order, earned = self.orders[pick % len(self.orders)]
        already = self.refunded.get(order.pk, Decimal(0))
        left = order.total - already
        amount = quantize_money(left * Decimal(fraction))
        if amount <= 0:
            return
        ret = make_return(order, amount=amount)
        self.refunded[order.pk] = already + amount
        before = self._balance()
        run_returns_recorded([ret.pk])  # a replayed return takes nothing more
        assert self._balance() == before
        reversals = LedgerEntry.objects.filter(
            kind=EntryKind.REVERSE, cause_type=CauseType.RETURN,
            cause_id__in=[str(r) for r in order.returns.values_list("pk", flat=True)])
        intended = sum(-e.points + e.shortfall for e in reversals)
        assert intended == _share(earned, self.refunded[order.pk], order.total)
        if self.refunded[order.pk] >= order.total:
            assert intended == earned, "a full return claws back exactly what the order earned"

    @precondition(lambda self: self.member is not None)
    @rule(points=st.integers(min_value=1, max_value=400))
    def redeem(self, points):
        member = self.member
        spendable = points_spendable(member)
        self.keys += 1
        key = f"k{self.keys}"
        try:
            points_redeem(member=member, points=points, idempotency_key=key, actor=ACTOR)
        except InsufficientPoints:
            assert points > spendable
            return
        assert points <= spendable
        self.last_redeem = (key, points)

    @precondition(lambda self: self.last_redeem is not None)
    @rule()
    def replay_redeem(self):
        key, points = self.last_redeem
        before = self._balance()
        points_redeem(member=self.member, points=points, idempotency_key=key, actor=ACTOR)
        assert self._balance() == before, "a replayed redemption spends nothing"

    @precondition(lambda self: self.member is not None)
    @rule(points=st.integers(min_value=-300, max_value=300).filter(bool))
    def adjust(self, points):
        member = self.member
        try:
            points_adjust(member=member, points=points, reason="prueba", actor=ACTOR)
        except InsufficientPoints:
            assert -points > member.points_balance

    @rule(days=st.integers(min_value=1, max_value=200))
    def advance_and_expire(self, days):
        self._travel.stop()
        self.clock += timedelta(days=days)
        self._travel = time_machine.travel(self.clock, tick=False)
        self._travel.start()
        points_expire()
        assert not PointLot.objects.filter(expires_at__lte=timezone.now(), points_remaining__gt=0).exists()

    @invariant()
    def ledger_is_consistent(self):
        member = self.member
        if member is None:
            return
        assert member.points_balance >= 0
        assert ledger_check([member.pk]) == []
        assert LedgerEntry.objects.filter(member=member, kind=EntryKind.EARN).count() == len(self.orders)


def test_ledger_state_machine(program, catalog):
    global ACTOR
    from fideliza.accounts.services import Actor

    ACTOR = Actor.system("tests")
    program.expiry_days = 60
    program.save()
    LedgerMachine.products = {k: catalog[k] for k in ("drill", "hammer", "paint", "nails")}
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=15, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
