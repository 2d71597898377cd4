"""Reading CSV and XLSX files into a Polars frame of strings, detecting how they are written.

Every cell is read as text: conversion happens afterwards, column by column, so that a bad
value becomes an error report for its cell instead of a failed read.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import polars as pl
from django.utils.translation import gettext as _

XLSX_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
DELIMITERS = (";", ",", "\t", "|")
ROW_COLUMN = "__row__"  # the row number the user sees (header = 1)


class ImportFileError(Exception):
    """The file cannot be read at all (not a table, wrong encoding, empty)."""


@dataclass
class ImportOptions:
    """How the file is written; None means "detect it"."""

    encoding: str | None = None          # "utf-8", "utf-8-sig", "cp1252", "latin-1"
    delimiter: str | None = None         # ",", ";", "\t", "|"
    decimal: str | None = None           # "," or "."
    date_format: str | None = None       # strftime pattern, e.g. "%d/%m/%Y"
    sheet: str | None = None             # XLSX sheet name; first sheet when None
    create_missing_products: bool = False  # orders: unknown SKU -> placeholder product
    create_missing_stores: bool = True     # orders: unknown store code -> new store

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ImportOptions:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})


def is_spreadsheet(path: str | Path) -> bool:
    return Path(path).suffix.lower() in XLSX_SUFFIXES


def detect_encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            data.decode("cp1252")
        except UnicodeDecodeError:
            return "latin-1"
        return "cp1252"
    return "utf-8"


def detect_delimiter(sample: str) -> str:
    """The separator that splits the first lines into the same number (> 1) of fields."""
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for delim in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delim)]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for c in counts if c == counts[0])
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delim, score
    return best


_COMMA_DECIMAL = re.compile(r"^[-+]?[\d.\s']*\d,\d+$")
_POINT_DECIMAL = re.compile(r"^[-+]?[\d,\s']*\d\.\d+$")
_THOUSANDS_DOT = re.compile(r"^[-+]?\d{1,3}(\.\d{3})+$")


def detect_decimal(values: pl.Series, delimiter: str | None) -> str:
    """',' or '.': which one the numeric columns use as the decimal mark.

    "12,50" and "1.234,5" vote comma; "12.50" and "1,234.5" vote point; "1.234" (thousands)
    votes comma weakly. A tie falls back to the separator convention (';' files come from
    spreadsheets in comma-decimal locales).
    """
    cleaned = values.drop_nulls().str.replace_all(r"[€$£\s]", "")
    comma = int(cleaned.str.contains(_COMMA_DECIMAL.pattern).sum())
    point = int(cleaned.str.contains(_POINT_DECIMAL.pattern).sum())
    point -= int(cleaned.str.contains(_THOUSANDS_DOT.pattern).sum()) if comma else 0
    if comma > point:
        return ","
    if point > comma:
        return "."
    return "," if delimiter == ";" else "."


@dataclass
class Table:
    frame: pl.DataFrame          # all columns String, plus ROW_COLUMN (Int64)
    headers: list[str]           # as written in the file
    options: ImportOptions       # with what was detected filled in


def _unique_headers(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(headers):
        h = (h or "").strip() or _("Columna %(n)s") % {"n": i + 1}
        if h in seen:
            seen[h] += 1
            h = f"{h} ({seen[h]})"
        else:
            seen[h] = 1
        out.append(h)
    return out


def read_table(path: str | Path, options: ImportOptions | None = None,
               n_rows: int | None = None) -> Table:
    """Read `path` (CSV or XLSX) as strings. Blank rows are dropped; row numbers are kept."""
    opts = ImportOptions(**asdict(options)) if options else ImportOptions()
    path = Path(path)
    try:
        if is_spreadsheet(path):
            frame = _read_xlsx(path, opts, n_rows)
        else:
            frame = _read_csv(path, opts, n_rows)
    except ImportFileError:
        raise
    except (pl.exceptions.PolarsError, OSError, ValueError, csv.Error) as exc:
        raise ImportFileError(_("No se puede leer el archivo: %(error)s") % {"error": exc}) from exc
    headers = _unique_headers([str(c) for c in frame.columns])
    frame.columns = headers
    if not headers:
        raise ImportFileError(_("El archivo no tiene columnas."))
    frame = frame.with_columns(pl.all().cast(pl.String).str.strip_chars())
    frame = frame.with_columns(
        [pl.when(pl.col(h) == "").then(None).otherwise(pl.col(h)).alias(h) for h in headers]
    )
    frame = frame.with_row_index(ROW_COLUMN, offset=2).with_columns(pl.col(ROW_COLUMN).cast(pl.Int64))
    frame = frame.filter(~pl.all_horizontal([pl.col(h).is_null() for h in headers]))
    return Table(frame=frame, headers=headers, options=opts)


def _read_csv(path: Path, opts: ImportOptions, n_rows: int | None) -> pl.DataFrame:
    data = path.read_bytes()
    if not data.strip():
        raise ImportFileError(_("El archivo está vacío."))
    if opts.encoding is None:
        opts.encoding = detect_encoding(data)
    encoding = opts.encoding.lower().replace("_", "-")
    if encoding in ("utf-8", "utf8", "utf-8-sig"):
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8):]
        text_head = data[:65536].decode("utf-8", errors="ignore")
    else:
        try:
            decoded = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ImportFileError(
                _("El archivo no está en la codificación %(enc)s.") % {"enc": opts.encoding}
            ) from exc
        text_head = decoded[:65536]
        data = decoded.encode("utf-8")  # Polars reads UTF-8
        del decoded
    if opts.delimiter is None:
        opts.delimiter = detect_delimiter(text_head)
    return pl.read_csv(
        io.BytesIO(data), separator=opts.delimiter, infer_schema=False, has_header=True,
        n_rows=n_rows, encoding="utf8", truncate_ragged_lines=False, raise_if_empty=False,
    )


def _read_xlsx(path: Path, opts: ImportOptions, n_rows: int | None) -> pl.DataFrame:
    if path.suffix.lower() == ".xls":
        raise ImportFileError(_("El formato .xls antiguo no se admite: guárdelo como .xlsx o CSV."))
    read_options: dict[str, Any] = {"dtypes": "string"}
    if n_rows is not None:
        read_options["n_rows"] = n_rows
    kwargs: dict[str, Any] = {"engine": "calamine", "read_options": read_options}
    if opts.sheet:
        kwargs["sheet_name"] = opts.sheet
    else:
        kwargs["sheet_id"] = 1
    opts.encoding = None
    opts.delimiter = None
    return pl.read_excel(path, **kwargs)
