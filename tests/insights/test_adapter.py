"""The adapter reads the transaction columns straight from SQL, net of refunds, in cents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from fideliza.insights import adapter
from fideliza.sales.models import Return, ReturnKind

from .conftest import local, make_order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["cursor", "polars"])
def test_orders_are_net_of_refunds_in_local_time(small_business, method):
    orders, refunded_out = adapter.read_orders(method=method)
    assert orders.columns == ["order_id", "customer_id", "ts", "amount_cents", "margin_cents",
                              "amount", "margin"]
    assert orders.schema["ts"] == pl.Datetime("us")
    by_customer = {
        cid: rows.sort("ts").select("ts", "amount_cents", "margin_cents").rows()
        for (cid,), rows in orders.group_by("customer_id")
    }
    ana, blas, carmen, dario = (small_business[k].pk for k in ("ana", "blas", "carmen", "dario"))
    assert by_customer[ana] == [
        (dt.datetime(2025, 1, 10, 12), 10000, 4000),
        (dt.datetime(2025, 3, 10, 12), 5000, 3000),
        (dt.datetime(2025, 6, 1, 12), 8000, 3000),
    ]
    # 200 with 50 returned: 150; the cost is unknown, so is the margin.
    assert by_customer[blas] == [(dt.datetime(2024, 7, 1, 12), 15000, None)]
    # Local wall-clock time (Europe/Madrid, UTC+2 in summer), not UTC.
    assert by_customer[carmen][1][0] == dt.datetime(2025, 7, 1, 0, 30)
    # Refunded in full: not a purchase at all.
    assert dario not in by_customer
    assert refunded_out == 1


def test_margin_loses_returns_in_proportion_and_refunds_in_full(small_business):
    ana = small_business["ana"]
    order = make_order(ana, local(2025, 4, 1), "100.00", "60.00", ext="margin-case")
    Return.objects.create(order=order, kind=ReturnKind.RETURN, source="t", external_id="m1",
                          returned_at=local(2025, 4, 2), refund_amount=Decimal("25.00"))
    Return.objects.create(order=order, kind=ReturnKind.REFUND, source="t", external_id="m2",
                          returned_at=local(2025, 4, 3), refund_amount=Decimal("5.00"))
    orders, _ = adapter.read_orders()
    row = orders.filter(pl.col("order_id") == order.pk).row(0, named=True)
    # amount = 100 − 25 − 5; margin = 40 × (1 − 25/100) − 5 = 25.
    assert row["amount_cents"] == 7000
    assert row["margin_cents"] == 2500
    assert row["amount"] == pytest.approx(70.0)


def test_a_merged_card_counts_for_the_card_it_was_merged_into(small_business):
    ana, blas = small_business["ana"], small_business["blas"]
    blas.merged_into = ana
    blas.save(update_fields=["merged_into"])
    orders, _ = adapter.read_orders()
    assert blas.pk not in orders["customer_id"].to_list()
    assert orders.filter(pl.col("customer_id") == ana.pk).height == 4
    cards = adapter.read_customers()
    assert blas.pk not in cards["customer_id"].to_list()


def test_lines_products_and_cards(small_business, catalog):
    tx = adapter.read_transactions()
    assert set(tx.lines.columns) == {"order_id", "customer_id", "ts", "product_id"}
    assert tx.lines.height == 6  # one line per order except Darío's (no product)
    products = {r["sku"]: r for r in tx.products.iter_rows(named=True)}
    assert products["TAL-1"]["category"] == "Herramientas"
    assert products["TAL-1"]["path_level"] == "main"
    assert tx.customer_count == 5
    acquired = dict(zip(tx.customers["customer_id"], tx.customers["acquired_at"], strict=True))
    assert all(isinstance(d, dt.date) for d in acquired.values())


def test_acquisition_date_and_cost_come_from_the_card(small_business):
    ana = small_business["ana"]
    ana.acquisition_date = dt.date(2024, 12, 31)
    ana.acquisition_cost = Decimal("12.34")
    ana.save()
    cards = adapter.read_customers().filter(pl.col("customer_id") == ana.pk).row(0, named=True)
    assert cards["acquired_at"] == dt.date(2024, 12, 31)
    assert cards["acquisition_cost_cents"] == 1234


def test_empty_database_gives_empty_frames(db):
    orders, refunded_out = adapter.read_orders()
    assert orders.is_empty() and refunded_out == 0
    assert adapter.read_transactions().customer_count == 0
