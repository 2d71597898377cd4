"""points_backfill commits batch by batch and resumes after a crash without accruing twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from fideliza.loyalty import services
from fideliza.loyalty.models import EarningRule, LedgerEntry, Member, Program, RuleKind
from fideliza.loyalty.selectors import ledger_check
from fideliza.loyalty.services import points_backfill

from .conftest import make_customer, make_order, make_return

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 3, 30, 12, 0, tzinfo=TZ)  # the day after the spring DST change


class Crash(Exception):
    pass


@pytest.fixture
def history(catalog):
    """Orders and returns recorded before the program existed (nothing accrued yet)."""
    with time_machine.travel(NOW, tick=False):
        customers = [make_customer() for _ in range(3)]
        orders = [make_order(customers[i % 3], [(catalog["drill"], 1 + i % 2), (catalog["nails"], i + 1)],
                             placed_at=NOW - timedelta(days=40 - 3 * i, hours=i)) for i in range(11)]
        for order in orders[::2]:
            make_return(order, amount=Decimal("20.00"), when=NOW - timedelta(days=1))
        program = Program.objects.create(name="Club", join_points=50, expiry_days=365,
                                         max_points_per_member_year=1500)
        EarningRule.objects.create(program=program, name="Base", kind=RuleKind.PER_AMOUNT, points=1)
        EarningRule.objects.create(program=program, name="Herramientas x3", kind=RuleKind.PER_AMOUNT, points=1,
                                   multiplier=3, category=catalog["tools"])
    assert not LedgerEntry.objects.exists()
    return orders


def _ledger() -> tuple:
    # A welcome bonus's cause is the membership id, which differs between runs (PostgreSQL
    # does not roll sequences back): the customer says whose it is.
    entries = sorted((customer, kind, cause, "" if cause == "join" else cause_id, points, amount)
                     for customer, kind, cause, cause_id, points, amount in LedgerEntry.objects.values_list(
                         "member__customer_id", "kind", "cause_type", "cause_id", "points", "qualifying_amount"))
    balances = sorted(Member.objects.values_list("customer_id", "points_balance"))
    return entries, balances


def _failing(monkeypatch, name: str, on_call: int) -> None:
    real = getattr(services, name)
    calls = {"n": 0}

    def wrapper(ids):
        calls["n"] += 1
        if calls["n"] == on_call:
            real(ids)  # the batch's writes happen, then the crash rolls them back
            raise Crash
        return real(ids)

    monkeypatch.setattr(services, name, wrapper)


@pytest.mark.parametrize(("step", "batch_done"), [("orders_accrue", 2), ("returns_clawback", 1)])
def test_a_crash_keeps_the_finished_batches_and_a_rerun_equals_a_clean_run(history, monkeypatch, step, batch_done):
    with time_machine.travel(NOW, tick=False):
        with transaction.atomic():  # the clean run, for comparison
            clean = points_backfill(batch=3)
            expected = _ledger()
            transaction.set_rollback(True)
        assert clean == (11, 6)

        with monkeypatch.context() as patch:
            _failing(patch, step, on_call=batch_done + 1)
            with pytest.raises(Crash):
                points_backfill(batch=3)
        # The batches before the crash were committed; the one that crashed left nothing.
        earned = LedgerEntry.objects.filter(kind="earn").count()
        reversed_ = LedgerEntry.objects.filter(kind="reverse").count()
        assert (earned, reversed_) == ((3 * batch_done, 0) if step == "orders_accrue" else (11, 3 * batch_done))
        assert ledger_check() == []

        resumed = points_backfill(batch=3)
        assert _ledger() == expected
        assert resumed == ((11 - 3 * batch_done, 6) if step == "orders_accrue" else (0, 6 - 3 * batch_done))
        assert ledger_check() == []
        assert points_backfill(batch=3) == (0, 0)
