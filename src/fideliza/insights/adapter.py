"""Read the transaction columns straight from the database into Polars frames.

DESIGN.md: the analytics core never touches the ORM. This adapter runs a few plain SQL
queries through Django's connection (no model instances) and hands Polars frames in the
canonical schema of `fideliza.analytics.transactions` to the core. Each query's text comes
from the app that owns its tables (`sales.selectors.order_columns_sql`,
`customers.selectors.customer_columns_sql`, `catalog.selectors.products_sql`, …), so a
column renamed there is changed there.

Every value crosses the driver as an integer, which both sqlite3 and psycopg return
without per-row parsing: timestamps as Unix seconds (converted to the shop's local
wall-clock time in Polars, so days, weeks and months follow the shop's calendar) and money
as integer cents (so the totals written back to the snapshot are exact sums).

How returns and refunds enter the numbers
-----------------------------------------
A return or refund is netted into the order it belongs to, dated like that order:
``amount = total − refunds``. A purchase is still a purchase (its date and count feed
recency and frequency) unless it was refunded in full, in which case the order is left
out altogether (the customer did not, in the end, buy). Margin loses the refund in
proportion for a *return* (the goods, and their cost, come back), and in full for a
*refund without return* (the shop keeps nothing of the money it gives back):
``margin = (total − cost) × (1 − returned/total) − refunded``. Margin is null for orders
with an unknown cost.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
from django.conf import settings
from django.db import connection

from fideliza.analytics.transactions import AMOUNT, CATEGORY, CUSTOMER, MARGIN, PRODUCT, TS
from fideliza.catalog.selectors import products_sql
from fideliza.customers.selectors import customer_columns_sql, customers_merged_into
from fideliza.sales.selectors import order_columns_sql, product_lines_sql, returns_by_order_sql

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

ORDER = "order_id"
FETCH_CHUNK = 50_000

ReadMethod = Literal["cursor", "polars"]
# Measured by benchmarks/dashboard.py on 515,270 orders: PostgreSQL 3.1 s (polars) against
# 4.3 s (cursor); SQLite 6.6 s against 6.7 s.
DEFAULT_METHOD: ReadMethod = "polars"


def fetch_frame(
    sql: str,
    schema: Mapping[str, PolarsDataType],
    params: Sequence[Any] = (),
    *,
    method: ReadMethod = DEFAULT_METHOD,
) -> pl.DataFrame:
    """Run `sql` on Django's default connection and return its rows as a frame.

    The query's columns, in order, get the names and types of `schema`. ``cursor``
    fetches chunks with ``fetchmany`` and builds each chunk's columns at once; ``polars``
    hands the driver connection to ``pl.read_database`` (the two are measured against
    each other in ``benchmarks/dashboard.py``).
    """
    if method == "polars":
        connection.ensure_connection()
        frame = pl.read_database(
            sql,
            connection.connection,
            execute_options={"parameters": tuple(params)} if params else None,
        )
        return frame.rename(dict(zip(frame.columns, schema, strict=True))).cast(pl.Schema(schema))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        chunks = []
        while rows := cursor.fetchmany(FETCH_CHUNK):
            chunks.append(pl.DataFrame(rows, schema=schema, orient="row"))
    if not chunks:
        return pl.DataFrame(schema=schema)
    return pl.concat(chunks, rechunk=True)


def _local_naive(epoch: pl.Expr) -> pl.Expr:
    tz = settings.TIME_ZONE or "UTC"
    return (
        pl.from_epoch(epoch, time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(tz)
        .dt.replace_time_zone(None)
        .cast(pl.Datetime("us"))
    )


@dataclass
class Transactions:
    """What the adapter read.

    ``orders``: see :func:`read_orders`. ``lines``: product lines (``order_id,
    customer_id, ts, product_id``). ``products``: the catalog (``product_id, sku, name,
    category, path_level``). ``customers``: the cards (``customer_id, acquired_at,
    acquisition_cost_cents``) for CAC and counts.
    """

    orders: pl.DataFrame
    lines: pl.DataFrame | None = None
    products: pl.DataFrame | None = None
    customers: pl.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)
    refunded_out: int = 0

    @property
    def customer_count(self) -> int:
        return 0 if self.customers is None else self.customers.height


def read_orders(*, method: ReadMethod = DEFAULT_METHOD) -> tuple[pl.DataFrame, int]:
    """Orders net of refunds in the canonical schema, and how many were refunded in full.

    Only orders in the business's currency (FIDELIZA_DEFAULT_CURRENCY) are read.

    Columns: ``order_id, customer_id, ts`` (local naive Datetime), ``amount_cents,
    margin_cents`` (Int64, exact; margin null when the cost is unknown), ``amount, margin``
    (Float64 euros, for the models).
    """
    orders = fetch_frame(
        order_columns_sql(),
        {ORDER: pl.Int64, CUSTOMER: pl.Int64, "_epoch": pl.Int64, "_total": pl.Int64,
         "_cost": pl.Int64, "_currency": pl.String},
        method=method,
    )
    # Amounts in different currencies do not add up: the analytics use the business's.
    orders = orders.filter(pl.col("_currency") == settings.FIDELIZA_DEFAULT_CURRENCY)
    merged = customers_merged_into()
    if merged:
        orders = orders.with_columns(pl.col(CUSTOMER).replace(merged))
    returns = fetch_frame(
        returns_by_order_sql(),
        {ORDER: pl.Int64, "_returned": pl.Int64, "_refunded": pl.Int64},
        method=method,
    )
    joined = orders.join(returns, on=ORDER, how="left").with_columns(
        pl.col("_returned", "_refunded").fill_null(0)
    )
    total = pl.col("_total")
    net = total - pl.col("_returned") - pl.col("_refunded")
    kept_share = pl.when(total > 0).then(1 - pl.col("_returned") / total).otherwise(1.0)
    margin = ((total - pl.col("_cost")) * kept_share - pl.col("_refunded")).round(0).cast(pl.Int64)
    framed = joined.with_columns(
        _local_naive(pl.col("_epoch")).alias(TS),
        net.alias("amount_cents"),
        margin.alias("margin_cents"),
    )
    refunded_out = framed.filter(
        (pl.col("amount_cents") <= 0) & ((pl.col("_returned") + pl.col("_refunded")) > 0)
    ).height
    # Fully refunded orders are not purchases; zero-value orders with no refund (a gift,
    # a free sample) still are.
    kept = framed.filter(
        (pl.col("amount_cents") > 0) | ((pl.col("_returned") + pl.col("_refunded")) == 0)
    )
    out = kept.select(
        ORDER,
        CUSTOMER,
        TS,
        "amount_cents",
        "margin_cents",
        (pl.col("amount_cents") / 100).alias(AMOUNT),
        (pl.col("margin_cents") / 100).alias(MARGIN),
    ).sort(CUSTOMER, TS, ORDER)
    return out, refunded_out


def read_lines(orders: pl.DataFrame, *, method: ReadMethod = DEFAULT_METHOD) -> pl.DataFrame:
    """Product lines of `orders` (from :func:`read_orders`): ``order_id, customer_id, ts,
    product_id``. Lines without a catalog product, returned-quantity lines and lines of
    orders that are not purchases (refunded in full, another currency) are left out."""
    lines = fetch_frame(product_lines_sql(), {ORDER: pl.Int64, PRODUCT: pl.Int64}, method=method)
    return lines.join(orders.select(ORDER, CUSTOMER, TS), on=ORDER, how="inner").select(
        ORDER, CUSTOMER, TS, PRODUCT
    )


def read_products(*, method: ReadMethod = DEFAULT_METHOD) -> pl.DataFrame:
    """The catalog: ``product_id, sku, name, category`` (its own name) ``, path_level``."""
    products = fetch_frame(
        products_sql(),
        {PRODUCT: pl.Int64, "sku": pl.String, "name": pl.String, CATEGORY: pl.String,
         "path_level": pl.String},
        method=method,
    )
    return products.with_columns(pl.col("path_level").replace("", None))


def read_customers(*, method: ReadMethod = DEFAULT_METHOD) -> pl.DataFrame:
    """Customer cards: ``customer_id, acquired_at`` (acquisition date, else the local date
    the card was created) and ``acquisition_cost_cents``."""
    cards = fetch_frame(
        customer_columns_sql(),
        {CUSTOMER: pl.Int64, "_acq": pl.Int64, "_created": pl.Int64,
         "acquisition_cost_cents": pl.Int64},
        method=method,
    )
    return cards.select(
        CUSTOMER,
        pl.coalesce(
            # A date is stored as midnight: its epoch needs no time-zone conversion.
            pl.from_epoch(pl.col("_acq"), time_unit="s").dt.date(),
            _local_naive(pl.col("_created")).dt.date(),
        ).alias("acquired_at"),
        "acquisition_cost_cents",
    )


def read_transactions(*, with_lines: bool = True, method: ReadMethod = DEFAULT_METHOD) -> Transactions:
    """Everything the snapshot needs, read in a few queries; timings in seconds."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    orders, refunded_out = read_orders(method=method)
    timings["read_orders"] = time.perf_counter() - started
    lines = products = None
    if with_lines:
        started = time.perf_counter()
        lines = read_lines(orders, method=method)
        products = read_products(method=method)
        timings["read_lines"] = time.perf_counter() - started
    started = time.perf_counter()
    customers = read_customers(method=method)
    timings["read_customers"] = time.perf_counter() - started
    return Transactions(orders=orders, lines=lines, products=products, customers=customers,
                        timings=timings, refunded_out=refunded_out)
