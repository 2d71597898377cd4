"""Retention metrics by period and by segment.

The shop owner's questions (seed 002, "Gestión estratégica de clientes actuales") turned
into exact formulas. Every function takes a transaction table (canonical columns
``customer_id``, ``ts``, ``amount``, optional ``margin``, ``product_id``, ``order_id``) and
returns a Polars DataFrame; each metric column's formula is in the docstring so the UI can
show a "¿cómo se calcula?" tooltip.

This module also holds the small frame helpers the other descriptive modules share
(:func:`as_lazy`, :func:`resolve_as_of`, :func:`purchase_date`, :func:`orders_expr`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import polars as pl

Frame = pl.DataFrame | pl.LazyFrame

_DATE = "_date"


# --------------------------------------------------------------------------- helpers


def as_lazy(frame: Frame) -> pl.LazyFrame:
    """Return ``frame`` as a LazyFrame (no copy for a LazyFrame)."""
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def column_names(lf: pl.LazyFrame) -> list[str]:
    """Column names of a LazyFrame without collecting it."""
    return lf.collect_schema().names()


def purchase_date(ts_col: str = "ts") -> pl.Expr:
    """The calendar date of ``ts_col`` (local date for a tz-aware Datetime)."""
    return pl.col(ts_col).dt.date()


def _to_date(value: dt.date | dt.datetime, tz: str | None) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and tz is not None:
            return value.astimezone(ZoneInfo(tz)).date()
        return value.date()
    return value


def resolve_as_of(
    lf: pl.LazyFrame, as_of: dt.date | dt.datetime | None, ts_col: str = "ts"
) -> dt.date:
    """The observation-end date (inclusive) used by the descriptive functions.

    ``None`` means the date of the last transaction. A tz-aware datetime is converted to the
    time zone of ``ts_col`` before taking its date, so "today" means the shop's today.
    Analytics here work at day granularity: transactions dated on ``as_of`` count.
    """
    dtype = lf.collect_schema()[ts_col]
    tz = getattr(dtype, "time_zone", None)
    if as_of is None:
        last = lf.select(purchase_date(ts_col).max()).collect().item()
        if last is None:
            raise ValueError("cannot infer as_of from an empty transaction table")
        return last
    return _to_date(as_of, tz)


def orders_expr(columns: Sequence[str], order_col: str | None = "order_id") -> pl.Expr:
    """Number of orders in a group: distinct ``order_col`` or, without it, rows."""
    if order_col is not None and order_col in columns:
        return pl.col(order_col).n_unique()
    return pl.len()


def customer_codes(lf: pl.LazyFrame, customer_col: str) -> tuple[pl.DataFrame, pl.LazyFrame]:
    """Dense Int64 codes ``_c`` for the customers of ``lf``, and ``lf`` with ``_c`` joined.

    Packing ``_c`` with a small integer (a day or period number) into one Int64 key turns
    "group/sort by customer and date" into a single-integer sort, several times cheaper
    than a two-column sort for arbitrary customer identifiers.
    """
    codes = (
        lf.select(pl.col(customer_col).unique())
        .with_row_index("_c")
        .with_columns(pl.col("_c").cast(pl.Int64))
        .collect()
    )
    return codes, lf.join(codes.lazy(), on=customer_col, how="inner")


KEY_BITS = 22
"""Low bits of a packed (customer code, small number) key: numbers below 2**22."""


def ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """``num / den`` as Float64, null where ``den`` is zero or null."""
    den_f = den.cast(pl.Float64)
    return pl.when(den_f != 0).then(num.cast(pl.Float64) / den_f).otherwise(None)


def dated_between(
    lf: pl.LazyFrame,
    ts_col: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pl.Expr:
    """Predicate: the purchase date is in ``[start, end]`` (both inclusive, either open).

    For naive timestamps it compares raw values against day boundaries (no per-row date
    conversion); for tz-aware ones it compares local dates, which is DST-safe.
    """
    dtype = lf.collect_schema()[ts_col]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        unit = dtype.time_unit or "us"

        def bound(day: dt.date) -> pl.Expr:
            return pl.lit(dt.datetime.combine(day, dt.time())).cast(pl.Datetime(unit))

        col, lo, hi = pl.col(ts_col), start, end
        pred = pl.lit(True)
        if lo is not None:
            pred = pred & (col >= bound(lo))
        if hi is not None:
            pred = pred & (col < bound(hi + dt.timedelta(days=1)))
        return pred
    day = purchase_date(ts_col)
    pred = pl.lit(True)
    if start is not None:
        pred = pred & (day >= pl.lit(start, dtype=pl.Date))
    if end is not None:
        pred = pred & (day <= pl.lit(end, dtype=pl.Date))
    return pred


# --------------------------------------------------------------------------- periods


def period_number(day: pl.Expr, freq: str) -> pl.Expr:
    """Consecutive integer number of the calendar period of a date expression.

    ``"1mo"``: year * 12 + month - 1; ``"1q"``: that // 3; ``"1y"``: the year. Consecutive
    periods differ by one, which makes "bought in the previous period" an integer test.
    """
    months = day.dt.year().cast(pl.Int64) * 12 + day.dt.month().cast(pl.Int64) - 1
    if freq == "1mo":
        return months
    if freq == "1q":
        return months // 3
    if freq == "1y":
        return day.dt.year().cast(pl.Int64)
    raise ValueError("freq must be '1mo', '1q' or '1y'")


def period_from_number(number: pl.Expr, freq: str) -> pl.Expr:
    """First day of the period numbered by :func:`period_number`."""
    if freq == "1y":
        return pl.date(number, 1, 1)
    months = number * 3 if freq == "1q" else number
    if freq not in ("1mo", "1q"):
        raise ValueError("freq must be '1mo', '1q' or '1y'")
    return pl.date(months // 12, months % 12 + 1, 1)


def _period_range(first: dt.date, last: dt.date, freq: str) -> pl.Series:
    start = pl.select(pl.lit(first).dt.truncate(freq)).item()
    return pl.date_range(start, last, freq, eager=True).alias("period")


def period_metrics(
    transactions: Frame,
    *,
    freq: str = "1y",
    start: dt.date | None = None,
    end: dt.date | dt.datetime | None = None,
    segments: Frame | None = None,
    segment_col: str | None = None,
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str = "amount",
    margin_col: str | None = "margin",
    order_col: str | None = "order_id",
    product_col: str | None = "product_id",
    quantity_col: str | None = "quantity",
) -> pl.DataFrame:
    """Customer flows and sales indicators per calendar period (and per segment).

    A customer is *active* in a period when they buy in it. For period ``p`` (``freq`` a
    Polars calendar interval: ``"1mo"``, ``"1q"``, ``"1y"``) and its previous period
    ``p - 1``:

    * ``customers_start`` — active in ``p - 1`` (the base at the start of ``p``);
    * ``retained`` — active in ``p - 1`` and in ``p``;
    * ``lost`` — active in ``p - 1``, not in ``p`` (= customers_start - retained);
    * ``new`` — first purchase ever in ``p``; ``reactivated`` — active in ``p``, not in
      ``p - 1``, bought before; ``customers`` — active in ``p`` = retained + new +
      reactivated;
    * ``retention_rate`` = retained / customers_start; ``churn_rate`` (índice de abandono,
      seed 002 §2.2: "clientes que dejan de comprarte dividido el total de clientes") =
      lost / customers_start; they sum to 1 (null when customers_start = 0);
    * ``revenue``, ``margin``, ``orders``, ``units`` (sum of ``quantity_col``, else rows);
    * ``average_purchase`` (compra promedio, seed 002 §3.1: ventas / cantidad de clientes)
      = revenue / customers; ``average_order_value`` = revenue / orders;
      ``purchase_frequency`` = orders / customers;
    * ``products_per_customer`` (seed 002 §3.2) = mean over active customers of their
      distinct products in ``p``; ``units_per_customer`` = units / customers;
    * ``recurring_revenue_share`` = revenue of retained + reactivated customers / revenue;
    * ``churn_cost_revenue`` / ``churn_cost_margin`` (costo del abandono, seed 002 §2.1) =
      what the lost customers bought in ``p - 1``; ``churn_cost_annual_revenue`` = sum over
      lost customers of their average yearly revenue (revenue up to ``p - 1`` / years from
      the start of their first active period to the end of ``p - 1``, at least one year).

    With ``segments`` (a customer-level frame with ``customer_col`` and ``segment_col``)
    every figure is computed per segment; counts, revenue, margin and costs of disjoint
    segments add up to the totals. Customers missing from ``segments`` fall in a null
    segment.

    Returns
    -------
    pl.DataFrame
        One row per ``period`` (start date) [× ``segment_col``] in ``[start, end]``
        (defaults: the whole data range), sorted. Money columns keep the input dtype.
    """
    lf = as_lazy(transactions)
    cols = column_names(lf)
    last = resolve_as_of(lf, end, ts_col)
    first_date = lf.select(purchase_date(ts_col).min()).collect().item()
    if first_date is None:
        raise ValueError("empty transaction table")
    first = start if start is not None else first_date
    has_margin = margin_col is not None and margin_col in cols
    money = [pl.col(amount_col).sum().alias("revenue")]
    if has_margin and margin_col is not None:
        money.append(pl.col(margin_col).sum().alias("margin"))
    units = (
        pl.col(quantity_col).sum()
        if quantity_col is not None and quantity_col in cols
        else pl.len()
    )
    products = (
        pl.col(product_col).n_unique()
        if product_col is not None and product_col in cols
        else pl.lit(None, dtype=pl.UInt32)
    )
    dated = lf.filter(dated_between(lf, ts_col, None, last))
    codes, coded = customer_codes(dated, customer_col)
    bits = 1 << KEY_BITS
    # One row per (customer, period), keyed and sorted by a packed Int64 (customer, period).
    buyers = (
        coded.group_by(
            (pl.col("_c") * bits + period_number(purchase_date(ts_col), freq)).alias("_key")
        )
        .agg(
            *money,
            orders=orders_expr(cols, order_col).cast(pl.Int64),
            units=units.cast(pl.Float64),
            products=products.cast(pl.Float64),
        )
        .sort("_key")
        .with_columns(_c=pl.col("_key") // bits, _p=pl.col("_key") % bits)
    )
    same = (pl.col("_c") == pl.col("_c").shift(1)).fill_null(False)
    same_next = (pl.col("_c") == pl.col("_c").shift(-1)).fill_null(False)
    zero = pl.lit(0).cast(lf.collect_schema()[amount_col])
    cum = pl.col("revenue").cum_sum()
    buyers = (
        buyers.with_columns(
            _prev=pl.when(same).then(pl.col("_p").shift(1)),
            _next=pl.when(same_next).then(pl.col("_p").shift(-1)),
            _first=pl.when(~same).then(pl.col("_p")).forward_fill(),
            _cum=cum - pl.when(~same).then(cum - pl.col("revenue")).forward_fill(),
        )
        .with_columns(
            period=period_from_number(pl.col("_p"), freq),
            _next_label=period_from_number(pl.col("_p") + 1, freq),
            status=pl.when(pl.col("_prev").is_null())
            .then(pl.lit("new"))
            .when(pl.col("_prev") == pl.col("_p") - 1)
            .then(pl.lit("retained"))
            .otherwise(pl.lit("reactivated")),
            _lost_next=pl.col("_next").is_null() | (pl.col("_next") != pl.col("_p") + 1),
        )
        .with_columns(
            _years=pl.max_horizontal(
                (pl.col("_next_label") - period_from_number(pl.col("_first"), freq)).dt.total_days()
                / 365.25,
                pl.lit(1.0),
            ),
        )
    )
    next_label = pl.col("_next_label")
    group: list[str] = []
    if segments is not None:
        if segment_col is None:
            raise ValueError("segment_col is required with segments")
        seg = as_lazy(segments).select(customer_col, segment_col).unique(customer_col)
        seg_codes = codes.lazy().join(seg, on=customer_col, how="left").drop(customer_col)
        buyers = buyers.join(seg_codes, on="_c", how="left")
        group = [segment_col]
    active = buyers.group_by(["period", *group]).agg(
        customers=pl.len().cast(pl.Int64),
        retained=(pl.col("status") == "retained").sum().cast(pl.Int64),
        new=(pl.col("status") == "new").sum().cast(pl.Int64),
        reactivated=(pl.col("status") == "reactivated").sum().cast(pl.Int64),
        revenue=pl.col("revenue").sum(),
        **({"margin": pl.col("margin").sum()} if has_margin else {}),
        orders=pl.col("orders").sum(),
        units=pl.col("units").sum(),
        _products=pl.col("products").sum(),
        _recurring=pl.when(pl.col("status") != "new").then(pl.col("revenue")).sum(),
    )
    lost_rev = pl.when(pl.col("_lost_next")).then(pl.col("revenue"))
    base = buyers.group_by([next_label.alias("period"), *group]).agg(
        customers_start=pl.len().cast(pl.Int64),
        lost=pl.col("_lost_next").sum().cast(pl.Int64),
        churn_cost_revenue=lost_rev.fill_null(zero).sum(),
        **(
            {
                "churn_cost_margin": pl.when(pl.col("_lost_next"))
                .then(pl.col("margin"))
                .fill_null(zero)
                .sum()
            }
            if has_margin
            else {}
        ),
        churn_cost_annual_revenue=pl.when(pl.col("_lost_next"))
        .then(pl.col("_cum").cast(pl.Float64) / pl.col("_years"))
        .sum(),
    )
    periods = pl.LazyFrame(_period_range(first, last, freq).to_frame())
    keys = periods
    if group:
        seg_values = pl.concat([active.select(group), base.select(group)], how="vertical").unique()
        keys = periods.join(seg_values, how="cross")
    counts = ["customers_start", "retained", "lost", "new", "reactivated", "customers", "orders"]
    money_cols = ["revenue", "churn_cost_revenue", "_recurring"] + (
        ["margin", "churn_cost_margin"] if has_margin else []
    )
    out = (
        keys.join(active, on=["period", *group], how="left", nulls_equal=True)
        .join(base, on=["period", *group], how="left", nulls_equal=True)
        .with_columns(
            *(pl.col(c).fill_null(0) for c in counts),
            *(pl.col(c).fill_null(zero) for c in money_cols),
            *(pl.col(c).fill_null(0.0) for c in ("units", "_products")),
            pl.col("churn_cost_annual_revenue").fill_null(0.0),
        )
        .with_columns(
            retention_rate=ratio(pl.col("retained"), pl.col("customers_start")),
            churn_rate=ratio(pl.col("lost"), pl.col("customers_start")),
            average_purchase=ratio(pl.col("revenue"), pl.col("customers")),
            average_order_value=ratio(pl.col("revenue"), pl.col("orders")),
            purchase_frequency=ratio(pl.col("orders"), pl.col("customers")),
            products_per_customer=(
                ratio(pl.col("_products"), pl.col("customers"))
                if product_col is not None and product_col in cols
                else pl.lit(None, dtype=pl.Float64)
            ),
            units_per_customer=ratio(pl.col("units"), pl.col("customers")),
            recurring_revenue_share=ratio(pl.col("_recurring"), pl.col("revenue")),
        )
        .filter(pl.col("period") >= pl.lit(first).dt.truncate(freq))
        .drop("_products", "_recurring")
        .sort(["period", *group], nulls_last=True)
    )
    order = [
        "period",
        *group,
        "customers_start",
        "retained",
        "lost",
        "new",
        "reactivated",
        "customers",
        "retention_rate",
        "churn_rate",
        "revenue",
        *(["margin"] if has_margin else []),
        "orders",
        "units",
        "average_purchase",
        "average_order_value",
        "purchase_frequency",
        "products_per_customer",
        "units_per_customer",
        "recurring_revenue_share",
        "churn_cost_revenue",
        *(["churn_cost_margin"] if has_margin else []),
        "churn_cost_annual_revenue",
    ]
    return out.select(order).collect()


# --------------------------------------------------------------------------- customers


def customer_metrics(
    transactions: Frame,
    *,
    as_of: dt.date | dt.datetime | None = None,
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str = "amount",
    margin_col: str | None = "margin",
    order_col: str | None = "order_id",
    product_col: str | None = "product_id",
    quantity_col: str | None = "quantity",
) -> pl.DataFrame:
    """Historic indicators of every customer up to ``as_of`` (one row per customer).

    ``first_purchase, last_purchase, orders, revenue[, margin]`` (historic CLV: what the
    customer has been worth so far, seed 002 §1.5), ``average_order_value`` = revenue /
    orders, ``products`` (distinct), ``units`` (sum of quantity, else rows),
    ``lifespan_days`` = last - first purchase date, ``tenure_days`` = as_of - first
    purchase, ``repeat`` = orders >= 2, ``annual_revenue`` = revenue / max(1, tenure in
    years of 365.25 days). Sorted by customer.
    """
    lf = as_lazy(transactions)
    cols = column_names(lf)
    end = resolve_as_of(lf, as_of, ts_col)
    aggs = [
        pl.col(ts_col).min().dt.date().alias("first_purchase"),
        pl.col(ts_col).max().dt.date().alias("last_purchase"),
        orders_expr(cols, order_col).cast(pl.Int64).alias("orders"),
        pl.col(amount_col).sum().alias("revenue"),
    ]
    if margin_col is not None and margin_col in cols:
        aggs.append(pl.col(margin_col).sum().alias("margin"))
    if product_col is not None and product_col in cols:
        aggs.append(pl.col(product_col).n_unique().cast(pl.Int64).alias("products"))
    units = (
        pl.col(quantity_col).sum()
        if quantity_col is not None and quantity_col in cols
        else pl.len()
    )
    aggs.append(units.cast(pl.Float64).alias("units"))
    end_lit = pl.lit(end, dtype=pl.Date)
    return (
        lf.filter(dated_between(lf, ts_col, None, end))
        .group_by(customer_col)
        .agg(aggs)
        .with_columns(
            average_order_value=ratio(pl.col("revenue"), pl.col("orders")),
            lifespan_days=(pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days(),
            tenure_days=(end_lit - pl.col("first_purchase")).dt.total_days(),
            repeat=pl.col("orders") >= 2,
        )
        .with_columns(
            annual_revenue=pl.col("revenue").cast(pl.Float64)
            / pl.max_horizontal(pl.col("tenure_days") / 365.25, pl.lit(1.0))
        )
        .sort(customer_col)
        .collect()
    )


def segment_metrics(
    transactions: Frame,
    *,
    segments: Frame | None = None,
    segment_col: str | None = None,
    as_of: dt.date | dt.datetime | None = None,
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str = "amount",
    margin_col: str | None = "margin",
    order_col: str | None = "order_id",
    product_col: str | None = "product_id",
    quantity_col: str | None = "quantity",
) -> pl.DataFrame:
    """Historic indicators per segment (or overall without ``segments``), up to ``as_of``.

    Over the customers of the segment who bought: ``customers, orders, revenue[,
    margin]``; ``average_purchase`` = revenue / customers (the historic CLV by revenue,
    seed 002 §1.5 "Valor de Vida del Cliente por segmento"); ``historic_clv_margin`` =
    margin / customers; ``average_order_value`` = revenue / orders;
    ``purchase_frequency`` = orders / customers; ``products_per_customer`` = mean distinct
    products; ``units_per_customer`` = units / customers; ``average_lifespan_days`` = mean
    (last - first purchase); ``repeat_rate`` = customers with >= 2 orders / customers;
    ``recurring_revenue_share`` = revenue of customers with >= 2 orders / revenue.
    """
    per = customer_metrics(
        transactions,
        as_of=as_of,
        customer_col=customer_col,
        ts_col=ts_col,
        amount_col=amount_col,
        margin_col=margin_col,
        order_col=order_col,
        product_col=product_col,
        quantity_col=quantity_col,
    ).lazy()
    group: list[str] = []
    if segments is not None:
        if segment_col is None:
            raise ValueError("segment_col is required with segments")
        seg = as_lazy(segments).select(customer_col, segment_col).unique(customer_col)
        per = per.join(seg, on=customer_col, how="left")
        group = [segment_col]
    names = per.collect_schema().names()
    has_margin = "margin" in names
    aggs = [
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col("orders").sum(),
        pl.col("revenue").sum(),
        pl.col("units").sum(),
        pl.col("lifespan_days").mean().alias("average_lifespan_days"),
        pl.col("repeat").sum().cast(pl.Int64).alias("_repeat"),
        pl.when(pl.col("repeat")).then(pl.col("revenue")).sum().alias("_recurring"),
    ]
    if has_margin:
        aggs.append(pl.col("margin").sum())
    if "products" in names:
        aggs.append(pl.col("products").mean().cast(pl.Float64).alias("products_per_customer"))
    grouped = per.group_by(group).agg(aggs) if group else per.select(aggs)
    out = grouped.with_columns(
        average_purchase=ratio(pl.col("revenue"), pl.col("customers")),
        historic_clv_margin=(
            ratio(pl.col("margin"), pl.col("customers"))
            if has_margin
            else pl.lit(None, dtype=pl.Float64)
        ),
        average_order_value=ratio(pl.col("revenue"), pl.col("orders")),
        purchase_frequency=ratio(pl.col("orders"), pl.col("customers")),
        units_per_customer=ratio(pl.col("units"), pl.col("customers")),
        repeat_rate=ratio(pl.col("_repeat"), pl.col("customers")),
        recurring_revenue_share=ratio(pl.col("_recurring"), pl.col("revenue")),
    ).drop("_repeat", "_recurring")
    if "products_per_customer" not in out.collect_schema().names():
        out = out.with_columns(products_per_customer=pl.lit(None, dtype=pl.Float64))
    return out.sort(group, nulls_last=True).collect() if group else out.collect()


# --------------------------------------------------------------------------- money in/out


def acquisition_cost(
    customers: Frame,
    *,
    freq: str = "1mo",
    cost_col: str = "acquisition_cost",
    date_col: str = "acquired_at",
    segment_col: str | None = None,
) -> pl.DataFrame:
    """CAC (costo de adquisición) per period of acquisition.

    Seed 002 §5.3 and §6: recovering or reactivating a customer "es más barato que tu costo
    de adquisición de un nuevo cliente" — this is the figure to compare with.

    ``new_customers`` = customers whose ``date_col`` falls in the period,
    ``customers_with_cost`` = those with a known cost, ``acquisition_spend`` = sum of the
    known costs, ``cac`` = acquisition_spend / new_customers (unknown costs count as zero
    spend; compare ``customers_with_cost`` before trusting it). Per ``segment_col`` when
    given. Rows with a null ``date_col`` are ignored.
    """
    lf = as_lazy(customers)
    date = pl.col(date_col)
    if lf.collect_schema()[date_col] != pl.Date:
        date = date.dt.date()
    group = [segment_col] if segment_col is not None else []
    return (
        lf.filter(pl.col(date_col).is_not_null())
        .group_by([date.dt.truncate(freq).alias("period"), *group])
        .agg(
            new_customers=pl.len().cast(pl.Int64),
            customers_with_cost=pl.col(cost_col).is_not_null().sum().cast(pl.Int64),
            acquisition_spend=pl.col(cost_col).fill_null(0).sum(),
        )
        .with_columns(cac=ratio(pl.col("acquisition_spend"), pl.col("new_customers")))
        .sort(["period", *group], nulls_last=True)
        .collect()
    )


def share_of_wallet(
    transactions: Frame,
    customers: Frame,
    *,
    potential_col: str = "potential_annual_spend",
    as_of: dt.date | dt.datetime | None = None,
    window_days: int = 365,
    customer_col: str = "customer_id",
    ts_col: str = "ts",
    amount_col: str = "amount",
) -> pl.DataFrame:
    """Share of wallet: what the customer spends with us over what they could spend.

    Seed 002 §3.1 ("¿Cuánto es lo máximo que podría consumir en el año?") and seed 004
    ("Rentabilice a sus clientes … un porcentaje superior de lo que él compra a su
    competencia"). ``spend`` = sum of amount in the ``window_days`` days ending at
    ``as_of`` (inclusive); ``share_of_wallet`` = spend / ``potential_col`` (the estimated
    annual potential, scaled by ``window_days / 365``), null when the potential is null or
    not positive. One row per row of ``customers``, in its order.
    """
    lf = as_lazy(transactions)
    end = resolve_as_of(lf, as_of, ts_col)
    start = end - dt.timedelta(days=window_days - 1)
    spend = (
        lf.filter(dated_between(lf, ts_col, start, end))
        .group_by(customer_col)
        .agg(spend=pl.col(amount_col).sum())
    )
    zero = pl.lit(0).cast(lf.collect_schema()[amount_col])
    potential = pl.col(potential_col).cast(pl.Float64) * (window_days / 365.0)
    return (
        as_lazy(customers)
        .select(customer_col, potential_col)
        .join(spend, on=customer_col, how="left", maintain_order="left")
        .with_columns(spend=pl.col("spend").fill_null(zero))
        .with_columns(
            share_of_wallet=pl.when(potential > 0).then(
                pl.col("spend").cast(pl.Float64) / potential
            )
        )
        .collect()
    )
