"""Races on PostgreSQL: many threads, each with its own database connection, hitting
the same balance, the same coupon, the same customer limit at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from fideliza.accounts.services import Actor
from fideliza.loyalty.coupons import (
    Basket,
    BasketLine,
    CouponRefused,
    coupon_create,
    coupon_redeem,
    reward_redeem,
)
from fideliza.loyalty.models import (
    Coupon,
    CouponRedemption,
    EntryKind,
    LedgerEntry,
    Member,
    Program,
    Reward,
)
from fideliza.loyalty.selectors import ledger_check
from fideliza.loyalty.services import (
    InsufficientPoints,
    member_enroll,
    points_adjust,
    points_redeem,
)

from .conftest import make_customer

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ACTOR = Actor.system("tests")


def race(fn, n: int, workers: int = 25) -> list[tuple[str, object]]:
    """Run fn(0..n-1) on `workers` threads released together; classify each outcome."""
    go = threading.Event()

    def one(i: int):
        go.wait()
        try:
            return ("ok", fn(i))
        except (InsufficientPoints, CouponRefused) as exc:
            return ("refused", exc)
        except Exception as exc:  # anything else is a bug the test must show
            return ("error", repr(exc))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(one, i) for i in range(n)]
        go.set()
        return [f.result() for f in futures]


def outcome_counts(results):
    return {kind: sum(1 for k, _v in results if k == kind) for kind in ("ok", "refused", "error")}


def member_with(points: int) -> Member:
    program = Program.objects.create(name="Club", join_points=0)
    member = member_enroll(program=program, customer=make_customer(), actor=ACTOR)
    points_adjust(member=member, points=points, reason="saldo inicial", actor=ACTOR)
    return member


def test_200_concurrent_one_point_redemptions_against_100():
    member = member_with(100)
    results = race(lambda i: points_redeem(member=member, points=1, idempotency_key=f"r{i}", actor=ACTOR), 200)
    assert outcome_counts(results) == {"ok": 100, "refused": 100, "error": 0}
    assert all(exc.reason == "insufficient_points" for kind, exc in results if kind == "refused")
    member.refresh_from_db()
    assert member.points_balance == 0
    assert LedgerEntry.objects.filter(member=member, kind=EntryKind.REDEEM).count() == 100
    assert ledger_check() == []


def test_concurrent_reward_redemptions_issue_only_what_the_balance_pays():
    member = member_with(100)
    reward = Reward.objects.create(program=member.program, name="Vale 5 €", points_cost=30, value=5)
    results = race(lambda i: reward_redeem(member=member, reward=reward, idempotency_key=f"w{i}", actor=ACTOR), 20)
    assert outcome_counts(results) == {"ok": 3, "refused": 17, "error": 0}
    member.refresh_from_db()
    assert member.points_balance == 10
    assert Coupon.objects.filter(reward=reward).count() == 3
    assert ledger_check() == []


def _basket() -> Basket:
    return Basket(lines=[BasketLine(product_id=None, category_id=None, quantity=Decimal(1), amount=Decimal("50"))])


@pytest.mark.parametrize("attempt", range(10))
def test_single_use_coupon_under_50_concurrent_checkouts(attempt):
    coupon = coupon_create(actor=ACTOR, name="Un solo uso", value=Decimal("10"), max_uses=1,
                           max_uses_per_customer=None)
    customers = [make_customer() for _ in range(50)]
    results = race(lambda i: coupon_redeem(code=coupon.code, customer=customers[i], basket=_basket(),
                                           order_reference=f"pedido-{i}", actor=ACTOR), 50)
    assert outcome_counts(results) == {"ok": 1, "refused": 49, "error": 0}
    assert {exc.reason for kind, exc in results if kind == "refused"} == {"coupon_exhausted"}
    coupon.refresh_from_db()
    assert coupon.uses_count == 1 and CouponRedemption.objects.filter(coupon=coupon).count() == 1


def test_per_customer_limit_under_concurrency():
    coupon = coupon_create(actor=ACTOR, name="Dos por cliente", value=Decimal("5"), max_uses=None,
                           max_uses_per_customer=2)
    customer = make_customer()
    results = race(lambda i: coupon_redeem(code=coupon.code, customer=customer, basket=_basket(),
                                           order_reference=f"p-{i}", actor=ACTOR), 50)
    assert outcome_counts(results) == {"ok": 2, "refused": 48, "error": 0}
    assert {exc.reason for kind, exc in results if kind == "refused"} == {"coupon_customer_limit"}
    assert CouponRedemption.objects.filter(coupon=coupon, customer=customer).count() == 2


def test_same_redemption_key_from_many_tills_spends_once():
    member = member_with(100)
    results = race(lambda i: points_redeem(member=member, points=40, idempotency_key="mismo", actor=ACTOR), 30)
    assert outcome_counts(results) == {"ok": 30, "refused": 0, "error": 0}
    assert len({entry.pk for _k, entry in results}) == 1
    member.refresh_from_db()
    assert member.points_balance == 60


def test_200_concurrent_redemptions_through_the_api(api_token):
    from .conftest import Api

    member = member_with(100)
    path = f"/api/v1/loyalty/members/{member.customer_id}/redeem"

    def call(i: int) -> int:
        return Api(api_token).post(path, {"points": 1}, **{"Idempotency-Key": f"api-{i}"}).status_code

    results = race(call, 200)
    statuses = [value for kind, value in results if kind == "ok"]
    assert len(statuses) == 200
    assert statuses.count(201) == 100 and statuses.count(409) == 100
    assert not [s for s in statuses if s >= 500]
    member.refresh_from_db()
    assert member.points_balance == 0 and ledger_check() == []


def test_first_orders_of_a_new_customer_from_many_tills_enrol_once():
    from fideliza.catalog.models import Product
    from fideliza.sales.services import order_record

    program = Program.objects.create(name="Club", join_points=50)
    from fideliza.loyalty.models import EarningRule

    EarningRule.objects.create(program=program, name="Base", points=1)
    product = Product.objects.create(sku="X-1", name="Cosa", list_price=Decimal("10"))
    customer = make_customer()
    from django.utils import timezone

    when = timezone.now()
    results = race(lambda i: order_record(actor=ACTOR, customer=customer, source="tpv", external_id=f"N-{i}",
                                          placed_at=when, lines=[{"sku": product.sku, "quantity": Decimal(1)}]), 20)
    assert outcome_counts(results) == {"ok": 20, "refused": 0, "error": 0}
    member = Member.objects.get(customer=customer)
    assert member.points_balance == 50 + 20 * 10
    assert LedgerEntry.objects.filter(member=member, kind=EntryKind.BONUS).count() == 1
    assert ledger_check() == []
