"""The canonical transaction table and the helpers that load one.

Every function of :mod:`fideliza.analytics` works on a Polars frame with one row per
purchase (an order, a ticket, an invoice line aggregated by the caller) and these columns:

============  =====================  ==========================================
column        dtype                  meaning
============  =====================  ==========================================
customer_id   any hashable           who bought (string or integer)
ts            Datetime (naive, us)   when; wall-clock time of the shop
amount        Float64 or Decimal     what was paid (Decimal keeps exact money)
margin        same as amount         optional: gross margin of the purchase
product_id    any                    optional: for cross-sell / ABC by product
category      String                 optional: product category
============  =====================  ==========================================

Files and database extracts use other names; :class:`ColumnMapping` says which source
column plays which role and :func:`normalize_transactions` renames, parses and checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

__all__ = [
    "AMOUNT",
    "CATEGORY",
    "CUSTOMER",
    "MARGIN",
    "PRODUCT",
    "TS",
    "ColumnMapping",
    "normalize_transactions",
    "read_cdnow",
    "read_transactions",
]

CUSTOMER = "customer_id"
TS = "ts"
AMOUNT = "amount"
MARGIN = "margin"
PRODUCT = "product_id"
CATEGORY = "category"


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column holds each canonical field.

    Parameters
    ----------
    customer, ts, amount : str
        Source names of the customer identifier, the purchase timestamp (or date) and the
        amount paid. ``amount`` may be ``None`` for frequency-only data.
    margin, product, category : str or None
        Source names of the optional columns; ``None`` when absent.
    """

    customer: str = CUSTOMER
    ts: str = TS
    amount: str | None = AMOUNT
    margin: str | None = None
    product: str | None = None
    category: str | None = None

    def pairs(self) -> list[tuple[str, str]]:
        """Return ``(source, canonical)`` pairs for the columns that are present."""
        out = [(self.customer, CUSTOMER), (self.ts, TS)]
        for source, target in (
            (self.amount, AMOUNT),
            (self.margin, MARGIN),
            (self.product, PRODUCT),
            (self.category, CATEGORY),
        ):
            if source is not None:
                out.append((source, target))
        return out


def _ts_expr(dtype: pl.DataType, date_format: str | None) -> pl.Expr:
    """Expression turning the ``ts`` column of the given dtype into naive Datetime(us)."""
    col = pl.col(TS)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            # Keep the shop's wall-clock time: day/week/month buckets follow local dates.
            col = col.dt.replace_time_zone(None)
        return col.cast(pl.Datetime("us"))
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us"))
    if dtype.is_integer():
        # Compact dates such as CDNOW's 19970101.
        return col.cast(pl.String).str.to_datetime(date_format or "%Y%m%d", time_unit="us")
    if dtype == pl.String:
        return col.str.to_datetime(date_format, time_unit="us", strict=True)
    raise TypeError(f"cannot interpret a {dtype} column as purchase timestamps")


def _money_expr(name: str, dtype: pl.DataType, decimal_scale: int | None) -> pl.Expr:
    col = pl.col(name)
    if decimal_scale is not None:
        if dtype == pl.String:
            col = col.str.strip_chars()
        return col.cast(pl.Decimal(38, decimal_scale))
    if isinstance(dtype, pl.Decimal):
        return col
    return col.cast(pl.Float64)


def normalize_transactions(
    frame: pl.DataFrame | pl.LazyFrame,
    mapping: ColumnMapping | None = None,
    *,
    date_format: str | None = None,
    decimal_scale: int | None = None,
) -> pl.DataFrame:
    """Rename, parse and check a transaction table into the canonical schema.

    Parameters
    ----------
    frame : polars.DataFrame or polars.LazyFrame
        Source transactions, one row per purchase.
    mapping : ColumnMapping, optional
        Source column names; defaults to the canonical names.
    date_format : str, optional
        ``strftime`` format of a string/integer date column; inferred when omitted
        (ISO 8601 strings; ``%Y%m%d`` for integers).
    decimal_scale : int, optional
        When given, money columns become ``Decimal(38, decimal_scale)`` so that sums are
        exact. A Decimal source column is always kept as Decimal.

    Returns
    -------
    polars.DataFrame
        Columns ``customer_id, ts`` [, ``amount, margin, product_id, category``].

    Raises
    ------
    ValueError
        When a mapped column is missing, or customer/timestamp values are null.
    """
    mapping = mapping or ColumnMapping()
    lazy = frame.lazy()
    schema = lazy.collect_schema()
    missing = [src for src, _ in mapping.pairs() if src not in schema]
    if missing:
        raise ValueError(f"missing transaction columns: {', '.join(missing)}")
    lazy = lazy.select([pl.col(src).alias(dst) for src, dst in mapping.pairs()])
    schema = lazy.collect_schema()
    exprs = [pl.col(CUSTOMER), _ts_expr(schema[TS], date_format).alias(TS)]
    for name in (AMOUNT, MARGIN):
        if name in schema:
            exprs.append(_money_expr(name, schema[name], decimal_scale).alias(name))
    exprs += [pl.col(c) for c in (PRODUCT, CATEGORY) if c in schema]
    out = lazy.select(exprs).collect()
    nulls = out.select(pl.col(CUSTOMER).null_count(), pl.col(TS).null_count()).row(0)
    if nulls[0] or nulls[1]:
        raise ValueError(f"transactions with no customer ({nulls[0]}) or no date ({nulls[1]}) rows")
    return out


def read_transactions(
    path: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    date_format: str | None = None,
    decimal_scale: int | None = None,
    separator: str = ",",
) -> pl.DataFrame:
    """Read a CSV or Parquet file of transactions into the canonical schema.

    Only the mapped columns are read. In a CSV the customer column is read as text (so
    that identifiers such as ``"00417"`` keep their leading zeros) and, when
    ``decimal_scale`` is given, money columns are read as text and parsed to Decimal
    without passing through binary floating point.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.csv``/``.txt``/``.tsv`` or ``.parquet`` file.
    mapping, date_format, decimal_scale
        As in :func:`normalize_transactions`.
    separator : str
        CSV field separator.

    Returns
    -------
    polars.DataFrame
        The canonical transaction table.
    """
    mapping = mapping or ColumnMapping()
    path = Path(path)
    wanted = [src for src, _ in mapping.pairs()]
    if path.suffix.lower() in {".parquet", ".pq"}:
        lazy = pl.scan_parquet(path)
    else:
        overrides: dict[str, pl.DataType] = {mapping.customer: pl.String()}
        if decimal_scale is not None:
            for money in (mapping.amount, mapping.margin):
                if money is not None:
                    overrides[money] = pl.String()
        lazy = pl.scan_csv(path, separator=separator, schema_overrides=overrides)
    names = lazy.collect_schema().names()
    missing = [name for name in wanted if name not in names]
    if missing:
        raise ValueError(f"missing transaction columns: {', '.join(missing)}")
    lazy = lazy.select(wanted)
    return normalize_transactions(
        lazy, mapping, date_format=date_format, decimal_scale=decimal_scale
    )


def read_cdnow(path: str | Path) -> pl.DataFrame:
    """Read the CDNOW sample used by Fader, Hardie & Lee (2005).

    The file is whitespace-separated without a header: master customer id, sample
    customer id, date ``YYYYMMDD``, number of CDs, dollar value. The sample id becomes
    ``customer_id``; the dollar value ``amount`` (Float64) and the CD count ``quantity``.

    Parameters
    ----------
    path : str or pathlib.Path
        Location of ``CDNOW_sample.txt``.

    Returns
    -------
    polars.DataFrame
        Columns ``customer_id`` (Int64), ``ts``, ``amount``, ``quantity``.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
    easy way: an alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275-284.
    """
    text = Path(path).read_text()
    rows = [line.split() for line in text.splitlines() if line.strip()]
    frame = pl.DataFrame(
        {
            CUSTOMER: [int(r[1]) for r in rows],
            TS: [r[2] for r in rows],
            "quantity": [int(r[3]) for r in rows],
            AMOUNT: [float(r[4]) for r in rows],
        },
        schema={CUSTOMER: pl.Int64, TS: pl.String, "quantity": pl.Int64, AMOUNT: pl.Float64},
    )
    return frame.with_columns(pl.col(TS).str.to_datetime("%Y%m%d", time_unit="us"))
