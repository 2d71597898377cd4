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

import csv
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
    "TransactionFileError",
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


# What each problem is called, per language: (Spanish, English).
_PROBLEMS: dict[str, tuple[str, str]] = {
    "date": ("no es una fecha válida", "is not a valid date"),
    "amount": ("no es un importe", "is not an amount"),
    "empty": ("está vacía (obligatoria)", "is empty (required)"),
    "fields": ("tiene {value} campos y la cabecera {column}",
               "has {value} fields and the header {column}"),
}
_HINTS: dict[str, tuple[str, str]] = {
    "date": ("Use fechas como 2024-03-31 o indique su formato con --date-format (p. ej. "
             "--date-format %d/%m/%Y).",
             "Use dates such as 2024-03-31 or give their format with --date-format (e.g. "
             "--date-format %d/%m/%Y)."),
    "amount": ("Use números como 12.50 o, con --decimal-comma, 12,50 (sin símbolo de moneda).",
               "Use numbers such as 12.50 or, with --decimal-comma, 12,50 (no currency sign)."),
    "empty": ("Cada fila necesita cliente y fecha.", "Every row needs a customer and a date."),
    "fields": ("Compruebe el separador (--separator) y ponga entre comillas los valores que "
               "lo contengan, p. ej. \"12,50\".",
               "Check the separator (--separator) and quote values that contain it, e.g. "
               "\"12,50\"."),
}


class TransactionFileError(ValueError):
    """A bad value in a transaction file, said in plain words: line, column and value.

    ``line`` counts the file's lines as an editor or a spreadsheet shows them (the header
    is line 1). :meth:`message` gives the text in Spanish or English; ``str()`` is the
    English one.
    """

    def __init__(self, problem: str, *, line: int | None, column: str, value: str | None,
                 others: int = 0, in_file: bool = True) -> None:
        self.problem, self.line, self.column, self.value, self.others = (
            problem, line, column, value, others)
        self.in_file = in_file
        super().__init__(self.message("en"))

    def message(self, lang: str = "es") -> str:
        es = lang != "en"
        what = _PROBLEMS[self.problem][0 if es else 1]
        if self.in_file:
            where = (f"línea {self.line} del archivo, columna «{self.column}»" if es
                     else f"line {self.line} of the file, column '{self.column}'")
        else:
            where = (f"fila {self.line}, columna «{self.column}»" if es
                     else f"row {self.line}, column '{self.column}'")
        if self.problem == "fields":
            line = f"línea {self.line} del archivo" if es else f"line {self.line} of the file"
            text = f"{line} {what.format(value=self.value, column=self.column)}."
        elif self.problem == "empty":
            text = f"{where}: {what}."
        else:
            text = f"{where}: «{self.value}» {what}." if es else f"{where}: '{self.value}' {what}."
        if self.others:
            text += (f" Y {self.others} fila(s) más con el mismo problema." if es
                     else f" And {self.others} more row(s) with the same problem.")
        return f"{text} {_HINTS[self.problem][0 if es else 1]}"


def _first_bad(raw: pl.Series, parsed: pl.Series, problem: str, column: str,
               line_offset: int) -> TransactionFileError | None:
    """The first row whose raw text is present but did not parse (None when all did)."""
    present = raw.is_not_null() & (raw.cast(pl.String).str.strip_chars() != "")
    bad = present & parsed.is_null() if problem != "empty" else ~present
    count = int(bad.sum())
    if not count:
        return None
    index = bad.arg_max()
    assert index is not None  # count > 0
    value = raw[index]
    return TransactionFileError(problem, line=index + line_offset, column=column,
                                value=None if value is None else str(value), others=count - 1,
                                in_file=line_offset > 1)


def _detect_decimal_comma(values: pl.Series) -> bool:
    """Whether text amounts use the comma as decimal mark ("12,50", "1.234,56").

    A value with a decimal point that cannot be thousands grouping ("12.5", "3.14") means
    no; a value with a comma followed by one, two or more than three digits, or a point
    grouping thousands before a comma, means yes. Ambiguous files ("1,234" only) are read
    with the decimal point, as most software writes them.
    """
    text = values.drop_nulls().cast(pl.String).str.strip_chars()
    text = text.filter(text != "").head(10_000)
    point = text.str.contains(r"^[-+]?\d+\.\d{1,2}$|^[-+]?\d+\.\d{4,}$").any()
    comma = text.str.contains(r",\d{1,2}$|,\d{4,}$|\.\d{3},").any()
    return bool(comma and not point)


def _amount_from_text(col: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """Text amounts to decimal-point text: thousands separators (a mark followed by exactly
    three digits) removed, a decimal comma turned into a point. Anything else is left for
    the number parser to refuse (``12,5`` in a decimal-point file is an error, not 125)."""
    text = col.cast(pl.String).str.strip_chars()
    if decimal_comma:
        return (text.str.replace_all(r"\.(\d{3})\b", "${1}")
                .str.replace(",", ".", literal=True))
    return text.str.replace_all(r",(\d{3})\b", "${1}")


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


def _money_expr(name: str, dtype: pl.DataType, decimal_scale: int | None,
                decimal_comma: bool = False, strict: bool = True) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.String:
        col = _amount_from_text(col, decimal_comma)
    if decimal_scale is not None:
        return col.cast(pl.Decimal(38, decimal_scale), strict=strict)
    if isinstance(dtype, pl.Decimal):
        return col
    return col.cast(pl.Float64, strict=strict)


def normalize_transactions(
    frame: pl.DataFrame | pl.LazyFrame,
    mapping: ColumnMapping | None = None,
    *,
    date_format: str | None = None,
    decimal_scale: int | None = None,
    decimal_comma: bool | None = None,
    line_offset: int = 1,
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
    decimal_comma : bool, optional
        Text amounts use the comma as decimal mark ("12,50"; thousands "1.234,56").
        ``None`` detects it from the values.
    line_offset : int
        File line of the first row (2 for a file with a header, so that errors name the
        line a user sees); 1 for a frame, whose errors name rows from 1.

    Returns
    -------
    polars.DataFrame
        Columns ``customer_id, ts`` [, ``amount, margin, product_id, category``].

    Raises
    ------
    TransactionFileError
        For a value that is not a date or an amount, or a missing customer or date: the
        first such line, column and value, and how many more rows have the problem.
    ValueError
        When a mapped column is missing.
    """
    mapping = mapping or ColumnMapping()
    lazy = frame.lazy()
    schema = lazy.collect_schema()
    missing = [src for src, _ in mapping.pairs() if src not in schema]
    if missing:
        raise ValueError(f"missing transaction columns: {', '.join(missing)}")
    names = {dst: src for src, dst in mapping.pairs()}
    lazy = lazy.select([pl.col(src).alias(dst) for src, dst in mapping.pairs()])
    schema = lazy.collect_schema()
    money = [name for name in (AMOUNT, MARGIN) if name in schema]
    text_money = [name for name in money if schema[name] == pl.String]
    if decimal_comma is None and text_money:
        sample = lazy.select(text_money).head(10_000).collect()
        decimal_comma = any(_detect_decimal_comma(sample[name]) for name in text_money)
    comma = bool(decimal_comma)

    def build(strict: bool) -> list[pl.Expr]:
        ts = _ts_expr(schema[TS], date_format)
        if not strict and schema[TS] == pl.String:
            ts = pl.col(TS).str.to_datetime(date_format, time_unit="us", strict=False)
        exprs = [pl.col(CUSTOMER), ts.alias(TS)]
        exprs += [_money_expr(name, schema[name], decimal_scale, comma, strict).alias(name)
                  for name in money]
        return exprs + [pl.col(c) for c in (PRODUCT, CATEGORY) if c in schema]

    try:
        out = lazy.select(build(strict=True)).collect()
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError) as exc:
        # Find and name the first bad value instead of Polars' message.
        raw = lazy.select(TS, *money).collect()
        parsed = lazy.select(build(strict=False)).collect()
        for column, problem in ((TS, "date"), *((m, "amount") for m in money)):
            error = _first_bad(raw[column], parsed[column], problem, names[column], line_offset)
            if error is not None:
                raise error from exc
        raise
    for column in (CUSTOMER, TS):
        if out[column].null_count():
            error = _first_bad(out[column], out[column], "empty", names[column], line_offset)
            assert error is not None  # the column has nulls
            raise error
    return out


def _ragged_line(path: Path, separator: str) -> TransactionFileError | None:
    """The first line whose number of fields differs from the header's (None if none)."""
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        rows = csv.reader(handle, delimiter=separator)
        header = next(rows, [])
        for number, row in enumerate(rows, start=2):
            if row and len(row) != len(header):
                return TransactionFileError("fields", line=number, column=str(len(header)),
                                            value=str(len(row)))
    return None


def sniff_separator(path: str | Path, default: str = ",") -> str:
    """The field separator of a CSV file (``,``, ``;``, tab or ``|``) from its first lines."""
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        sample = handle.read(65_536)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return default


def read_transactions(
    path: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    date_format: str | None = None,
    decimal_scale: int | None = None,
    separator: str | None = ",",
    decimal_comma: bool | None = None,
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
    mapping, date_format, decimal_scale, decimal_comma
        As in :func:`normalize_transactions`.
    separator : str or None
        CSV field separator; ``None`` detects it (``,``, ``;``, tab, ``|``).

    Returns
    -------
    polars.DataFrame
        The canonical transaction table.
    """
    mapping = mapping or ColumnMapping()
    path = Path(path)
    wanted = [src for src, _ in mapping.pairs()]
    is_parquet = path.suffix.lower() in {".parquet", ".pq"}
    sep = ","
    if is_parquet:
        lazy = pl.scan_parquet(path)
    else:
        sep = separator if separator is not None else sniff_separator(path)
        overrides: dict[str, pl.DataType] = {mapping.customer: pl.String()}
        if decimal_scale is not None or decimal_comma:
            for money in (mapping.amount, mapping.margin):
                if money is not None:
                    overrides[money] = pl.String()
        lazy = pl.scan_csv(path, separator=sep, schema_overrides=overrides,
                           infer_schema_length=10_000)
    try:
        names = lazy.collect_schema().names()
    except pl.exceptions.PolarsError as exc:
        raise ValueError(f"cannot read {path.name} as CSV: {exc}") from exc
    missing = [name for name in wanted if name not in names]
    if missing:
        raise ValueError(
            f"missing transaction columns: {', '.join(missing)} (columns found: "
            f"{', '.join(names[:12])}{', ...' if len(names) > 12 else ''}"
            f"{'' if is_parquet else f'; separator {sep!r}'})"
        )
    lazy = lazy.select(wanted)
    try:
        return normalize_transactions(
            lazy, mapping, date_format=date_format, decimal_scale=decimal_scale,
            decimal_comma=decimal_comma, line_offset=2,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError) as exc:
        if is_parquet:
            raise
        # Type inference met a value the first rows did not announce (e.g. "12,5" after
        # 10,000 plain numbers): read the money columns as text and try once more.
        retry = pl.scan_csv(path, separator=sep, infer_schema=False).select(wanted)
        try:
            return normalize_transactions(
                retry, mapping, date_format=date_format, decimal_scale=decimal_scale,
                decimal_comma=decimal_comma, line_offset=2,
            )
        except TransactionFileError:
            raise
        except pl.exceptions.PolarsError:
            ragged = _ragged_line(path, sep)
            if ragged is not None:
                raise ragged from exc
            raise ValueError(f"cannot read {path.name}: {exc}") from exc


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
