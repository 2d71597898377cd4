"""Bulk writes of the snapshot tables, without model instances.

A snapshot of 100 k customers is 100 k rows of ~35 columns: building model instances for
`bulk_create` would cost more than the analytics themselves. Rows go straight from the
Polars frame to the driver: `executemany` on SQLite, `COPY … FROM STDIN` on PostgreSQL.
Callers run these inside their transaction (see `services.snapshot_recompute`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import polars as pl
from django.db import connection

from .models import CustomerMetrics, RfmMonthly

CHUNK = 20_000

#: Snapshot columns in the order the writer sends them; money columns carry cents.
METRICS_COLUMNS: tuple[str, ...] = (
    "customer_id", "run_id", "first_purchase", "last_purchase", "orders", "revenue", "margin",
    "average_order_value", "frequency", "recency", "age", "monetary_value", "r_score",
    "f_score", "m_score", "rfm_segment", "abc_revenue", "abc_margin", "value_tier",
    "activity_state", "days_since_last", "usual_interval_days", "predicted_purchases",
    "p_alive", "p_alive_model", "churn_risk", "churn_band", "churn_reason",
    "expected_next_purchase",
    "clv_historic", "clv_predicted", "next_product_id", "next_category", "next_reason",
    "path_step", "path_next_step",
)
MONEY_COLUMNS = frozenset({"revenue", "margin", "average_order_value", "monetary_value",
                           "clv_historic", "clv_predicted"})
HISTORY_COLUMNS: tuple[str, ...] = ("period_end", "customer_id", "r_score", "f_score",
                                    "m_score", "segment")


def cents_to_text(expr: pl.Expr) -> pl.Expr:
    """Integer cents -> exact decimal text ("-0.05"), the form both drivers store exactly."""
    absolute = expr.abs()
    sign = pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str(
        [sign, (absolute // 100).cast(pl.String), pl.lit("."),
         (absolute % 100).cast(pl.String).str.zfill(2)]
    )


def _as_text_rows(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    exprs = []
    for name in columns:
        col = pl.col(name)
        dtype = frame.schema[name]
        if name in MONEY_COLUMNS:
            exprs.append(cents_to_text(col).alias(name))
        elif dtype == pl.Date:
            exprs.append(col.dt.strftime("%Y-%m-%d").alias(name))
        else:
            exprs.append(col)
    return frame.select(exprs)


def _insert(table: str, columns: Sequence[str], rows: Iterable[tuple],
            progress: Callable[[int], None] | None = None) -> int:
    cols = ", ".join(columns)
    written = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor
            # No progress callback inside the COPY: the connection is busy until it ends,
            # and a callback that writes (the run's progress) would wait on it for ever.
            with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
            if progress:
                progress(written)
        else:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"
            batch: list[tuple] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= CHUNK:
                    cursor.executemany(sql, batch)
                    written += len(batch)
                    batch.clear()
                    if progress:
                        progress(written)
            if batch:
                cursor.executemany(sql, batch)
                written += len(batch)
    return written


def replace_customer_metrics(frame: pl.DataFrame, *,
                             progress: Callable[[int], None] | None = None) -> int:
    """Delete the current snapshot and insert `frame` (columns = METRICS_COLUMNS, money in
    cents). Call inside a transaction: readers then switch from the old to the new
    snapshot at commit. A frame without rows (a base without sales: a fresh install) is
    an empty snapshot, whatever columns it has."""
    missing = [c for c in METRICS_COLUMNS if c not in frame.columns]
    if missing and not frame.is_empty():
        raise ValueError(f"snapshot frame lacks {missing}")
    table = CustomerMetrics._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
    if frame.is_empty():
        return 0
    text = _as_text_rows(frame, METRICS_COLUMNS)
    return _insert(table, METRICS_COLUMNS, text.iter_rows(), progress)


def append_rfm_history(frame: pl.DataFrame) -> int:
    """Insert the month ends of `frame` that the history does not hold yet.

    History is append-only: a month end already stored keeps what was known then. Returns
    the rows inserted.
    """
    if frame.is_empty():
        return 0
    known = set(RfmMonthly.objects.values_list("period_end", flat=True).distinct())
    new = frame.filter(~pl.col("period_end").is_in(list(known))) if known else frame
    if new.is_empty():
        return 0
    text = _as_text_rows(new.select(HISTORY_COLUMNS), HISTORY_COLUMNS)
    return _insert(RfmMonthly._meta.db_table, HISTORY_COLUMNS, text.iter_rows())
