"""Per-customer sufficient statistics in the "buy 'til you die" (BTYD) convention.

For every customer, counted from their first purchase up to the end of observation:

- ``frequency`` (x): number of *repeat* purchase periods. Purchases in the same period
  (day, calendar week or calendar month) collapse into one; the first period is not a
  repeat.
- ``recency`` (t_x): time between the first and the last purchase period.
- ``T``: time between the first purchase period and the observation end's period.
- ``monetary_value``: mean amount of the repeat periods (amounts in one period are summed);
  0 when ``frequency`` is 0.

Times are measured in units of the period divided by ``freq_multiplier``. This is exactly
what lifetimes 0.11.3 ``summary_data_from_transaction_data`` and
``calibration_and_holdout_data`` compute, with ``period`` standing for its ``freq``
(``"day"`` = ``"D"``, ``"week"`` = ``"W"``: calendar weeks Monday-Sunday, 7 days;
``"month"`` = ``"M"``: calendar months, whose length in time is numpy's mean Gregorian
month of 30.436875 days). Fader, Hardie & Lee's CDNOW data is ``period="day"`` with
``freq_multiplier=7``: purchases collapse by day and time is measured in weeks.

One deliberate difference: observation and calibration ends are *dates* and include the
whole day, whereas lifetimes compares raw timestamps with midnight (a purchase at 10:00 on
the calibration end date falls in lifetimes' holdout). On date-only data both agree.

For integer customer ids of moderate range (the usual case: database keys) the
computation sorts one packed (customer, period) Int64 key with nothing attached, reads
periods, first and last period off the sorted keys and takes totals from ``bincount``
over the unsorted rows (see ``_summary_dense``); other ids go through a lazy Polars query
(``_summary_lazy``). Money
stays ``Decimal`` in the totals when the amount column is ``Decimal`` (summed exactly as
integer units of its scale).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal, TypedDict

import numpy as np
import polars as pl

from fideliza.analytics.transactions import AMOUNT, CUSTOMER, TS

__all__ = [
    "PERIOD_DAYS",
    "Period",
    "as_date",
    "calibration_and_holdout_data",
    "summary_data_from_transaction_data",
]

Period = Literal["day", "week", "month"]

#: Length of one period in days, as lifetimes divides by ``np.timedelta64(1, freq)``.
PERIOD_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.2425 / 12.0}

_TRUNCATE = {"day": "1d", "week": "1w", "month": "1mo"}

#: Transactions per customer partition in :func:`summary_data_from_transaction_data`.
ROWS_PER_PARTITION = 2_500_000


def as_date(value: dt.date | dt.datetime | str) -> dt.date:
    """Return the calendar date of a date, datetime or ISO 8601 string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _period_start(day: pl.Expr, period: str) -> pl.Expr:
    """First day of the period containing ``day`` (a Date expression)."""
    if period == "day":
        return day
    if period not in _TRUNCATE:
        raise ValueError(f"period must be one of day, week, month; got {period!r}")
    return day.dt.truncate(_TRUNCATE[period])


def _period_start_of(date: dt.date, period: str) -> dt.date:
    if period == "day":
        return date
    if period == "week":
        return date - dt.timedelta(days=date.weekday())
    if period == "month":
        return date.replace(day=1)
    raise ValueError(f"period must be one of day, week, month; got {period!r}")


def _unit_days(period: str, freq_multiplier: float) -> float:
    if freq_multiplier <= 0:
        raise ValueError("freq_multiplier must be positive")
    return PERIOD_DAYS[period] * freq_multiplier


def _extra_names(count_rows: bool, sum_cols: Sequence[str]) -> list[str]:
    """Names of the optional per-customer totals (see ``summary_data_from_transaction_data``)."""
    return (["n_transactions"] if count_rows else []) + [f"total_{c}" for c in sum_cols]


def _extra_aggs(sum_cols: Sequence[str]) -> list[pl.Expr]:
    """Per-(customer, period) parts of the optional totals: row count and column sums."""
    return [pl.len().cast(pl.Int64).alias("_rows"), *(pl.col(f"_s_{c}").sum() for c in sum_cols)]


def _extra_totals(count_rows: bool, sum_cols: Sequence[str]) -> list[pl.Expr]:
    out = [pl.col("_rows").sum().alias("n_transactions")] if count_rows else []
    return out + [pl.col(f"_s_{c}").sum().alias(f"total_{c}") for c in sum_cols]


def _summary_hashed(
    lazy: pl.LazyFrame,
    *,
    customer_col: str,
    ts_col: str,
    amount_col: str | None,
    period: str,
    freq_multiplier: float,
    end: dt.date,
    include_first_transaction: bool,
    suffix: str = "",
    count_rows: bool = False,
    sum_cols: Sequence[str] = (),
) -> pl.LazyFrame:
    """Two hash group-bys, by (customer, period) then by customer, for any id dtype."""
    unit = _unit_days(period, freq_multiplier)
    end_period = _period_start_of(end, period)
    cols = [pl.col(customer_col), _period_start(pl.col(ts_col).dt.date(), period).alias("_p")]
    if amount_col is not None:
        cols.append(pl.col(amount_col).alias("_m"))
    cols += [pl.col(c).alias(f"_s_{c}") for c in sum_cols]
    per_period = lazy.select(cols).filter(pl.col("_p") <= end_period)
    aggs = [pl.len().alias("_n")] if amount_col is None else [pl.col("_m").sum()]
    per_period = per_period.group_by(customer_col, "_p").agg(aggs[0], *_extra_aggs(sum_cols))
    cust_aggs = [
        pl.col("_p").min().alias("first_purchase"),
        pl.col("_p").max().alias("last_purchase"),
        pl.len().cast(pl.Int64).alias("_count"),
        *_extra_totals(count_rows, sum_cols),
    ]
    if amount_col is not None:
        cust_aggs += [
            pl.col("_m").sum().alias("total_amount"),
            pl.col("_m").get(pl.col("_p").arg_min()).alias("_first_m"),
        ]
    out = per_period.group_by(customer_col).agg(cust_aggs)
    repeat = pl.col("_count") if include_first_transaction else pl.col("_count") - 1
    exprs = [
        pl.col(customer_col),
        repeat.alias("frequency"),
        ((pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days() / unit).alias(
            "recency"
        ),
        ((pl.lit(end_period) - pl.col("first_purchase")).dt.total_days() / unit).alias("T"),
    ]
    if amount_col is not None:
        numerator = (
            pl.col("total_amount")
            if include_first_transaction
            else pl.col("total_amount") - pl.col("_first_m")
        )
        exprs.append(
            pl.when(repeat > 0)
            .then(numerator.cast(pl.Float64) / repeat)
            .otherwise(0.0)
            .alias("monetary_value")
        )
        exprs.append(pl.col("total_amount"))
    exprs += [pl.col("first_purchase"), pl.col("last_purchase")]
    exprs += [pl.col(c) for c in _extra_names(count_rows, sum_cols)]
    out = out.select(exprs)
    if suffix:
        out = out.rename({c: c + suffix for c in out.collect_schema().names() if c != customer_col})
    return out


#: Bits of the (customer, period) sort key that hold the period's day offset.
_DAY_BITS = 17  # 131,072 days: about 358 years of data
_MAX_CODE = 1 << (62 - _DAY_BITS)


def _summary_lazy(
    lazy: pl.LazyFrame,
    *,
    customer_col: str,
    ts_col: str,
    amount_col: str | None,
    period: str,
    freq_multiplier: float,
    end: dt.date,
    include_first_transaction: bool,
    suffix: str = "",
    count_rows: bool = False,
    sum_cols: Sequence[str] = (),
) -> pl.LazyFrame:
    """The per-customer summary as a lazy query (see the module docstring).

    Each (customer, period) pair is packed into one Int64 key,
    ``customer code << 17 | days from the first period``; one sort on that key puts every
    customer's periods together and in time order, after which both aggregations run on
    sorted groups (``first``/``last`` instead of ``min``/``max``/``arg_min``). On 10 million
    transactions this took 2.5 s of CPU and 0.7 GB peak RSS, against 6.2 s and 1.25 GB for
    two hash group-bys on (customer, period) and customer. The customer code is the
    integer id minus its minimum; other ids (strings: measured slower to encode than to
    hash) go through :func:`_summary_hashed`.
    """
    unit = _unit_days(period, freq_multiplier)
    end_period = _period_start_of(end, period)
    dtype = lazy.collect_schema()[customer_col]
    lazy = lazy.filter(pl.col(customer_col).is_not_null())
    if not dtype.is_integer():
        return _summary_hashed(
            lazy,
            customer_col=customer_col,
            ts_col=ts_col,
            amount_col=amount_col,
            period=period,
            freq_multiplier=freq_multiplier,
            end=end,
            include_first_transaction=include_first_transaction,
            suffix=suffix,
            count_rows=count_rows,
            sum_cols=sum_cols,
        )
    bounds = lazy.select(
        pl.col(customer_col).min().alias("lo"),
        pl.col(customer_col).max().alias("hi"),
        pl.col(ts_col).min().dt.date().alias("first"),
    ).collect()
    lo, hi, first_day = bounds.row(0)
    base = _period_start_of(first_day or end, period)
    direct = dtype.is_integer() and lo is not None and int(hi) - int(lo) < _MAX_CODE
    if not direct:
        return _summary_hashed(
            lazy,
            customer_col=customer_col,
            ts_col=ts_col,
            amount_col=amount_col,
            period=period,
            freq_multiplier=freq_multiplier,
            end=end,
            include_first_transaction=include_first_transaction,
            suffix=suffix,
            count_rows=count_rows,
            sum_cols=sum_cols,
        )
    code = pl.col(customer_col).cast(pl.Int64) - pl.lit(int(lo), pl.Int64)
    period_start = _period_start(pl.col(ts_col).dt.date(), period)
    offset = (period_start - pl.lit(base)).dt.total_days().cast(pl.Int64)
    cols = [
        ((code.cast(pl.Int64) * (1 << _DAY_BITS)) + offset).alias("_k"),
        period_start.alias("_p"),
    ]
    if amount_col is not None:
        cols.append(pl.col(amount_col).alias("_m"))
    cols += [pl.col(c).alias(f"_s_{c}") for c in sum_cols]
    keyed = lazy.select(cols).filter(pl.col("_p") <= end_period).drop("_p")
    if (end_period - base).days >= (1 << _DAY_BITS):
        raise ValueError("transactions span more than 358 years")
    first_aggs = [pl.col("_m").sum()] if amount_col is not None else []
    per_period = (
        keyed.sort("_k")
        .group_by("_k", maintain_order=True)
        .agg(*(first_aggs or [pl.len().alias("_n")]), *_extra_aggs(sum_cols))
        .with_columns(
            (pl.col("_k") // (1 << _DAY_BITS)).alias("_code"),
            (pl.col("_k") % (1 << _DAY_BITS)).alias("_off"),
        )
    )
    cust_aggs = [
        pl.col("_off").first().alias("_first_off"),
        pl.col("_off").last().alias("_last_off"),
        pl.len().cast(pl.Int64).alias("_count"),
        *_extra_totals(count_rows, sum_cols),
    ]
    if amount_col is not None:
        cust_aggs += [
            pl.col("_m").sum().alias("total_amount"),
            pl.col("_m").first().alias("_first_m"),
        ]
    out = per_period.group_by("_code", maintain_order=True).agg(cust_aggs)
    customer = (pl.col("_code") + pl.lit(int(lo), pl.Int64)).cast(dtype)
    first = pl.lit(base) + pl.duration(days=pl.col("_first_off"))
    last = pl.lit(base) + pl.duration(days=pl.col("_last_off"))
    repeat = pl.col("_count") if include_first_transaction else pl.col("_count") - 1
    exprs = [
        customer.alias(customer_col),
        repeat.alias("frequency"),
        ((pl.col("_last_off") - pl.col("_first_off")) / unit).alias("recency"),
        (((end_period - base).days - pl.col("_first_off")) / unit).alias("T"),
    ]
    if amount_col is not None:
        numerator = (
            pl.col("total_amount")
            if include_first_transaction
            else pl.col("total_amount") - pl.col("_first_m")
        )
        exprs.append(
            pl.when(repeat > 0)
            .then(numerator.cast(pl.Float64) / repeat)
            .otherwise(0.0)
            .alias("monetary_value")
        )
        exprs.append(pl.col("total_amount"))
    exprs += [
        first.cast(pl.Date).alias("first_purchase"),
        last.cast(pl.Date).alias("last_purchase"),
    ]
    exprs += [pl.col(c) for c in _extra_names(count_rows, sum_cols)]
    out = out.select(exprs)
    if suffix:
        out = out.rename({c: c + suffix for c in out.collect_schema().names() if c != customer_col})
    return out


#: Largest (max id - min id + 1) / rows for which ``_summary_dense`` indexes arrays by id.
_DENSE_SPREAD = 4
#: Sums of integer money units stay exact in float64 below this bound.
_EXACT_UNITS = 2**53


def _money_expr(name: str, dtype: pl.DataType) -> pl.Expr | None:
    """Money as Float64 for ``bincount``: Decimal as integer units of its scale (exact
    while every partial sum stays below 2^53, checked by the caller); None for dtypes the
    dense path does not handle. A missing amount adds 0, as in the lazy query's sums."""
    if isinstance(dtype, pl.Decimal):
        return pl.col(name).to_physical().cast(pl.Int64).cast(pl.Float64).fill_null(0.0)
    if dtype == pl.Float64:
        return pl.col(name).fill_null(0.0)
    return None


def _units_to_money(name: str, units: np.ndarray, dtype: pl.DataType) -> pl.Series:
    """Per-customer totals from :func:`_money_expr` values back to money (Decimal(38, s))."""
    if not isinstance(dtype, pl.Decimal):
        return pl.Series(name, units, dtype=pl.Float64)
    scale = dtype.scale or 0
    ints = pl.Series(name, np.rint(units).astype(np.int64))
    step = pl.lit(Decimal(1).scaleb(-scale), dtype=pl.Decimal(38, scale))
    return pl.select(
        (ints.cast(pl.Decimal(38, 0)) * step).cast(pl.Decimal(38, scale)).alias(name)
    ).to_series()


def _summary_dense(
    lazy: pl.LazyFrame,
    *,
    customer_col: str,
    ts_col: str,
    amount_col: str | None,
    period: str,
    freq_multiplier: float,
    end: dt.date,
    include_first_transaction: bool,
    count_rows: bool,
    sum_cols: Sequence[str],
) -> pl.DataFrame | None:
    """The summary for integer ids spanning at most ~4x the number of rows.

    With ``code = id - min(id)`` indexing plain arrays, row counts, totals and the first
    and last period are ``bincount`` and ``minimum.at``/``maximum.at`` over the unsorted
    rows (Decimal money as exact integer units; the first period's amount is a second
    ``bincount`` of the units zeroed outside it). The number of distinct periods needs
    one sort of the packed key ``code << 17 | period offset`` with nothing riding along:
    a customer's periods are its keys that differ from their predecessor.
    Measured on 10 million transactions: about 1 s of CPU and 0.45 GB above the input,
    against 2.3 s and 0.7 GB for the lazy sorted query (which sorts the amounts along).
    Returns ``None`` when it does not apply (other ids or money dtypes, sparse ids, no
    rows, sums beyond 2^53 units); the caller then uses the lazy query.
    """
    schema = lazy.collect_schema()
    id_dtype = schema[customer_col]
    if not id_dtype.is_integer() or not isinstance(schema[ts_col], pl.Datetime | pl.Date):
        return None
    money_cols = ([amount_col] if amount_col is not None else []) + list(sum_cols)
    exprs = {c: _money_expr(c, schema[c]) for c in money_cols}
    money = {c: expr for c, expr in exprs.items() if expr is not None}
    if len(money) < len(exprs):
        return None
    unit = _unit_days(period, freq_multiplier)
    end_no = (_period_start_of(end, period) - dt.date(1970, 1, 1)).days
    day = pl.col(ts_col).dt.date() if isinstance(schema[ts_col], pl.Datetime) else pl.col(ts_col)
    query = lazy.select(
        pl.col(customer_col).cast(pl.Int64).alias("_id"),
        _period_start(day, period).cast(pl.Int32).alias("_p"),
        *(expr.alias(f"_m_{c}") for c, expr in money.items()),
    ).filter(pl.col("_id").is_not_null() & (pl.col("_p") <= end_no))
    try:
        rows = query.collect(engine="streaming")  # the casts and the filter run in morsels
    except pl.exceptions.InvalidOperationError:
        return None  # Decimal units beyond Int64: the lazy query sums them as Decimal
    n = rows.height
    if n == 0:
        return None
    # Each column leaves the frame as it becomes an array: one copy alive at a time.
    ids = rows.drop_in_place("_id").to_numpy()
    lo, hi = int(ids.min()), int(ids.max())
    size = hi - lo + 1
    if size > min(_DENSE_SPREAD * n + 1024, 2**31 - 1):
        return None
    for c in money:
        if isinstance(schema[c], pl.Decimal):
            unit_col = rows[f"_m_{c}"]
            top = unit_col.abs().max()
            assert isinstance(top, float)  # Float64 units without nulls, n > 0 rows
            bound = top * n
            if bound >= _EXACT_UNITS and unit_col.abs().sum() >= _EXACT_UNITS:
                return None  # a float64 sum of the units might not be exact
    period_no = rows.drop_in_place("_p").to_numpy()
    base = int(period_no.min())
    if end_no - base >= (1 << _DAY_BITS):
        raise ValueError("transactions span more than 358 years")
    units_of = {c: rows.drop_in_place(f"_m_{c}").to_numpy() for c in money}
    del rows
    # Customer codes index plain arrays (intp: bincount converts anything else per call).
    # Arrays Polars hands over without a copy are read-only; the others are updated in
    # place (fresh 40-80 MB arrays cost page faults, which dominate these passes).
    cust = np.subtract(ids, lo, out=ids) if ids.flags.writeable else ids - lo
    if period_no.flags.writeable:
        off = np.subtract(period_no, np.int32(base), out=period_no)
    else:
        off = period_no - np.int32(base)
    del ids, period_no
    n_rows = np.bincount(cust, minlength=size)
    customers = np.flatnonzero(n_rows)
    sums = {c: np.bincount(cust, weights=u, minlength=size)[customers] for c, u in units_of.items()}
    # First and last period per customer: unbuffered ufunc reductions (NumPy >= 1.25 runs
    # them at memory speed), no sort needed.
    first_full = np.full(size, np.iinfo(np.int32).max, dtype=np.int32)
    np.minimum.at(first_full, cust, off)
    first_off = first_full[customers]
    last_full = np.full(size, -1, dtype=np.int32)
    np.maximum.at(last_full, cust, off)
    last_off = last_full[customers]
    del last_full
    first_amount = None
    if amount_col is not None and not include_first_transaction:
        # Amounts in the customer's first period are not repeat purchases: the units are
        # zeroed outside it (their totals are done) and summed again.
        units = units_of[amount_col]
        if not units.flags.writeable:
            units = units.copy()
        in_first = np.equal(off, first_full[cust])
        np.multiply(units, in_first, out=units)
        first_amount = np.bincount(cust, weights=units, minlength=size)[customers]
        del units, in_first
    del units_of, first_full
    # Distinct periods per customer: one sort of the packed key ``code << 17 | offset``
    # with nothing riding along, then one count per customer of the keys that differ
    # from their predecessor. The row arrays go first (peak memory). Polars' sort on
    # one thread: on 2 cores the threaded one saves 5 % of its wall time for 75 % more
    # CPU (10M keys: 0.16 s wall / 0.30 s CPU against 0.17 s / 0.17 s).
    keys = np.left_shift(cust, _DAY_BITS, out=cust)  # in place: the codes are done with
    keys += off
    del cust, off
    unsorted = pl.DataFrame({"k": keys})
    del keys  # freed now if Polars copied it
    keys = unsorted.sort("k", multithreaded=False).to_series().to_numpy()
    del unsorted
    distinct = keys[1:][keys[1:] != keys[:-1]]
    distinct >>= _DAY_BITS
    periods = np.bincount(distinct, minlength=size)
    periods[keys[0] >> _DAY_BITS] += 1
    periods = periods[customers]
    del keys, distinct
    repeat = periods if include_first_transaction else periods - 1
    columns: list[pl.Series] = [
        # Ascending by construction; the flag spares later sorts and joins a check.
        pl.Series(customer_col, customers.astype(np.int64) + lo).cast(id_dtype).set_sorted(),
        pl.Series("frequency", repeat, dtype=pl.Int64),
        # True division, as lifetimes; Polars sometimes multiplies by 1/unit instead, so
        # the lazy paths may differ from these times in the last bit.
        pl.Series("recency", (last_off - first_off) / unit, dtype=pl.Float64),
        pl.Series("T", ((end_no - base) - first_off.astype(np.int64)) / unit, dtype=pl.Float64),
    ]
    if amount_col is not None:
        total = sums[amount_col]
        numerator: np.ndarray = total if first_amount is None else total - first_amount
        amount_dtype = schema[amount_col]
        if isinstance(amount_dtype, pl.Decimal):
            numerator = numerator / 10.0 ** (amount_dtype.scale or 0)
        mean = np.where(repeat > 0, numerator / np.maximum(repeat, 1), 0.0)
        columns += [
            pl.Series("monetary_value", mean, dtype=pl.Float64),
            _units_to_money("total_amount", total, schema[amount_col]),
        ]
    columns += [
        pl.Series("first_purchase", (first_off + base).astype(np.int32)).cast(pl.Date),
        pl.Series("last_purchase", (last_off + base).astype(np.int32)).cast(pl.Date),
    ]
    if count_rows:
        columns.append(pl.Series("n_transactions", n_rows[customers], dtype=pl.Int64))
    for c in sum_cols:
        columns.append(_units_to_money(f"total_{c}", sums[c], schema[c]))
    return pl.DataFrame(columns)



class _SummaryOptions(TypedDict):
    """The arguments `_summary_dense` and `_summary_lazy` share."""

    customer_col: str
    ts_col: str
    amount_col: str | None
    period: str
    freq_multiplier: float
    end: dt.date
    include_first_transaction: bool
    count_rows: bool
    sum_cols: Sequence[str]


def summary_data_from_transaction_data(
    transactions: pl.DataFrame | pl.LazyFrame,
    *,
    customer_col: str = CUSTOMER,
    ts_col: str = TS,
    amount_col: str | None = AMOUNT,
    period: Period = "day",
    freq_multiplier: float = 1.0,
    observation_end: dt.date | dt.datetime | str | None = None,
    include_first_transaction: bool = False,
    partitions: int | None = None,
    count_rows: bool = False,
    sum_cols: Sequence[str] = (),
) -> pl.DataFrame:
    """Summarise transactions into frequency, recency, T and monetary value per customer.

    Parameters
    ----------
    transactions : polars.DataFrame or polars.LazyFrame
        One row per purchase with a customer column, a Datetime/Date column and
        (optionally) an amount column.
    customer_col, ts_col, amount_col : str
        Column names; ``amount_col=None`` skips the monetary columns.
    period : {"day", "week", "month"}
        Bucket in which purchases collapse (lifetimes' ``freq`` "D", "W", "M").
    freq_multiplier : float
        Divides recency and T, e.g. ``period="day", freq_multiplier=7`` measures time in
        weeks of 7 days while collapsing purchases by day (lifetimes semantics).
    observation_end : date, datetime or ISO string, optional
        Last day observed (inclusive); later purchases are ignored. Defaults to the date of
        the last purchase.
    include_first_transaction : bool
        Count the first period in ``frequency`` and ``monetary_value`` (do not do this for
        the BTYD models, which model repeat purchases).
    partitions : int, optional
        Number of disjoint customer sets (by hash of the id) summarised one after the
        other to bound peak memory; default 1 for integer ids, else one per 2.5 million
        transactions. The result does not depend on it.

    Returns
    -------
    polars.DataFrame
        One row per customer, sorted by customer: ``frequency`` (Int64), ``recency``,
        ``T``, and when an amount is given ``monetary_value`` (Float64) and
        ``total_amount`` (sum of all purchases, same dtype as the amount), plus
        ``first_purchase`` and ``last_purchase`` (start dates of those periods), then the
        optional ``n_transactions`` and ``total_<col>`` columns.

    References
    ----------
    lifetimes 0.11.3, ``lifetimes.utils.summary_data_from_transaction_data``.
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
    easy way. *Marketing Science* 24(2), 275-284, section 2 (x, t_x, T).
    """
    lazy = transactions.lazy()
    if observation_end is None:
        last = lazy.select(pl.col(ts_col).max()).collect().item()
        if last is None:
            raise ValueError("no transactions to summarise")
        end = as_date(last)
    else:
        end = as_date(observation_end)
    if partitions is None:
        # The sorted path (integer ids) needs little memory; hashing strings benefits from
        # summarising customer sets one at a time (10M rows: 1.5 GB peak in one go, 0.85 GB
        # in four parts).
        if lazy.collect_schema()[customer_col].is_integer():
            partitions = 1
        else:
            n_rows = lazy.select(pl.len()).collect().item()
            partitions = max(1, -(-n_rows // ROWS_PER_PARTITION))
    options: _SummaryOptions = {
        "customer_col": customer_col,
        "ts_col": ts_col,
        "amount_col": amount_col,
        "period": period,
        "freq_multiplier": freq_multiplier,
        "end": end,
        "include_first_transaction": include_first_transaction,
        "count_rows": count_rows,
        "sum_cols": tuple(sum_cols),
    }
    if partitions == 1:
        dense = _summary_dense(lazy, **options)
        if dense is not None:
            return dense
    parts = []
    for k in range(partitions):
        # Customers are independent: summarising disjoint customer sets one at a time
        # bounds the group-by's working memory (DESIGN.md: "they split by customer").
        part = (
            lazy
            if partitions == 1
            else lazy.filter(pl.col(customer_col).hash(seed=0) % partitions == k)
        )
        summary = _summary_lazy(part, **options)
        parts.append(summary.collect(engine="streaming"))
    return pl.concat(parts).sort(customer_col)


def _months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def calibration_and_holdout_data(
    transactions: pl.DataFrame | pl.LazyFrame,
    *,
    calibration_end: dt.date | dt.datetime | str,
    observation_end: dt.date | dt.datetime | str | None = None,
    customer_col: str = CUSTOMER,
    ts_col: str = TS,
    amount_col: str | None = AMOUNT,
    period: Period = "day",
    freq_multiplier: float = 1.0,
    include_first_transaction: bool = False,
) -> pl.DataFrame:
    """Split transactions into a calibration summary and holdout actuals per customer.

    Customers are those who bought by ``calibration_end``; their calibration summary has
    the columns of :func:`summary_data_from_transaction_data` suffixed ``_cal``. The
    holdout covers the days after ``calibration_end`` up to ``observation_end``:
    ``frequency_holdout`` counts distinct purchase periods there, ``monetary_value_holdout``
    is the mean amount of the holdout purchases (raw rows, as lifetimes does) and
    ``duration_holdout`` is the number of periods between the two ends divided by
    ``freq_multiplier``.

    Parameters
    ----------
    transactions : polars.DataFrame or polars.LazyFrame
        The transaction table.
    calibration_end : date, datetime or ISO string
        Last day of calibration (inclusive).
    observation_end : date, datetime or ISO string, optional
        Last day of the holdout (inclusive); defaults to the last purchase's date.
    customer_col, ts_col, amount_col, period, freq_multiplier, include_first_transaction
        As in :func:`summary_data_from_transaction_data`.

    Returns
    -------
    polars.DataFrame
        One row per calibration customer, sorted by customer.

    Raises
    ------
    ValueError
        If the holdout period holds no transactions or ends before calibration.

    References
    ----------
    lifetimes 0.11.3, ``lifetimes.utils.calibration_and_holdout_data``.
    """
    lazy = transactions.lazy()
    cal_end = as_date(calibration_end)
    if observation_end is None:
        last = lazy.select(pl.col(ts_col).max()).collect().item()
        obs_end = as_date(last)
    else:
        obs_end = as_date(observation_end)
    if obs_end <= cal_end:
        raise ValueError("observation_end must be after calibration_end")
    cal_cut = dt.datetime.combine(cal_end + dt.timedelta(days=1), dt.time())
    obs_cut = dt.datetime.combine(obs_end + dt.timedelta(days=1), dt.time())
    ts = pl.col(ts_col).cast(pl.Datetime("us"))
    cal = _summary_lazy(
        lazy.filter(ts < cal_cut),
        customer_col=customer_col,
        ts_col=ts_col,
        amount_col=amount_col,
        period=period,
        freq_multiplier=freq_multiplier,
        end=cal_end,
        include_first_transaction=include_first_transaction,
        suffix="_cal",
    )
    hold_tx = lazy.filter((ts >= cal_cut) & (ts < obs_cut))
    hold_aggs = [
        _period_start(pl.col(ts_col).dt.date(), period).n_unique().alias("frequency_holdout")
    ]
    if amount_col is not None:
        hold_aggs.append(pl.col(amount_col).cast(pl.Float64).mean().alias("monetary_value_holdout"))
    hold = hold_tx.group_by(customer_col).agg(hold_aggs)
    start_p, end_p = _period_start_of(cal_end, period), _period_start_of(obs_end, period)
    if period == "month":
        n_periods = float(_months_between(start_p, end_p))
    else:
        n_periods = (end_p - start_p).days / PERIOD_DAYS[period]
    fill = [pl.col("frequency_holdout").fill_null(0).cast(pl.Int64)]
    if amount_col is not None:
        fill.append(pl.col("monetary_value_holdout").fill_null(0.0))
    out = (
        cal.join(hold, on=customer_col, how="left")
        .with_columns(fill)
        .with_columns(pl.lit(n_periods / freq_multiplier).alias("duration_holdout"))
        .sort(customer_col)
        .collect(engine="streaming")
    )
    if out["frequency_holdout"].sum() == 0 and hold_tx.select(pl.len()).collect().item() == 0:
        raise ValueError("no transactions in the holdout period")
    return out
