"""RFM: recency, frequency and monetary value, quantile scores and named segments.

Seed 004 ("Diferencie a sus clientes … por su nivel de compras") and seed 002 ("Categoriza
tus clientes") ask to tell customers apart by how recently, how often and how much they buy.

Scores
    Each of R, F and M is scored 1..q by its rank among the customers scored together
    (``q = 5``: quintiles). With ``rank_min`` the 1-based rank (ties share the smallest rank)
    and ``n`` the number of customers, ``score = 1 + floor((rank_min - 1) * q / n)``. Tied
    values always get the same score, so the result is deterministic and does not depend on
    row order. Recency is ranked so that the most recent customers get the highest score.

Segments
    The standard R × FM grid (Putler / Blast "RFM segments"), on the 1..5 scale: scores for
    other ``q`` are mapped with ``s5 = ceil(s * 5 / q)``, and ``FM = round_half_up((F5+M5)/2)``::

        R \\ FM   1               2               3               4           5
        5        new             potential_loyal potential_loyal champions   champions
        4        promising       potential_loyal potential_loyal loyal       loyal
        3        about_to_sleep  about_to_sleep  need_attention  loyal       loyal
        2        hibernating     hibernating     at_risk         at_risk     cannot_lose
        1        lost            hibernating     at_risk         at_risk     cannot_lose

    Display names (Campeones, Leales, …) are in :mod:`fideliza.analytics.labels`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Literal, TypedDict

import numpy as np
import polars as pl

from fideliza.analytics.metrics import (
    Frame,
    as_lazy,
    column_names,
    dated_between,
    orders_expr,
    purchase_date,
    resolve_as_of,
)

SEGMENTS: tuple[str, ...] = (
    "champions",
    "loyal",
    "potential_loyal",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
)

# Rows are R = 5, 4, 3, 2, 1; columns FM = 1..5.
_GRID_ROWS: tuple[tuple[str, ...], ...] = (
    ("new", "potential_loyal", "potential_loyal", "champions", "champions"),
    ("promising", "potential_loyal", "potential_loyal", "loyal", "loyal"),
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    ("lost", "hibernating", "at_risk", "at_risk", "cannot_lose"),
)

DEFAULT_GRID: Mapping[tuple[int, int], str] = {
    (5 - i, fm + 1): code for i, row in enumerate(_GRID_ROWS) for fm, code in enumerate(row)
}
"""(R score, FM score) on the 1..5 scale -> segment code."""

Monetary = Literal["total", "mean"]

_GRID_CELLS = [(r, fm) for r in range(1, 6) for fm in range(1, 6)]


def quantile_scores(values: np.ndarray, q: int, *, descending: bool = False) -> np.ndarray:
    """Score ``values`` 1..q: ``1 + floor((rank_min - 1) * q / n)``.

    ``rank_min`` is the 1-based rank with ties sharing the smallest rank, so equal values
    always get the same score. ``rank_min - 1`` is the number of strictly smaller values;
    it is counted with a histogram for integers of moderate range, and otherwise derived
    from the q - 1 order statistics at positions ``ceil(j n / q) - 1``
    (``rank_min - 1 >= p  <=>  sorted[p - 1] < v``): a partition, never a full sort.
    ``descending=True`` gives the highest score to the smallest values (recency). Returns
    int8; an empty input gives an empty array.
    """
    if q < 1:
        raise ValueError("q must be >= 1")
    v = np.asarray(values)
    n = v.size
    if n == 0 or q == 1:
        return np.ones(n, dtype=np.int8)
    if np.issubdtype(v.dtype, np.integer):
        lo, hi = int(v.min()), int(v.max())
        if hi - lo <= 4 * n + 1024:
            x = (hi - v if descending else v - lo).astype(np.int64)
            counts = np.bincount(x, minlength=hi - lo + 1)
            smaller = np.cumsum(counts) - counts
            return (1 + smaller[x] * q // n).astype(np.int8)
    f = np.asarray(v, dtype=np.float64)
    if descending:
        f = -f
    kth = np.array([-(-j * n // q) - 1 for j in range(1, q)], dtype=np.int64)
    thresholds = np.partition(f, kth)[kth]
    return (1 + np.searchsorted(thresholds, f, side="left")).astype(np.int8)


def _grid_lookup(grid: Mapping[tuple[int, int], str] | None) -> np.ndarray:
    grid = DEFAULT_GRID if grid is None else grid
    missing = set(_GRID_CELLS) - set(grid)
    if missing:
        raise ValueError(f"grid lacks cells {sorted(missing)}")
    return np.array([grid[cell] for cell in _GRID_CELLS], dtype=object)


def segment_index(r: np.ndarray, f: np.ndarray, m: np.ndarray, q: int = 5) -> np.ndarray:
    """Index into the 25 grid cells ((R5 - 1) * 5 + FM5 - 1) from scores 1..q."""

    def five(s: np.ndarray) -> np.ndarray:
        return (s.astype(np.int64) * 5 + q - 1) // q

    fm5 = (five(f) + five(m) + 1) // 2
    return (five(r) - 1) * 5 + (fm5 - 1)


def segment_of(
    r_score: int,
    f_score: int,
    m_score: int,
    q: int = 5,
    grid: Mapping[tuple[int, int], str] | None = None,
) -> str:
    """Segment code of one (R, F, M) score triple (module docstring grid)."""
    idx = segment_index(np.array([r_score]), np.array([f_score]), np.array([m_score]), q)
    return str(_grid_lookup(grid)[idx[0]])


def _scores(
    recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray, q: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        quantile_scores(recency, q, descending=True),
        quantile_scores(frequency, q),
        quantile_scores(monetary, q),
    )


def _segment_enum(lookup: np.ndarray) -> pl.Enum:
    extra = sorted({str(x) for x in lookup} - set(SEGMENTS))
    return pl.Enum([*SEGMENTS, *extra])


def _score_columns(
    r: np.ndarray, f: np.ndarray, m: np.ndarray, q: int, lookup: np.ndarray
) -> list[pl.Series]:
    """Score columns plus ``rfm_score`` ("R-F-M") and ``segment`` as Enum columns.

    Both labels are gathered from small tables (q**3 combinations, 25 grid cells), which
    is much cheaper than building one string per customer.
    """
    combos = [
        f"{a}-{b}-{c}" for a in range(1, q + 1) for b in range(1, q + 1) for c in range(1, q + 1)
    ]
    combo_idx = ((r.astype(np.int64) - 1) * q + (f - 1)) * q + (m - 1)
    seg_dtype = _segment_enum(lookup)
    cells = pl.Series([str(x) for x in lookup], dtype=seg_dtype)
    return [
        pl.Series("r_score", r),
        pl.Series("f_score", f),
        pl.Series("m_score", m),
        pl.Series(combos, dtype=pl.Enum(combos)).gather(combo_idx).alias("rfm_score"),
        cells.gather(segment_index(r, f, m, q)).alias("segment"),
    ]


def _ranking_monetary(frame: pl.DataFrame, monetary: Monetary) -> np.ndarray:
    """Monetary as float64 for ranking, before any Decimal rounding of a mean."""
    revenue = frame["revenue"].cast(pl.Float64).to_numpy()
    if monetary == "mean":
        return revenue / frame["frequency"].to_numpy()
    return revenue


def _monetary(monetary: Monetary) -> pl.Expr:
    if monetary == "total":
        return pl.col("revenue")
    if monetary == "mean":
        return pl.col("revenue") / pl.col("frequency")
    raise ValueError("monetary must be 'total' or 'mean'")


def rfm_table(
    transactions: Frame,
    *,
    as_of: dt.date | dt.datetime | None = None,
    q: int = 5,
    monetary: Monetary = "total",
    grid: Mapping[tuple[int, int], str] | None = None,
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
) -> pl.DataFrame:
    """RFM values, scores and segment of every customer who bought on or before ``as_of``.

    Parameters
    ----------
    transactions
        Transaction lines; rows dated after ``as_of`` are ignored.
    as_of
        Observation end (inclusive, day granularity); default the last transaction date.
    q
        Number of score levels (5 = quintiles).
    monetary
        ``"total"``: revenue of the customer up to ``as_of``; ``"mean"``: revenue / orders.
    grid
        Optional replacement of :data:`DEFAULT_GRID`.
    order_col
        Orders are distinct values of this column; if the frame lacks it, every row is an
        order.

    Returns
    -------
    pl.DataFrame
        One row per customer, sorted by customer: ``customer_id, first_purchase,
        last_purchase, recency_days`` (days from the last purchase date to ``as_of``),
        ``frequency`` (orders), ``revenue`` (sum of amount; Decimal stays Decimal),
        ``monetary``, ``r_score, f_score, m_score`` (1..q), ``rfm_score`` ("5-4-3"),
        ``segment`` (code, see :data:`SEGMENTS`).
    """
    lookup = _grid_lookup(grid)
    lf = as_lazy(transactions)
    cols = column_names(lf)
    end = resolve_as_of(lf, as_of, ts_col)
    per_customer = (
        lf.filter(dated_between(lf, ts_col, None, end))
        .group_by(customer_col)
        .agg(
            first_purchase=pl.col(ts_col).min(),
            last_purchase=pl.col(ts_col).max(),
            frequency=orders_expr(cols, order_col).cast(pl.Int64),
            revenue=pl.col(amount_col).sum(),
        )
        .with_columns(
            first_purchase=pl.col("first_purchase").dt.date(),
            last_purchase=pl.col("last_purchase").dt.date(),
        )
        .with_columns(recency_days=(pl.lit(end) - pl.col("last_purchase")).dt.total_days())
        .with_columns(monetary=_monetary(monetary))
        .sort(customer_col)
        .collect()
    )
    r, f, m = _scores(
        per_customer["recency_days"].to_numpy(),
        per_customer["frequency"].to_numpy(),
        _ranking_monetary(per_customer, monetary),
        q,
    )
    out = per_customer.with_columns(_score_columns(r, f, m, q, lookup))
    return out.select(
        customer_col,
        "first_purchase",
        "last_purchase",
        "recency_days",
        "frequency",
        "revenue",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_score",
        "segment",
    )


def rfm_scores(
    customers: Frame,
    *,
    q: int = 5,
    grid: Mapping[tuple[int, int], str] | None = None,
    recency_col: str = "recency_days",
    frequency_col: str = "frequency",
    monetary_col: str = "monetary",
) -> pl.DataFrame:
    """Score an already aggregated customer table (one row per customer).

    Same scores and segments as :func:`rfm_table`, for callers that hold per-customer
    aggregates already (the nightly pipeline's summary, a database view): it skips the
    pass over the transactions, so it costs milliseconds per million customers. Recency
    must be "time since the last purchase" (for a BTYD summary: ``T - recency``); nulls
    are not allowed. Returns the input rows, in order, plus ``r_score, f_score, m_score,
    rfm_score, segment``.
    """
    lookup = _grid_lookup(grid)
    frame = as_lazy(customers).collect()
    r, f, m = _scores(
        frame[recency_col].to_numpy(),
        frame[frequency_col].to_numpy(),
        frame[monetary_col].cast(pl.Float64).to_numpy(),
        q,
    )
    return frame.with_columns(_score_columns(r, f, m, q, lookup))


def month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every month-end date ``d`` with ``start <= d <= end``."""
    if end < start:
        return []
    first = start.replace(day=1)
    starts = pl.date_range(first, end, "1mo", eager=True)
    ends = starts.dt.month_end()
    return [d for d in ends.to_list() if start <= d <= end]


def _money_units(series: pl.Series) -> tuple[np.ndarray, int | None]:
    """Amounts as float64 for bincount; Decimal as exact integer units of its scale."""
    if isinstance(series.dtype, pl.Decimal):
        scale = series.dtype.scale or 0
        units = series.to_physical().cast(pl.Int64).to_numpy().astype(np.float64)
        return units, scale
    return series.cast(pl.Float64).to_numpy(), None


def _money_series(name: str, values: np.ndarray, scale: int | None) -> pl.Series:
    if scale is None:
        return pl.Series(name, values, dtype=pl.Float64)
    if np.abs(values).max(initial=0.0) >= 2.0**53:
        raise OverflowError("money total too large for exact Decimal accumulation")
    ints = pl.Series(name, np.rint(values).astype(np.int64))
    unit = Decimal(1).scaleb(-scale)
    return pl.select(
        (ints.cast(pl.Decimal(38, 0)) * pl.lit(unit, dtype=pl.Decimal(38, scale)))
        .cast(pl.Decimal(38, scale))
        .alias(name)
    ).to_series()


def rfm_history(
    transactions: Frame,
    *,
    start: dt.date | dt.datetime | None = None,
    end: dt.date | dt.datetime | None = None,
    q: int = 5,
    monetary: Monetary = "total",
    grid: Mapping[tuple[int, int], str] | None = None,
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
) -> pl.DataFrame:
    """RFM segment of every customer at each month end between ``start`` and ``end``.

    At each month end ``M`` the customers who had bought on or before ``M`` are scored
    together exactly as :func:`rfm_table` with ``as_of=M`` would (same formulas, all history
    up to ``M``). Vectorised: one pass assigns each transaction to a (customer, month)
    cell; counts, revenue and last purchase day are accumulated with ``bincount`` /
    ``maximum.at`` into customer × month arrays and cumulated along months; each month end
    is then scored with :func:`quantile_scores` (a loop over months, never over customers).

    Parameters
    ----------
    start, end
        Range of month ends (inclusive). Defaults: the first and the last transaction dates;
        a partial last month is not included (use :func:`rfm_table` for "today").
    order_col
        As in :func:`rfm_table`; an order spanning two calendar months counts in both.

    Returns
    -------
    pl.DataFrame
        ``period_end, customer_id, recency_days, frequency, revenue, monetary, r_score,
        f_score, m_score, rfm_score, segment`` sorted by period_end then customer.
        Decimal revenue stays Decimal (accumulated exactly in units of its scale).
    """
    lookup = _grid_lookup(grid)
    lf = as_lazy(transactions)
    cols = column_names(lf)
    last = resolve_as_of(lf, end, ts_col)
    if start is None:
        first = lf.select(purchase_date(ts_col).min()).collect().item()
    else:
        first = resolve_as_of(lf, start, ts_col)
    periods = month_ends(first, last) if first is not None else []
    amount_dtype = lf.collect_schema()[amount_col]
    if not periods:
        empty = {k: np.array([], dtype=np.int64) for k in ("day", "code", "rec", "freq")}
        empty["day"] = empty["day"].astype(np.int32)
        empty["rev"] = np.array([], dtype=np.float64)
        no_ids = pl.Series(customer_col, [], dtype=lf.collect_schema()[customer_col])
        no_scale = amount_dtype.scale if isinstance(amount_dtype, pl.Decimal) else None
        return _history_frame(empty, no_ids, no_scale, q, lookup, monetary, customer_col)
    horizon = periods[-1]
    p0 = periods[0]
    n_periods = len(periods)
    base = lf.filter(dated_between(lf, ts_col, None, horizon))
    customers = (
        base.select(pl.col(customer_col).unique()).sort(customer_col).with_row_index("_code")
    )
    day = purchase_date(ts_col)
    month_no = day.dt.year().cast(pl.Int64) * 12 + day.dt.month().cast(pl.Int64)
    keep = [pl.col("_code"), pl.col(amount_col)]
    if order_col is not None and order_col in cols:
        keep.append(pl.col(order_col))
    rows = (
        base.join(customers, on=customer_col, how="inner")
        .select(
            *keep,
            _k=(month_no - (p0.year * 12 + p0.month)).clip(lower_bound=0).cast(pl.Int64),
            _day=day.cast(pl.Int32),
        )
        .collect()
    )
    ids = customers.select(customer_col).collect().to_series()
    n = ids.len()
    cell = rows["_code"].to_numpy().astype(np.int64) * n_periods + rows["_k"].to_numpy()
    size = n * n_periods
    if order_col is not None and order_col in cols:
        orders = (
            rows.select("_code", "_k", order_col)
            .unique()
            .select(cell=pl.col("_code").cast(pl.Int64) * n_periods + pl.col("_k"))
        )
        counts = np.bincount(orders["cell"].to_numpy(), minlength=size)
    else:
        counts = np.bincount(cell, minlength=size)
    money, scale = _money_units(rows[amount_col])
    revenue = np.bincount(cell, weights=money, minlength=size)
    last_day = np.full(size, np.iinfo(np.int32).min, dtype=np.int32)
    np.maximum.at(last_day, cell, rows["_day"].to_numpy())
    del rows, cell, money
    counts = counts.reshape(n, n_periods).cumsum(axis=1)
    revenue = revenue.reshape(n, n_periods).cumsum(axis=1)
    last_day = np.maximum.accumulate(last_day.reshape(n, n_periods), axis=1)
    epoch = dt.date(1970, 1, 1)
    acc: dict[str, list[np.ndarray]] = {k: [] for k in ("day", "code", "rec", "freq", "rev")}
    for k, period_end in enumerate(periods):
        members = np.flatnonzero(counts[:, k] > 0)
        day_no = (period_end - epoch).days
        acc["day"].append(np.full(members.size, day_no, dtype=np.int32))
        acc["code"].append(members)
        acc["rec"].append(day_no - last_day[members, k].astype(np.int64))
        acc["freq"].append(counts[members, k].astype(np.int64))
        acc["rev"].append(revenue[members, k])
    return _history_frame(
        {k: np.concatenate(v) for k, v in acc.items()},
        ids,
        scale,
        q,
        lookup,
        monetary,
        customer_col,
    )


def _history_frame(
    arrays: dict[str, np.ndarray],
    ids: pl.Series,
    scale: int | None,
    q: int,
    lookup: np.ndarray,
    monetary: Monetary,
    customer_col: str,
) -> pl.DataFrame:
    """Assemble the long history frame, scoring each month end separately."""
    day, rec, freq, rev = arrays["day"], arrays["rec"], arrays["freq"], arrays["rev"]
    r = np.empty(day.size, dtype=np.int8)
    f = np.empty(day.size, dtype=np.int8)
    m = np.empty(day.size, dtype=np.int8)
    mon = rev / np.maximum(freq, 1) if monetary == "mean" else rev
    bounds = np.flatnonzero(np.diff(day)) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    stops = np.concatenate([bounds, [day.size]]).astype(np.int64)
    for lo, hi in zip(starts, stops, strict=True):
        if hi > lo:
            r[lo:hi], f[lo:hi], m[lo:hi] = _scores(rec[lo:hi], freq[lo:hi], mon[lo:hi], q)
    out = pl.DataFrame(
        [
            pl.Series("period_end", day, dtype=pl.Int32).cast(pl.Date),
            ids.gather(arrays["code"]).alias(customer_col),
            pl.Series("recency_days", rec, dtype=pl.Int64),
            pl.Series("frequency", freq, dtype=pl.Int64),
            _money_series("revenue", rev, scale),
        ]
    )
    return (
        out.with_columns(monetary=_monetary(monetary))
        .with_columns(_score_columns(r, f, m, q, lookup))
        .select(_history_columns(customer_col))
    )


def _history_columns(customer_col: str) -> list[str]:
    return [
        "period_end",
        customer_col,
        "recency_days",
        "frequency",
        "revenue",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_score",
        "segment",
    ]


def segment_movement(
    before: Frame,
    after: Frame,
    *,
    customer_col: str = "customer_id",
    segment_col: str = "segment",
    absent: str = "none",
) -> pl.DataFrame:
    """Movement matrix between two segmentations of the same customers (long form).

    A customer missing from one side is counted under ``absent`` there (for RFM: had not
    bought yet at the earlier date). Returns ``from_segment, to_segment, customers,
    share_of_from`` (customers / customers in ``from_segment``; the row shares of every
    ``from_segment`` sum to 1), sorted by from/to segment.
    """
    b = as_lazy(before).select(
        customer_col, pl.col(segment_col).cast(pl.String).alias("from_segment")
    )
    a = as_lazy(after).select(customer_col, pl.col(segment_col).cast(pl.String).alias("to_segment"))
    return (
        b.join(a, on=customer_col, how="full", coalesce=True)
        .with_columns(pl.col("from_segment", "to_segment").fill_null(absent))
        .group_by("from_segment", "to_segment")
        .agg(customers=pl.len().cast(pl.Int64))
        .with_columns(
            share_of_from=pl.col("customers") / pl.col("customers").sum().over("from_segment")
        )
        .sort("from_segment", "to_segment")
        .collect()
    )



class _RfmOptions(TypedDict):
    """The `rfm_table` arguments both dates of `rfm_movement` share."""

    q: int
    monetary: Monetary
    customer_col: str
    ts_col: str
    amount_col: str
    order_col: str | None


def rfm_movement(
    transactions: Frame,
    *,
    from_date: dt.date | dt.datetime,
    to_date: dt.date | dt.datetime,
    q: int = 5,
    monetary: Monetary = "total",
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
) -> pl.DataFrame:
    """From-segment × to-segment customer counts between two dates (see
    :func:`segment_movement`); customers with no purchase by ``from_date`` come from
    ``"none"``."""
    kw = _RfmOptions(
        q=q,
        monetary=monetary,
        customer_col=customer_col,
        ts_col=ts_col,
        amount_col=amount_col,
        order_col=order_col,
    )
    before = rfm_table(transactions, as_of=from_date, **kw)
    after = rfm_table(transactions, as_of=to_date, **kw)
    return segment_movement(before, after, customer_col=customer_col)
