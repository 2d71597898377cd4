"""Bulk ingestion of orders (imports, the demo): set-based, no per-row ORM work.

The single-order path is `sales.services.order_record` (API). This one takes thousands or
millions of already-validated lines as Polars frames, reserves primary keys in one query,
inserts in chunks with the driver's fastest path (executemany on SQLite, COPY on
PostgreSQL; the generic helpers are in core.bulk) and runs the same `orders recorded`
hook inside the caller's transaction. Returns are recorded one by one
(`sales.services.return_record`); there is no bulk path for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import polars as pl
from django.db import connection, models

from fideliza.core.bulk import CHUNK_ROWS, insert_rows, reserve_ids

from .hooks import run_orders_recorded
from .models import Order, OrderLine

Progress = Callable[[int, int], None]


def cents_to_decimal_str(cents: pl.Series) -> pl.Series:
    """Int cents -> '1234.50' strings (what the database drivers take for numeric)."""
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    a = cents.abs()
    return pl.select(
        pl.when(cents.is_null()).then(None).otherwise(
            pl.concat_str([sign, (a // 100).cast(pl.String), pl.lit("."),
                           (a % 100).cast(pl.String).str.pad_start(2, "0")])
        )
    ).to_series()


def thousandths_to_decimal_str(values: pl.Series) -> pl.Series:
    sign = pl.when(values < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    a = values.abs()
    return pl.select(
        pl.when(values.is_null()).then(None).otherwise(
            pl.concat_str([sign, (a // 1000).cast(pl.String), pl.lit("."),
                           (a % 1000).cast(pl.String).str.pad_start(3, "0")])
        )
    ).to_series()


def datetime_db_text(values: pl.Series) -> pl.Series:
    """UTC Datetime series -> the text each backend stores (Django's own SQLite format)."""
    utc = values.dt.convert_time_zone("UTC")
    if connection.vendor == "sqlite":
        return utc.dt.strftime("%Y-%m-%d %H:%M:%S")
    return utc.dt.strftime("%Y-%m-%d %H:%M:%S+00:00")


def now_db_text() -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    return now.strftime("%Y-%m-%d %H:%M:%S") + ("" if connection.vendor == "sqlite" else "+00:00")


ORDER_FRAME_COLUMNS = ("key", "external_id", "customer_id", "placed_at", "channel", "store_id",
                       "currency", "subtotal", "discount_total", "total", "cost_total")
LINE_FRAME_COLUMNS = ("key", "line_no", "product_id", "sku", "description", "quantity",
                      "unit_price", "unit_cost", "discount", "line_total")


def orders_ingest(
    *,
    source: str,
    orders: pl.DataFrame,
    lines: pl.DataFrame,
    progress: Progress | None = None,
) -> list[int]:
    """Insert new orders with their lines; returns the new order ids.

    `orders` has ORDER_FRAME_COLUMNS: `key` (any unique join key), `placed_at` a UTC
    Datetime, money columns Int64 cents (`cost_total` null when unknown). `lines` has
    LINE_FRAME_COLUMNS with `quantity` Int64 thousandths and money in cents. The caller
    has validated everything and checked that no (source, external_id) exists yet; call
    inside `transaction.atomic()`.
    """
    with _large_cache():
        ids = _orders_insert(source=source, orders=orders, lines=lines, progress=progress)
    run_orders_recorded(ids)
    return ids


@contextmanager
def _large_cache(megabytes: int = 256) -> Iterator[None]:
    """SQLite's default page cache (2 MB) makes index inserts of a big batch seek the disk;
    a larger cache for the duration of the batch is several times faster."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-1024 * int(megabytes)}")
        try:
            yield
        finally:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def _orders_insert(*, source: str, orders: pl.DataFrame, lines: pl.DataFrame,
                   progress: Progress | None) -> list[int]:
    total_lines = len(lines)
    orders = orders.select(ORDER_FRAME_COLUMNS)
    ids = reserve_ids(Order, len(orders))
    orders = orders.with_columns(pl.Series("id", ids, dtype=pl.Int64))
    created_at = now_db_text()

    def order_text(chunk: pl.DataFrame) -> pl.DataFrame:
        return chunk.select(
            pl.col("id"),
            pl.col("customer_id"),
            pl.lit(source).alias("source"),
            pl.col("external_id"),
            datetime_db_text(chunk["placed_at"]).alias("placed_at"),
            pl.col("channel"),
            pl.col("store_id"),
            pl.col("currency"),
            cents_to_decimal_str(chunk["subtotal"]).alias("subtotal"),
            cents_to_decimal_str(chunk["discount_total"]).alias("discount_total"),
            cents_to_decimal_str(chunk["total"]).alias("total"),
            cents_to_decimal_str(chunk["cost_total"]).alias("cost_total"),
            pl.lit(created_at).alias("created_at"),
        )

    def line_text(chunk: pl.DataFrame) -> pl.DataFrame:
        return chunk.select(
            pl.col("id"),
            pl.col("order_id"),
            pl.col("line_no"),
            pl.col("product_id"),
            pl.col("sku"),
            pl.col("description").fill_null(""),
            thousandths_to_decimal_str(chunk["quantity"]).alias("quantity"),
            cents_to_decimal_str(chunk["unit_price"]).alias("unit_price"),
            cents_to_decimal_str(chunk["unit_cost"]).alias("unit_cost"),
            cents_to_decimal_str(chunk["discount"]).alias("discount"),
            cents_to_decimal_str(chunk["line_total"]).alias("line_total"),
        )

    # Values become database text one chunk at a time: a million lines as Python strings
    # at once would cost more memory than the whole rest of the import.
    order_columns = [_column(Order, name) for name in order_text(orders.head(0)).columns]
    for start in range(0, len(orders), CHUNK_ROWS):
        insert_rows(Order, order_columns, order_text(orders.slice(start, CHUNK_ROWS)).iter_rows())

    keyed = lines.select(LINE_FRAME_COLUMNS).join(
        orders.select("key", pl.col("id").alias("order_id")), on="key", how="left", maintain_order="left"
    ).with_columns(pl.Series("id", reserve_ids(OrderLine, total_lines), dtype=pl.Int64))
    line_columns = [_column(OrderLine, name) for name in line_text(keyed.head(0)).columns]
    done = 0
    for start in range(0, total_lines, CHUNK_ROWS):
        chunk = line_text(keyed.slice(start, CHUNK_ROWS))
        insert_rows(OrderLine, line_columns, chunk.iter_rows())
        done += len(chunk)
        if progress:
            progress(done, total_lines)
    return ids


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)  # a column of the model, not a reverse relation
    return str(field.column)
