"""Activity states relative to each customer's own rhythm, and reactivation lists.

Seed 002 §2.3 ("detectar un tiempo transcurrido sin comprar"), §6 "Reactivación (clientes
dormidos)": "Listar clientes que no compran hace 5, 4, 3, 2, 1 año o meses" and "Priorice
clientes a reactivar: frecuencia y valor son clave".

Activity state
    ``gap`` = the median number of days between consecutive distinct purchase dates of the
    customer (``gap_source = "own"``). One-time buyers take the population's gap: the
    median of the repeat customers' own gaps (``"population"``), or ``default_gap_days``
    when nobody bought twice (``"default"``). The gap is floored at ``min_gap_days`` so that
    two purchases on consecutive days do not make a customer "at risk" after 48 hours.
    ``overdue = days_since_last / gap`` and, with multipliers ``(m1, m2, m3)``:
    ``active`` if overdue <= m1, ``at_risk`` if <= m2, ``dormant`` if <= m3, else ``lost``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import polars as pl

from fideliza.analytics.metrics import (
    KEY_BITS,
    Frame,
    as_lazy,
    column_names,
    customer_codes,
    dated_between,
    orders_expr,
    purchase_date,
    resolve_as_of,
)

STATES: tuple[str, ...] = ("active", "at_risk", "dormant", "lost")


def activity_states(
    transactions: Frame,
    *,
    as_of: dt.date | dt.datetime | None = None,
    multipliers: tuple[float, float, float] = (1.5, 3.0, 6.0),
    min_gap_days: float = 7.0,
    default_gap_days: float = 90.0,
    customer_col: str = "customer_id",
    ts_col: str = "ts",
) -> pl.DataFrame:
    """Active / at-risk / dormant / lost state of every customer at ``as_of``.

    Parameters
    ----------
    as_of
        Observation end (inclusive); default the last transaction date.
    multipliers
        ``(m1, m2, m3)`` thresholds on ``days_since_last / gap`` (module docstring).
    min_gap_days
        Floor of the typical gap, in days.
    default_gap_days
        Gap used when no customer has two purchase dates.

    Returns
    -------
    pl.DataFrame
        ``customer_id, first_purchase, last_purchase, purchase_days`` (distinct dates),
        ``days_since_last, gap_days, gap_source, expected_next`` (last purchase + gap,
        rounded to whole days), ``overdue`` and ``state``; sorted by customer.
    """
    m1, m2, m3 = multipliers
    if not 0 < m1 <= m2 <= m3:
        raise ValueError("multipliers must satisfy 0 < m1 <= m2 <= m3")
    lf = as_lazy(transactions)
    end = resolve_as_of(lf, as_of, ts_col)
    dated = lf.filter(dated_between(lf, ts_col, None, end))
    codes, coded = customer_codes(dated, customer_col)
    # One Int64 key per (customer, purchase date): sorting it orders by customer, then date.
    # Day numbers are shifted by 2**20 so that dates from 1840 on stay positive.
    shift = 1 << 20
    keys = (
        coded.select(
            key=(pl.col("_c") * (1 << KEY_BITS)) + purchase_date(ts_col).cast(pl.Int64) + shift
        )
        .sort("key")
        .filter((pl.col("key") != pl.col("key").shift(1)).fill_null(True))
        .select(
            _c=pl.col("key") // (1 << KEY_BITS),
            _d=pl.col("key") % (1 << KEY_BITS) - shift,
        )
        .with_columns(
            _gap=pl.when(pl.col("_c") == pl.col("_c").shift(1)).then(
                pl.col("_d") - pl.col("_d").shift(1)
            )
        )
        .with_columns(pl.col("_c").set_sorted())
    )
    per_customer = (
        keys.group_by("_c")
        .agg(
            first_purchase=pl.col("_d").first(),
            last_purchase=pl.col("_d").last(),
            purchase_days=pl.len().cast(pl.Int64),
            _own=pl.col("_gap").median(),
        )
        .with_columns(pl.col("first_purchase", "last_purchase").cast(pl.Int32).cast(pl.Date))
        .join(codes.lazy(), on="_c", how="inner")
        .drop("_c")
        .collect()
    )
    population = per_customer["_own"].median()
    if not isinstance(population, int | float):  # None: no customer has a gap
        fallback, source = float(default_gap_days), "default"
    else:
        fallback, source = float(population), "population"
    gap = pl.max_horizontal(pl.col("_own").fill_null(fallback), pl.lit(float(min_gap_days)))
    overdue = pl.col("days_since_last") / pl.col("gap_days")
    return (
        per_customer.with_columns(
            days_since_last=(pl.lit(end) - pl.col("last_purchase")).dt.total_days(),
            gap_days=gap,
            gap_source=pl.when(pl.col("_own").is_not_null())
            .then(pl.lit("own"))
            .otherwise(pl.lit(source)),
        )
        .with_columns(
            expected_next=pl.col("last_purchase")
            + pl.duration(days=pl.col("gap_days").round(0).cast(pl.Int64)),
            overdue=overdue,
        )
        .with_columns(
            state=pl.when(pl.col("overdue") <= m1)
            .then(pl.lit("active"))
            .when(pl.col("overdue") <= m2)
            .then(pl.lit("at_risk"))
            .when(pl.col("overdue") <= m3)
            .then(pl.lit("dormant"))
            .otherwise(pl.lit("lost"))
        )
        .drop("_own")
        .sort(customer_col)
    )


def full_months_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Whole calendar months from date ``start`` to date ``end`` (15 Jan -> 14 Mar = 1).

    ``(y2 - y1) * 12 + (m2 - m1)``, minus one when the day of ``end`` is before the day of
    ``start``. (From 31 Jan, the month is complete on 31 Mar, not on 28 Feb.)
    """
    months = (end.dt.year().cast(pl.Int64) - start.dt.year().cast(pl.Int64)) * 12 + (
        end.dt.month().cast(pl.Int64) - start.dt.month().cast(pl.Int64)
    )
    return months - (end.dt.day() < start.dt.day()).cast(pl.Int64)


def reactivation_list(
    transactions: Frame,
    *,
    as_of: dt.date | dt.datetime | None = None,
    unit: Literal["year", "month"] = "year",
    thresholds: Sequence[int] = (1, 2, 3, 4, 5),
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str = "amount",
    margin_col: str | None = "margin",
    order_col: str | None = "order_id",
) -> pl.DataFrame:
    """Customers who have not bought for at least ``min(thresholds)`` whole units.

    ``elapsed`` = whole months (or whole years = months // 12) from the last purchase date
    to ``as_of`` (see :func:`full_months_between`); ``bucket`` = the largest threshold
    <= ``elapsed`` (with the defaults: 1, 2, 3, 4 or "5 or more" years without buying).

    Returns
    -------
    pl.DataFrame
        ``customer_id, last_purchase, days_since_last, months_since_last,
        years_since_last, bucket, orders, revenue[, margin]`` (lifetime values up to
        ``as_of``, Decimal stays Decimal), sorted by bucket, then revenue descending —
        the call order the seed suggests (frequency and value first).
    """
    if unit not in ("year", "month"):
        raise ValueError("unit must be 'year' or 'month'")
    steps = sorted({int(t) for t in thresholds})
    if not steps or steps[0] < 1:
        raise ValueError("thresholds must be positive integers")
    lf = as_lazy(transactions)
    cols = column_names(lf)
    end = resolve_as_of(lf, as_of, ts_col)
    aggs = [
        pl.col(ts_col).max().dt.date().alias("last_purchase"),
        orders_expr(cols, order_col).cast(pl.Int64).alias("orders"),
        pl.col(amount_col).sum().alias("revenue"),
    ]
    if margin_col is not None and margin_col in cols:
        aggs.append(pl.col(margin_col).sum().alias("margin"))
    elapsed = "years_since_last" if unit == "year" else "months_since_last"
    bucket = pl.lit(None, dtype=pl.Int64)
    for step in steps:
        bucket = (
            pl.when(pl.col(elapsed) >= step).then(pl.lit(step, dtype=pl.Int64)).otherwise(bucket)
        )
    end_lit = pl.lit(end, dtype=pl.Date)
    out = (
        lf.filter(dated_between(lf, ts_col, None, end))
        .group_by(customer_col)
        .agg(aggs)
        .with_columns(
            days_since_last=(end_lit - pl.col("last_purchase")).dt.total_days(),
            months_since_last=full_months_between(pl.col("last_purchase"), end_lit),
        )
        .with_columns(years_since_last=pl.col("months_since_last") // 12)
        .with_columns(bucket=bucket)
        .filter(pl.col("bucket").is_not_null())
        .sort(["bucket", "revenue", customer_col], descending=[False, True, False])
    )
    first = [
        customer_col,
        "last_purchase",
        "days_since_last",
        "months_since_last",
        "years_since_last",
        "bucket",
        "orders",
        "revenue",
    ]
    rest = ["margin"] if margin_col is not None and margin_col in cols else []
    return out.select(first + rest).collect()
