"""Two workers running the daily cadence job at the same moment on PostgreSQL: every due
customer gets exactly one follow-up. Both the rule's row lock (the normal path) and the
partial unique index (any writer that skips the lock) are exercised with real concurrent
transactions, each thread on its own connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction

from fideliza.accounts.selectors import users_active
from fideliza.accounts.services import Actor
from fideliza.cadences.models import CadenceRule
from fideliza.cadences.selectors import rule_due
from fideliza.cadences.services import _rule_run, cadences_run
from fideliza.followups.models import FollowUp
from tests.factories.customers import customer_make

from .conftest import NOW, in_tier, rule_make

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers (IMMEDIATE transactions), no race to test")


@pytest.fixture
def many(shop, owner, rep):
    """Sixty more Platino customers, so the two runs overlap for a while."""
    program = shop.platino.program
    with time_machine.travel(NOW - timedelta(days=300), tick=False):
        for n in range(60):
            c = customer_make(actor=Actor.of(owner), first_name=f"Cliente {n}", account_executive=rep if n % 2 else None)
            in_tier(c, program, shop.platino, NOW - timedelta(days=300))
    return 64  # with the shop's four


def _at_once(work: Callable[[], Any], n: int = 2) -> list[Any]:
    go = threading.Barrier(n)

    def run() -> Any:
        try:
            go.wait()
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(n) as pool:
        return [f.result() for f in [pool.submit(run) for _ in range(n)]]


def test_two_schedulers_at_once_create_each_followup_once(shop, owner, many):
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
        results = _at_once(cadences_run, n=3)
    assert sorted(r[rule.pk] for r in results) == [0, 0, many]
    rows = FollowUp.objects.filter(origin_kind="cadence", origin_id=rule.pk)
    assert rows.count() == many
    assert rows.values("customer_id").distinct().count() == many


def test_without_the_rule_lock_the_unique_index_still_keeps_one_per_customer(shop, owner, many):
    """Two writers that skip the lock: B evaluates while A's follow-ups are inserted but not
    committed (so B finds every customer due), then inserts the same rows; B's insert waits
    for A's transaction and then skips every row."""
    inserted, b_evaluated = threading.Event(), threading.Event()
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
        people = set(users_active().values_list("pk", flat=True))

        def writer_a() -> int:
            try:
                with transaction.atomic():
                    created = _rule_run(CadenceRule.objects.get(pk=rule.pk), NOW, people)
                    inserted.set()
                    assert b_evaluated.wait(30)
                    time.sleep(0.3)  # B is now blocked on A's uncommitted index entries
                return created
            finally:
                connection.close()

        def writer_b() -> int:
            try:
                assert inserted.wait(30)
                with transaction.atomic():
                    seen_due = rule_due(CadenceRule.objects.get(pk=rule.pk), NOW.date()).count()
                    b_evaluated.set()
                    _rule_run(CadenceRule.objects.get(pk=rule.pk), NOW, people)
                return seen_due
            finally:
                connection.close()

        with ThreadPoolExecutor(2) as pool:
            a, b = pool.submit(writer_a), pool.submit(writer_b)
            assert (a.result(), b.result()) == (many, many)
    rows = FollowUp.objects.filter(origin_kind="cadence", origin_id=rule.pk)
    assert rows.count() == many
    assert rows.values("customer_id").distinct().count() == many
