"""Cohort retention: customers grouped by the month of their first purchase.

Seed 002 §2 ("Retención … el ingreso promedio generado por los clientes aumenta con cada
año de relación"): how many of the customers who started in a month still buy 1, 2, …
months later, and how much they spend.

Definitions
    ``cohort`` = the period (``freq``, default month) of the customer's first purchase.
    ``period_index`` = whole periods from the cohort to the period of activity (0 = the
    first month). ``active`` = cohort customers who bought in that period;
    ``retention`` = active / cohort_size, so ``retention`` is 1 at ``period_index`` 0.
    ``revenue`` = what the cohort bought in that period; ``revenue_per_customer`` =
    revenue / cohort_size; ``cumulative_revenue_per_customer`` adds it up over periods
    (the cohort's historic CLV curve). Cells after ``as_of`` are not observed and are
    not listed (never reported as zero).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from fideliza.analytics.metrics import (
    KEY_BITS,
    Frame,
    as_lazy,
    customer_codes,
    dated_between,
    period_from_number,
    period_number,
    purchase_date,
    resolve_as_of,
)


def cohort_retention(
    transactions: Frame,
    *,
    freq: str = "1mo",
    as_of: dt.date | dt.datetime | None = None,
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str = "amount",
) -> pl.DataFrame:
    """Cohort × periods-since-first-purchase retention table (long form).

    Returns
    -------
    pl.DataFrame
        ``cohort`` (first day of the cohort period), ``period_index``, ``cohort_size``,
        ``active``, ``retention``, ``revenue`` (input dtype), ``revenue_per_customer``,
        ``cumulative_revenue_per_customer``; every observed cell (including those with
        zero active customers), sorted by cohort and period_index.
    """
    lf = as_lazy(transactions)
    end = resolve_as_of(lf, as_of, ts_col)
    day = purchase_date(ts_col)
    bits = 1 << KEY_BITS
    _, coded = customer_codes(lf.filter(dated_between(lf, ts_col, None, end)), customer_col)
    # (customer, period) cells keyed by one packed Int64 and sorted: customer-major order,
    # so the cohort of each row is the first period of its customer's run.
    activity = (
        coded.group_by((pl.col("_c") * bits + period_number(day, freq)).alias("_key"))
        .agg(_revenue=pl.col(amount_col).sum())
        .sort("_key")
        .with_columns(_cust=pl.col("_key") // bits, _p=pl.col("_key") % bits)
        .with_columns(
            _c=pl.when((pl.col("_cust") != pl.col("_cust").shift(1)).fill_null(True))
            .then(pl.col("_p"))
            .forward_fill()
        )
        .with_columns(
            period_index=pl.col("_p") - pl.col("_c"),
            cohort=period_from_number(pl.col("_c"), freq),
        )
    )
    cells = activity.group_by("cohort", "_c", "period_index").agg(
        active=pl.len().cast(pl.Int64), revenue=pl.col("_revenue").sum()
    )
    sizes = cells.filter(pl.col("period_index") == 0).select(
        "cohort", "_c", cohort_size=pl.col("active")
    )
    last_p = pl.select(period_number(pl.lit(end, dtype=pl.Date), freq)).item()
    full = (
        sizes.with_columns(period_index=pl.int_ranges(0, last_p - pl.col("_c") + 1, dtype=pl.Int64))
        .explode("period_index")
        .join(cells.drop("_c"), on=["cohort", "period_index"], how="left")
    )
    zero = pl.lit(0).cast(lf.collect_schema()[amount_col])
    return (
        full.with_columns(
            active=pl.col("active").fill_null(0),
            revenue=pl.col("revenue").fill_null(zero),
        )
        .sort("cohort", "period_index")
        .with_columns(
            retention=pl.col("active") / pl.col("cohort_size"),
            revenue_per_customer=pl.col("revenue").cast(pl.Float64) / pl.col("cohort_size"),
        )
        .with_columns(
            cumulative_revenue_per_customer=pl.col("revenue_per_customer").cum_sum().over("cohort")
        )
        .select(
            "cohort",
            "period_index",
            "cohort_size",
            "active",
            "retention",
            "revenue",
            "revenue_per_customer",
            "cumulative_revenue_per_customer",
        )
        .collect()
    )


def cohort_matrix(
    retention: pl.DataFrame, *, value: str = "retention", max_periods: int | None = None
) -> pl.DataFrame:
    """Pivot :func:`cohort_retention` into the classic triangle.

    One row per cohort with ``cohort_size`` and columns ``"0"``, ``"1"``, … holding
    ``value`` (default the retention share); unobserved cells are null.
    """
    frame = retention
    if max_periods is not None:
        frame = frame.filter(pl.col("period_index") <= max_periods)
    return (
        frame.select("cohort", "cohort_size", pl.col("period_index").cast(pl.String), value)
        .pivot(on="period_index", index=["cohort", "cohort_size"], values=value)
        .sort("cohort")
    )
