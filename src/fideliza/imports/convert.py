"""Column-wise (vectorised) conversion of text cells, with per-cell error reports.

Each converter takes a String series (stripped, empty cells null) and returns the
converted series plus a list of (error mask, message) pairs; the message has a
`%(value)s` placeholder for the cell's text. Money and quantities become integers in
their smallest unit (cents, thousandths), rounded half up: exact decimal arithmetic
without Python objects per cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from fideliza.core.i18n import msgid_of, stored_text
from fideliza.customers.normalize import strip_accents
from fideliza.customers.validators import country_codes

from .reader import ROW_COLUMN

MAX_STORED_ERRORS = 1000
Checks = list[tuple[pl.Series, str]]

DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d")
TIME_SUFFIXES = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S%.f", "T%H:%M", "T%H:%M:%S", "T%H:%M:%S%.f")


@dataclass
class ErrorReport:
    """Errors of a whole file: {row, column, value, message}, in file order when sorted."""

    errors: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    rows: set[int] = field(default_factory=set)

    def add(self, *, rows: Iterable[int], column: str, values: Iterable[Any], message: str) -> None:
        for row, value in zip(rows, values, strict=True):
            self.add_one(row=row, column=column, value=value, message=message)

    def add_one(self, *, row: int | None, column: str, value: Any, message: str) -> None:
        self.count += 1
        if row is not None:
            self.rows.add(int(row))
        if len(self.errors) < MAX_STORED_ERRORS:
            text = "" if value is None else str(value)
            # "msgid": the untranslated message, so each reader sees it in their language
            # (error_text); "message" stays the text as validated, for the API and the CLI.
            self.errors.append({"row": row, "column": column, "value": text, "msgid": msgid_of(message),
                                "message": message % {"value": text} if "%(value)s" in message else message})

    def add_mask(self, frame: pl.DataFrame, mask: pl.Series, column: str, message: str,
                 raw: str | None = None) -> None:
        """Report every row of `frame` where `mask` is true; the value shown is column `raw`."""
        mask = mask.fill_null(False)
        if not mask.any():
            return
        bad = frame.filter(mask)
        self.add(rows=bad[ROW_COLUMN].to_list(), column=column,
                 values=bad[raw or column].to_list() if (raw or column) in bad.columns else [""] * len(bad),
                 message=message)

    def __bool__(self) -> bool:
        return self.count > 0


def error_text(error: dict[str, Any]) -> str:
    """A stored error's message in the reader's language (rows stored before "msgid" too)."""
    return stored_text(str(error.get("message") or ""), {"value": error.get("value") or ""},
                       msgid=error.get("msgid"))


def error_column(error: dict[str, Any]) -> str:
    """The file's column an error is about ("" when about the row as a whole)."""
    column = str(error.get("column") or "")
    return "" if column == ROW_COLUMN else column


def format_error(error: dict[str, Any]) -> str:
    """«Fila 7, columna "Teléfono": "12" no es un número de teléfono válido.»"""
    message = error_text(error)
    parts = {"row": error.get("row"), "column": error_column(error), "message": message}
    if parts["row"] and parts["column"]:
        return _('Fila %(row)s, columna "%(column)s": %(message)s') % parts
    if parts["row"]:
        return _("Fila %(row)s: %(message)s") % parts
    if parts["column"]:
        return _('Columna "%(column)s": %(message)s') % parts
    return message


# ---------------------------------------------------------------- numbers

def _normalise_number_text(s: pl.Series, decimal: str | None) -> pl.Series:
    t = s.str.replace_all(r"[€$£\s\u00a0']", "")
    if decimal == ",":
        return t.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    if decimal == ".":
        return t.str.replace_all(",", "", literal=True)
    # Per cell (spreadsheets: numeric cells use '.', text cells may use ','): a lone comma,
    # or a comma after the last dot, is the decimal mark.
    comma_decimal = t.str.contains(r"^[-+]?[\d.]*,\d+$")
    return (
        pl.select(
            pl.when(comma_decimal)
            .then(t.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
            .otherwise(t.str.replace_all(",", "", literal=True))
        ).to_series()
    )


def parse_scaled(s: pl.Series, *, decimal: str | None, scale: int, max_int_digits: int = 12
                 ) -> tuple[pl.Series, pl.Series]:
    """Text -> Int64 in units of 10**-scale, rounded half up. Returns (values, invalid mask)."""
    t = _normalise_number_text(s, decimal)
    parts = t.str.extract_groups(r"^([-+]?)(\d*)(?:\.(\d*))?$").struct.unnest()
    parts.columns = ["sign", "int", "frac"]
    frame = parts.with_columns(
        pl.col("int").fill_null(""), pl.col("frac").fill_null(""), ok=pl.col("sign").is_not_null()
    ).with_columns(
        ok=pl.col("ok") & ((pl.col("int").str.len_chars() + pl.col("frac").str.len_chars()) > 0)
        & (pl.col("int").str.len_chars() <= max_int_digits)
    )
    padded = pl.col("frac").str.pad_end(scale + 1, "0")
    whole = pl.when(pl.col("int") == "").then(pl.lit("0")).otherwise(pl.col("int"))
    value_expr = (
        whole.cast(pl.Int64, strict=False) * (10 ** scale)
        + (padded.str.slice(0, scale).cast(pl.Int64, strict=False) if scale else pl.lit(0))
        + (padded.str.slice(scale, 1).cast(pl.Int64, strict=False) >= 5).cast(pl.Int64)
    )
    out = frame.select(
        pl.when(pl.col("ok")).then(
            pl.when(pl.col("sign") == "-").then(-value_expr).otherwise(value_expr)
        ).otherwise(None).alias("v")
    ).to_series()
    invalid = s.is_not_null() & out.is_null()
    return out, invalid


def money(s: pl.Series, *, decimal: str | None, allow_negative: bool = False) -> tuple[pl.Series, Checks]:
    cents, invalid = parse_scaled(s, decimal=decimal, scale=2)
    checks: Checks = [(invalid, _('"%(value)s" no es un importe válido.'))]
    if not allow_negative:
        checks.append((cents < 0, _('"%(value)s" no puede ser negativo.')))
    return cents, checks


def quantity(s: pl.Series, *, decimal: str | None) -> tuple[pl.Series, Checks]:
    thousandths, invalid = parse_scaled(s, decimal=decimal, scale=3, max_int_digits=9)
    return thousandths, [
        (invalid, _('"%(value)s" no es una cantidad válida.')),
        (thousandths <= 0, _('"%(value)s": la cantidad debe ser mayor que cero.')),
    ]


def integer(s: pl.Series) -> tuple[pl.Series, Checks]:
    t = s.str.replace_all(r"[\s.']", "")
    t = t.str.replace(r",0+$", "").str.replace(r"\.0+$", "")
    values = t.cast(pl.Int64, strict=False)
    return values, [
        (s.is_not_null() & values.is_null(), _('"%(value)s" no es un número entero válido.')),
        (values < 0, _('"%(value)s" no puede ser negativo.')),
    ]


# ---------------------------------------------------------------- dates

def _parse_with_formats(s: pl.Series, dtype: Any, formats: tuple[str, ...] | list[str]) -> pl.Series:
    """Parse with the first format that fits each cell.

    A file nearly always uses one or two formats: those that fit a sample are tried on
    the whole column first, and every format only on the cells still unparsed (cheap on
    a million rows, where trying thirty formats on every cell is not).
    """
    sample = s.drop_nulls().head(2000)
    likely = [f for f in formats if sample.str.strptime(dtype, f, strict=False, exact=True).is_not_null().any()]
    values = _coalesce([s.str.strptime(dtype, f, strict=False, exact=True) for f in likely], s, dtype)
    missing = values.is_null() & s.is_not_null()
    if missing.any():
        rest = [f for f in formats if f not in likely]
        if rest:
            todo = s.filter(missing)
            filled = _coalesce([todo.str.strptime(dtype, f, strict=False, exact=True) for f in rest], todo, dtype)
            values = values.scatter(missing.arg_true(), filled)
    return values


def _coalesce(parsed: list[pl.Series], s: pl.Series, dtype: Any) -> pl.Series:
    if not parsed:
        return pl.Series(s.name, [None] * len(s), dtype=dtype)
    return parsed[0] if len(parsed) == 1 else pl.select(pl.coalesce(parsed)).to_series()


def _strip_time(s: pl.Series) -> pl.Series:
    """'2024-03-05 00:00:00', '2024-03-05T10:11:12.000Z' (CRM exports of a date field) -> the date."""
    return s.str.replace(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$", "")


def _date_formats(date_format: str | None) -> tuple[str, ...]:
    return (date_format,) if date_format else DATE_FORMATS


def date(s: pl.Series, *, date_format: str | None) -> tuple[pl.Series, Checks]:
    t = _strip_time(s)
    values = _parse_with_formats(t, pl.Date, _date_formats(date_format))
    hint = _('"%(value)s" no es una fecha válida (use dd/mm/aaaa o aaaa-mm-dd).')
    invalid = s.is_not_null() & values.is_null()
    out_of_range = values.is_not_null() & ((values.dt.year() < 1900) | (values.dt.year() > 2100))
    values = pl.select(pl.when(out_of_range).then(None).otherwise(values)).to_series()
    return values, [(invalid, hint), (out_of_range, _('"%(value)s": el año no es plausible.'))]


# A moment written with its offset or "Z" (ISO 8601, as web shops export it:
# "2025-03-30T03:15:00+02:00"): told apart by its shape before any plain format is tried.
OFFSET_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|z|[+-]\d{2}(:?\d{2})?)$"
OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%#z", "%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%#z",
                  "%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z", "%Y-%m-%d %H:%M%#z")
UTC_DATETIME = pl.Datetime("us", "UTC")


def datetime_(s: pl.Series, *, date_format: str | None, time_zone: str) -> tuple[pl.Series, Checks]:
    """Local date-times (in `time_zone`) or ISO with offset -> Datetime in UTC.

    The kind most of the column's first cells show is parsed first, and the other only on
    the cells left: a column of offsets never goes through the thirty plain formats (that was
    nine tenths of its parsing time).
    """
    sample = s.drop_nulls().head(2000)
    offsets_first = 2 * int(sample.str.contains(OFFSET_PATTERN).sum()) > len(sample) > 0

    def offsets(t: pl.Series) -> pl.Series:
        return _parse_with_formats(t, UTC_DATETIME, OFFSET_FORMATS)

    def local(t: pl.Series) -> pl.Series:
        return _local_to_utc(t, date_format=date_format, time_zone=time_zone)

    first, second = (offsets, local) if offsets_first else (local, offsets)
    values = first(s)
    rest = s.is_not_null() & values.is_null()
    if rest.any():
        values = values.scatter(rest.arg_true(), second(s.filter(rest)))
    invalid = s.is_not_null() & values.is_null()
    out_of_range = values.is_not_null() & ((values.dt.year() < 1900) | (values.dt.year() > 2100))
    return values, [
        (invalid, _('"%(value)s" no es una fecha válida (use dd/mm/aaaa [hh:mm] o aaaa-mm-dd).')),
        (out_of_range, _('"%(value)s": el año no es plausible.')),
    ]


def _local_to_utc(s: pl.Series, *, date_format: str | None, time_zone: str) -> pl.Series:
    """Wall-clock times in `time_zone` -> UTC. An ambiguous time (the autumn hour that
    happens twice) is the earlier one; a time inside the spring-forward gap (a till whose
    clock changed late) is read with the offset in force before the change, as zoneinfo
    does with fold=0: moved forward by the zone's own gap (one hour in Madrid, thirty
    minutes at Lord Howe)."""
    formats = [d + t for d in _date_formats(date_format) for t in TIME_SUFFIXES
               if not (t.startswith("T") and not d.startswith("%Y"))]
    naive = _parse_with_formats(s, pl.Datetime("us"), formats)
    local = naive.dt.replace_time_zone(time_zone, ambiguous="earliest", non_existent="null") \
        .dt.convert_time_zone("UTC")
    gap = local.is_null() & naive.is_not_null()
    if gap.any():  # a few rows a year: one zoneinfo conversion per distinct time
        zone, utc = ZoneInfo(time_zone), ZoneInfo("UTC")
        in_gap = naive.filter(gap)
        moments = {t: t.replace(tzinfo=zone).astimezone(utc) for t in in_gap.unique().to_list()}
        local = local.scatter(gap.arg_true(),
                              pl.Series([moments[t] for t in in_gap.to_list()], dtype=UTC_DATETIME))
    return local


# ---------------------------------------------------------------- text, choices

def text(s: pl.Series, *, max_length: int | None, collapse: bool = True) -> tuple[pl.Series, Checks]:
    values = s.str.replace_all(r"\s+", " ") if collapse else s
    checks: Checks = []
    if max_length:
        checks.append((values.str.len_chars() > max_length,
                       _('"%(value)s" es demasiado largo') + " " +
                       _("(máximo %(max)s caracteres).") % {"max": max_length}))
    return values, checks


def _key(value: str) -> str:
    return " ".join(strip_accents(value).lower().replace("-", " ").replace("_", " ").split())


def choice(s: pl.Series, options: dict[str, str], message: str) -> tuple[pl.Series, Checks]:
    """Map cell text (accent/case-insensitive) to a stored value; unknown text is an error."""
    keys = map_unique(s, _key, pl.String)
    values = keys.replace_strict({_key(k): v for k, v in options.items()}, default=None,
                                 return_dtype=pl.String)
    return values, [(s.is_not_null() & values.is_null(), message)]


BOOL_OPTIONS = {
    **dict.fromkeys(("si", "s", "yes", "y", "1", "true", "verdadero", "x", "v", "ok", "acepta",
                     "activo", "alta", "on", "1.0"), "1"),
    **dict.fromkeys(("no", "n", "0", "false", "falso", "f", "baja", "inactivo", "off", "0.0",
                     "rechaza", "-"), "0"),
}


def boolean(s: pl.Series) -> tuple[pl.Series, Checks]:
    values, checks = choice(s, BOOL_OPTIONS, _('"%(value)s" no es sí/no.'))
    return values.cast(pl.Int8).cast(pl.Boolean), checks


def email(s: pl.Series) -> tuple[pl.Series, Checks]:
    values = s.str.to_lowercase().str.strip_chars()
    bad = {v for v in values.drop_nulls().unique().to_list() if not _valid_email(v)}
    return values, [(values.is_in(list(bad)) if bad else pl.Series([False] * len(s)),
                     _('"%(value)s" no es un e-mail válido.'))]


def _valid_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


COUNTRY_NAMES = {
    "espana": "ES", "spain": "ES", "portugal": "PT", "francia": "FR", "france": "FR",
    "andorra": "AD", "alemania": "DE", "germany": "DE", "italia": "IT", "italy": "IT",
    "reino unido": "GB", "united kingdom": "GB", "uk": "GB", "inglaterra": "GB",
    "estados unidos": "US", "eeuu": "US", "ee uu": "US", "usa": "US", "united states": "US",
    "mexico": "MX", "argentina": "AR", "colombia": "CO", "chile": "CL", "peru": "PE",
    "venezuela": "VE", "ecuador": "EC", "uruguay": "UY", "paraguay": "PY", "bolivia": "BO",
    "cuba": "CU", "republica dominicana": "DO", "marruecos": "MA", "morocco": "MA",
    "belgica": "BE", "belgium": "BE", "paises bajos": "NL", "holanda": "NL", "netherlands": "NL",
    "suiza": "CH", "switzerland": "CH", "irlanda": "IE", "ireland": "IE", "rumania": "RO",
    "romania": "RO", "china": "CN", "brasil": "BR", "brazil": "BR",
}


def country(s: pl.Series) -> tuple[pl.Series, Checks]:
    options = dict(COUNTRY_NAMES)
    options.update({code.lower(): code for code in country_codes()})
    return choice(s, options, _('"%(value)s" no es un país reconocido (use el código de dos letras, p. ej. ES).'))


def tags(s: pl.Series) -> pl.Series:
    """'Bricolaje, jardín; pintura' -> ['bricolaje', 'jardín', 'pintura'] (lower case, unique)."""
    return s.map_elements(split_tags, return_dtype=pl.List(pl.String), skip_nulls=True)


def split_tags(value: str) -> list[str]:
    seen: dict[str, None] = {}
    for part in value.replace(";", ",").replace("|", ",").split(","):
        name = " ".join(part.split()).lower()[:80]
        if name:
            seen.setdefault(name, None)
    return list(seen)


def apply_checks(report: ErrorReport, frame: pl.DataFrame, column: str, checks: Checks) -> pl.Series:
    """Add each check's failures to `report`; returns the mask of rows with any failure."""
    any_bad = pl.Series([False] * len(frame))
    for mask, message in checks:
        mask = mask.fill_null(False)
        report.add_mask(frame, mask & ~any_bad, column, message)
        any_bad = any_bad | mask
    return any_bad


def map_unique(s: pl.Series, fn: Callable[[str], Any], dtype: Any) -> pl.Series:
    """Apply a Python function once per distinct value (phones, e-mails repeat a lot)."""
    uniques = s.drop_nulls().unique()
    table = {v: fn(v) for v in uniques.to_list()}
    return s.replace_strict(table, default=None, return_dtype=dtype)
