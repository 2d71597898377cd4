"""Races across real processes on PostgreSQL: a gunicorn server with several worker
processes serves the test database, and several client processes release their requests
together, so that redemptions of the same balance, the same coupon and the same
customer's limit really overlap in different server processes (test_concurrency.py races
threads of one process; this is the deployment shape).

One server for the module: it holds no state between tests (every request opens its own
database connection), and each test writes its data through the services first.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from fideliza.accounts.services import Actor, api_token_create
from fideliza.catalog.models import Product
from fideliza.loyalty.coupons import coupon_create
from fideliza.loyalty.models import (
    Coupon,
    CouponRedemption,
    EntryKind,
    LedgerEntry,
    Member,
    Program,
)
from fideliza.loyalty.selectors import ledger_check
from fideliza.loyalty.services import member_enroll, points_adjust

from .conftest import make_customer
from .processes import Call, Clients, Gunicorn, Reply, database_url, max_in_flight

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ACTOR = Actor.system("tests")
# The gunicorn workers are other processes, on the real clock: so is this module (conftest).
REAL_CLOCK = "server processes record and redeem at the real time; a pin here would split the clocks"
WORKERS = 4  # gunicorn worker processes
CLIENTS = 4  # client processes


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    # Module-scoped, so it runs before the function-scoped postgres_only skip: skip here too.
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no row locks for concurrent writers, "
                    "and this test runs gunicorn worker processes on the test database")
    gunicorn = Gunicorn(database_url=database_url(connection.settings_dict),
                        workdir=tmp_path_factory.mktemp("gunicorn"), workers=WORKERS, threads=4)
    try:
        started = time.monotonic()
        gunicorn.start()
        print(f"\ngunicorn with {WORKERS} workers ready in {time.monotonic() - started:.1f}s")
        yield gunicorn
    finally:
        gunicorn.stop()


@pytest.fixture(scope="module")
def clients(server):
    clients = Clients(CLIENTS)
    try:
        yield clients
    finally:
        clients.close()


@pytest.fixture
def token(owner) -> str:
    return api_token_create(user=owner, name="TPV concurrente", created_by=owner)[1]


def fire(server: Gunicorn, clients: Clients, calls: list[Call]) -> list[Reply]:
    """The burst, failing loudly (with the server's log) on any transport error or 5xx."""
    before = len(server.access_lines())
    started = time.monotonic()
    replies = clients.burst(server.base_url, calls)
    elapsed = time.monotonic() - started
    broken = [r for r in replies if r.error or r.status >= 500 or r.status == 0]
    assert not broken, (
        f"{len(broken)} of {len(replies)} requests failed: "
        + "; ".join(f"{r.status} {r.error or ' '.join(r.text.split())[:200]}" for r in broken[:3])
        + "\n" + server.log_tail())
    posts = burst_access_lines(server, before, len(calls))
    spread = Counter(line[0] for line in posts)
    times = sorted(int(line[4]) / 1000 for line in posts)
    served = max(r.finished for r in replies) - min(r.started for r in replies)
    print(f"\n{len(calls)} requests from {CLIENTS} client processes: {served:.2f}s from release to last "
          f"reply ({elapsed:.2f}s including the exchange with the client processes); "
          f"at most {max_in_flight(replies)} in flight; "
          f"per server worker: {sorted(spread.values(), reverse=True)}; time in server "
          f"median {times[len(times) // 2]:.0f} ms, max {times[-1]:.0f} ms")
    # Several server processes took part (not one worker serialising everything).
    assert len(spread) >= 2, f"one worker served the whole burst: {spread}"
    return replies


def burst_access_lines(server: Gunicorn, before: int, expected: int) -> list[list[str]]:
    """This burst's POSTs in the access log (a line is written just after its response,
    so wait a moment for the last ones)."""
    deadline = time.monotonic() + 5
    while True:
        posts = [line for line in server.access_lines()[before:] if line[2] == "POST"]
        if len(posts) >= expected or time.monotonic() > deadline:
            return posts
        time.sleep(0.05)


def statuses(replies: list[Reply]) -> Counter[int]:
    return Counter(r.status for r in replies)


def member_with(points: int) -> Member:
    program = Program.objects.create(name="Club", join_points=0)
    member = member_enroll(program=program, customer=make_customer(), actor=ACTOR)
    points_adjust(member=member, points=points, reason="saldo inicial", actor=ACTOR)
    return member


class BalanceWatcher(threading.Thread):
    """Reads the member's balance through the API over and over while the burst runs:
    what a till would show mid-race must never be negative nor go back up."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        self.stop = threading.Event()
        self.seen: list[tuple[int, int]] = []
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(self.request, timeout=30) as response:
                    data = json.loads(response.read())
                self.seen.append((data["balance"], data["spendable"]))
            except Exception as exc:  # reported by the test
                self.errors.append(repr(exc))
            time.sleep(0.1)  # a till's refresh rate, not a load test of the read endpoint


def test_200_redemptions_of_one_point_against_100_from_several_processes(server, clients, token):
    member = member_with(100)
    path = f"/api/v1/loyalty/members/{member.customer_id}/redeem"
    auth = {"Authorization": f"Bearer {token}"}
    calls = [Call("POST", path, {"points": 1}, {**auth, "Idempotency-Key": f"proc-{i}"}) for i in range(200)]

    watcher = BalanceWatcher(f"{server.base_url}/api/v1/loyalty/members/{member.customer_id}", token)
    watcher.start()
    try:
        replies = fire(server, clients, calls)
    finally:
        watcher.stop.set()
        watcher.join(timeout=35)

    assert statuses(replies) == {201: 100, 409: 100}, statuses(replies)
    refusals = [r.json() for r in replies if r.status == 409]
    assert {body["type"] for body in refusals} == {"insufficient_points"}
    assert all(body["detail"] for body in refusals)
    # Each success saw a different balance: the 100 spends were serialised, none lost.
    assert sorted(r.json()["balance_after"] for r in replies if r.status == 201) == list(range(100))

    member.refresh_from_db()
    assert member.points_balance == 0
    entries = LedgerEntry.objects.filter(member=member)
    assert entries.filter(kind=EntryKind.REDEEM).count() == 100
    assert min(entries.values_list("balance_after", flat=True)) == 0  # never below zero
    assert ledger_check() == []

    assert not watcher.errors, watcher.errors[:3]
    assert watcher.seen, "the watcher never read the balance"
    balances = [balance for balance, _spendable in watcher.seen]
    assert min(balances) >= 0 and min(s for _b, s in watcher.seen) >= 0
    assert balances == sorted(balances, reverse=True), "the balance went back up mid-race"
    print(f"watcher: {len(balances)} reads mid-race, from {balances[0]} down to {balances[-1]}")


def _checkout(token: str, code: str, customer_id: int, reference: str) -> Call:
    return Call("POST", "/api/v1/loyalty/coupons/redeem",
                {"code": code, "customer_id": customer_id, "order_reference": reference,
                 "lines": [{"sku": "CAF-1", "quantity": "1"}]},
                {"Authorization": f"Bearer {token}", "Idempotency-Key": f"k-{reference}"})


def test_single_use_coupon_under_50_checkouts_from_several_processes_10_rounds(server, clients, token):
    Product.objects.create(sku="CAF-1", name="Cafetera", list_price=Decimal("50.00"))
    customers = [make_customer() for _ in range(50)]
    for round_no in range(10):
        coupon = coupon_create(actor=ACTOR, name=f"Un solo uso {round_no}", value=Decimal("10"), max_uses=1,
                               max_uses_per_customer=None)
        calls = [_checkout(token, coupon.code, c.pk, f"r{round_no}-{i}") for i, c in enumerate(customers)]
        replies = fire(server, clients, calls)

        assert statuses(replies) == {201: 1, 409: 49}, (round_no, statuses(replies))
        assert {r.json()["type"] for r in replies if r.status == 409} == {"coupon_exhausted"}
        (won,) = [r for r in replies if r.status == 201]
        assert Decimal(won.json()["discount"]) == Decimal("10")
        coupon.refresh_from_db()
        assert coupon.uses_count == 1
        (redemption,) = CouponRedemption.objects.filter(coupon=coupon)
        assert redemption.customer_id == won.call.body["customer_id"]
        assert redemption.order_reference == won.call.body["order_reference"]


def test_per_customer_limit_under_checkouts_from_several_processes(server, clients, token):
    """Ten customers, six simultaneous checkouts each, two uses allowed per customer."""
    Product.objects.create(sku="CAF-1", name="Cafetera", list_price=Decimal("50.00"))
    customers = [make_customer() for _ in range(10)]
    coupon = coupon_create(actor=ACTOR, name="Dos por cliente", value=Decimal("5"), max_uses=None,
                           max_uses_per_customer=2)
    calls = [_checkout(token, coupon.code, c.pk, f"c{c.pk}-{n}") for n in range(6) for c in customers]
    replies = fire(server, clients, calls)

    assert statuses(replies) == {201: 20, 409: 40}, statuses(replies)
    assert {r.json()["type"] for r in replies if r.status == 409} == {"coupon_customer_limit"}
    wins = Counter(r.call.body["customer_id"] for r in replies if r.status == 201)
    assert wins == {c.pk: 2 for c in customers}
    per_customer = Counter(CouponRedemption.objects.filter(coupon=coupon).values_list("customer_id", flat=True))
    assert per_customer == {c.pk: 2 for c in customers}
    assert Coupon.objects.get(pk=coupon.pk).uses_count == 20


def test_one_redemption_retried_from_many_tills_at_once_spends_once(server, clients, token):
    """The same Idempotency-Key from 20 processes' requests at once (a till retrying over a
    flaky network, landing on different workers): one spend, 19 replays of the same body."""
    member = member_with(100)
    call = Call("POST", f"/api/v1/loyalty/members/{member.customer_id}/redeem", {"points": 40},
                {"Authorization": f"Bearer {token}", "Idempotency-Key": "venta-42"})
    replies = fire(server, clients, [call] * 20)

    assert statuses(replies) == {201: 20}, statuses(replies)
    assert len({r.text for r in replies}) == 1, {r.text for r in replies}
    assert Counter(r.headers.get("idempotent-replayed") for r in replies) == {None: 1, "true": 19}
    member.refresh_from_db()
    assert member.points_balance == 60
    assert LedgerEntry.objects.filter(member=member, kind=EntryKind.REDEEM).count() == 1
    assert ledger_check() == []
