"""`sales.ingest`: the bulk path (imports, demo) writes what `order_record` would have
written for the same basket, and runs the same order-recorded reactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from django.db import connection, transaction
from django.utils import timezone

from fideliza.core.bulk import insert_objects, reserve_ids
from fideliza.insights.models import AnalyticsState
from fideliza.loyalty.models import EntryKind, LedgerEntry
from fideliza.sales.ingest import (
    cents_to_decimal_str,
    datetime_db_text,
    orders_ingest,
    thousandths_to_decimal_str,
)
from fideliza.sales.models import Order
from tests.clock import SPRING_FORWARD
from tests.factories.customers import customer_make
from tests.factories.sales import order_make

pytestmark = pytest.mark.django_db

ORDER_FIELDS = ("placed_at", "channel", "currency", "subtotal", "discount_total", "total", "cost_total")
LINE_FIELDS = ("line_no", "product__sku", "sku", "description", "quantity", "unit_price", "unit_cost",
               "discount", "line_total")


def frames(customer_ids: list[int], placed: list[datetime], products) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each customer buys the basket of the order_record test: a drill, three hammers less
    6,00 € and 1.5 l of paint at 19,99 € (189,99 − 6,00 = 183,99 €, cost 102,75 €)."""
    n = len(customer_ids)
    keys = [f"K{i}" for i in range(n)]
    orders = pl.DataFrame({
        "key": keys, "external_id": [f"IMP-{i}" for i in range(n)], "customer_id": customer_ids,
        "placed_at": pl.Series(placed, dtype=pl.Datetime("us", "UTC")),
        "channel": ["store"] * n, "store_id": pl.Series([None] * n, dtype=pl.Int64), "currency": ["EUR"] * n,
        "subtotal": [18999] * n, "discount_total": [600] * n, "total": [18399] * n, "cost_total": [10275] * n,
    })
    basket = [  # line_no, product, quantity (thousandths), price, cost, discount, line total (cents)
        (1, products["drill"], 1000, 10000, 6000, 0, 10000),
        (2, products["hammer"], 3000, 2000, 800, 600, 5400),
        (3, products["paint"], 1500, 1999, 1250, 0, 2999),
    ]
    lines = pl.DataFrame(
        [(key, no, p.pk, p.sku, p.name, q, price, cost, disc, total)
         for key in keys for no, p, q, price, cost, disc, total in basket],
        schema={"key": pl.String, "line_no": pl.Int64, "product_id": pl.Int64, "sku": pl.String,
                "description": pl.String, "quantity": pl.Int64, "unit_price": pl.Int64, "unit_cost": pl.Int64,
                "discount": pl.Int64, "line_total": pl.Int64},
        orient="row")
    return orders, lines


def snapshot(order: Order) -> tuple:
    return (tuple(getattr(order, f) for f in ORDER_FIELDS),
            list(order.lines.order_by("line_no").values_list(*LINE_FIELDS)))


def test_the_bulk_path_writes_what_order_record_writes_and_earns_the_same_points(products, program):
    placed = SPRING_FORWARD - timedelta(hours=2)
    by_service = order_make(customer_make(), placed_at=placed, lines=[
        {"sku": "TAL-1", "quantity": 1}, {"sku": "MAR-1", "quantity": 3, "discount": "6.00"},
        {"sku": "PIN-1", "quantity": "1.5", "unit_price": "19.99"}])
    AnalyticsState.objects.update_or_create(pk=1, defaults={"stale_since": None})

    imported = customer_make()
    orders, lines = frames([imported.pk], [placed], products)
    with transaction.atomic():
        (new_id,) = orders_ingest(source="import", orders=orders, lines=lines)

    by_import = Order.objects.get(pk=new_id)
    assert (by_import.source, by_import.external_id, by_import.customer) == ("import", "IMP-0", imported)
    by_service.refresh_from_db()
    assert snapshot(by_import) == snapshot(by_service)
    assert by_import.created_at == SPRING_FORWARD  # the pinned clock, to the second
    earned = dict(LedgerEntry.objects.filter(kind=EntryKind.EARN).values_list("cause_id", "points"))
    assert earned == {str(by_service.pk): 183, str(by_import.pk): 183}
    assert AnalyticsState.objects.get(pk=1).stale_since == SPRING_FORWARD


def test_utc_instants_keep_their_local_hour_across_the_dst_change(products):
    """00:30 and 01:30 UTC on 30 March 2025 are 01:30 (CET) and 03:30 (CEST) in Madrid."""
    customers = [customer_make().pk, customer_make().pk]
    placed = [datetime(2025, 3, 30, 0, 30, tzinfo=UTC), datetime(2025, 3, 30, 1, 30, tzinfo=UTC)]
    orders, lines = frames(customers, placed, products)
    with transaction.atomic():
        ids = orders_ingest(source="import", orders=orders, lines=lines)
    stored = [Order.objects.get(pk=pk).placed_at for pk in ids]
    assert stored == placed
    assert [timezone.localtime(at).strftime("%H:%M %z") for at in stored] == ["01:30 +0100", "03:30 +0200"]


def test_progress_is_reported_by_lines_written(products):
    seen: list[tuple[int, int]] = []
    orders, lines = frames([customer_make().pk, customer_make().pk], [SPRING_FORWARD] * 2, products)
    with transaction.atomic():
        orders_ingest(source="import", orders=orders, lines=lines, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(6, 6)]


def test_reserved_ids_come_after_every_existing_row():
    customer = customer_make()
    first = order_make(customer, placed_at=SPRING_FORWARD, total="5")
    with transaction.atomic():
        ids = reserve_ids(Order, 3)
    assert len(ids) == 3 and ids == sorted(ids) and len(set(ids)) == 3 and ids[0] > first.pk
    assert reserve_ids(Order, 0) == []


def test_insert_objects_sets_keys_and_timestamps():
    customer = customer_make()
    objs = [Order(customer=customer, source="bulk", external_id=f"B-{i}", placed_at=SPRING_FORWARD,
                  total=Decimal("12.34"), subtotal=Decimal("12.34")) for i in range(3)]
    with transaction.atomic():
        insert_objects(Order, objs)
    assert all(o.pk and not o._state.adding for o in objs)
    stored = Order.objects.filter(source="bulk").order_by("pk")
    assert [o.pk for o in stored] == [o.pk for o in objs]
    assert {(o.total, o.created_at, o.currency) for o in stored} == {(Decimal("12.34"), SPRING_FORWARD, "EUR")}


def test_cents_and_thousandths_become_exact_decimal_text():
    cents = pl.Series([-5, 0, 7, 123456, None], dtype=pl.Int64)
    assert cents_to_decimal_str(cents).to_list() == ["-0.05", "0.00", "0.07", "1234.56", None]
    qty = pl.Series([1500, -250, 1, None], dtype=pl.Int64)
    assert thousandths_to_decimal_str(qty).to_list() == ["1.500", "-0.250", "0.001", None]
    assert [Decimal(s) for s in cents_to_decimal_str(pl.Series([1999 * 3], dtype=pl.Int64))] == [Decimal("59.97")]


def test_datetimes_in_the_backends_own_text_form():
    at = pl.Series([datetime(2025, 10, 26, 0, 10, tzinfo=UTC)], dtype=pl.Datetime("us", "UTC"))
    text = datetime_db_text(at).to_list()
    expected = "2025-10-26 00:10:00" + ("" if connection.vendor == "sqlite" else "+00:00")
    assert text == [expected]
