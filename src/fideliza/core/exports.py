"""Every CSV and XLSX file a user downloads is written here, so that none carries a formula.

A customer's name comes from an import or the API, so it may be ``=HYPERLINK(...)``: a
spreadsheet opening a raw CSV runs it (OWASP "CSV injection"). The rules, for every export:

- **CSV**: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets
  a leading apostrophe (OWASP's advice), so the spreadsheet shows it as text. Numbers
  (``Decimal``, ``int``, ``float``) are written as numbers, negative ones included; so is a
  text that is only a signed number (``+34600123456``, ``-12,50``): a spreadsheet reads it
  as a number and runs nothing, and E.164 phones stay readable.
- **XLSX**: every text is a string cell (never a formula cell, whatever it starts with), and a
  text starting with one of those characters carries Excel's *quote prefix*, so editing the
  cell (F2, Enter) does not turn it into a formula either; the value itself is unchanged.
- Headers are the labels in the user's language, never field names; the CSV uses the
  language's separators (``;`` and decimal comma in Spanish, ``,`` and point in English) and a
  BOM, so Excel opens it with accents and numbers right.

`defusedcsv` (the maintained drop-in for the csv module) was considered: it does not cover
tab and carriage return (both in OWASP's list), prefixes every ``+`` phone, and has nothing
for XLSX, so one small helper here does both formats with one rule.

A view that returns an export is marked with :func:`export_view`; the test
``tests/core/test_exports.py`` finds every marked view and every URL named ``*export*`` in
the URL configuration and downloads each with a hostile customer, so a new export cannot
skip these rules.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext as _

FORMULA_TRIGGERS = frozenset("=+-@\t\r")
# A text that is only a signed number: a spreadsheet makes it a number and calls nothing.
_SIGNED_NUMBER = re.compile(r"[+-]\d+(?:[.,]\d+)*\Z")
# Control characters XML 1.0 (hence XLSX) cannot hold; a CSV does not need them either.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
XLSX_MAX_TEXT = 32767  # Excel's limit for one cell
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

CSV = "csv"
XLSX = "xlsx"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def export_view(*formats: str) -> Callable[[ViewT], ViewT]:
    """Mark a view as a file export in `formats` (the `fmt` URL argument it accepts).

    Put it outermost (above ``login_required``) so the URL resolver's callback carries the
    mark; the exports test downloads every marked view in every format with a hostile
    customer.
    """

    def mark(view: ViewT) -> ViewT:
        view.export_formats = tuple(formats)  # type: ignore[attr-defined]  # a mark on the function object
        return view

    return mark


def starts_like_formula(text: str) -> bool:
    """Whether a spreadsheet could read `text` as a formula (OWASP's leading characters)."""
    return bool(text) and text[0] in FORMULA_TRIGGERS and not _SIGNED_NUMBER.match(text)


def neutralise(text: str) -> str:
    """`text` made inert for a CSV cell: a leading apostrophe when it starts like a formula."""
    return "'" + text if starts_like_formula(text) else text


@dataclass(frozen=True)
class Sheet:
    """One table of an export: a title (XLSX sheet name), the header labels and the rows.

    Rows hold plain values: ``str``, numbers (``int``, ``float``, ``Decimal``), ``date``,
    ``datetime`` (shown in the local time zone), ``bool`` (Sí/No) or ``None`` (empty).
    """

    title: str | Promise
    header: Sequence[str | Promise]
    rows: Iterable[Sequence[Any]]


def _plain(value: Any, yes: str, no: str) -> Any:
    """One cell's value as str, number, date, datetime (naive local) or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return yes if value else no
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return value
    return _CONTROL.sub("", str(value))


# --- CSV ---------------------------------------------------------------------------------

def _csv_separators() -> tuple[str, str]:
    """(field delimiter, decimal mark) of the active language, as its spreadsheets expect."""
    return (",", ".") if (get_language() or "es").startswith("en") else (";", ",")


def _csv_text(value: Any, decimal_mark: str) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", decimal_mark)
    if isinstance(value, float):
        return repr(value).replace(".", decimal_mark)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(value)


class _Echo:
    """A file-like object whose write() hands back the line (for streaming csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(sheet: Sheet) -> Iterator[str]:
    """The CSV text of `sheet`, line by line, BOM first.

    Labels, separators and Sí/No are resolved now, in the caller's language, not when a
    streaming response pulls the rows later.
    """
    delimiter, decimal_mark = _csv_separators()
    yes, no = _("Sí"), _("No")
    header = [neutralise(_CONTROL.sub("", str(label))) for label in sheet.header]
    writer = csv.writer(_Echo(), delimiter=delimiter, lineterminator="\r\n")

    def generate() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        for row in sheet.rows:
            yield writer.writerow([_csv_text(_plain(v, yes, no), decimal_mark) for v in row])

    return generate()


# --- XLSX --------------------------------------------------------------------------------

def _sheet_title(title: str, used: set[str]) -> str:
    base = _SHEET_TITLE_FORBIDDEN.sub(" ", title).strip().strip("'")[:31] or "Hoja"
    candidate, n = base, 2
    while candidate.lower() in used:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """An XLSX workbook of `sheets`: strings as string cells (quote prefix where they start
    like a formula), numbers as numbers, dates as dates; no formula cell ever."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    yes, no = _("Sí"), _("No")
    book = Workbook(write_only=True)
    used: set[str] = set()
    bold = Font(bold=True)

    for sheet in sheets:
        ws = book.create_sheet(_sheet_title(str(sheet.title), used))

        def cell(value: Any, *, header: bool = False, ws: Any = ws) -> Any:
            value = _plain(value, yes, no)
            if isinstance(value, str):
                value = value[:XLSX_MAX_TEXT]
                out = WriteOnlyCell(ws, value=value)
                out.data_type = "s"  # openpyxl would make "=…" a formula cell
                if value[:1] in FORMULA_TRIGGERS:  # invisible in XLSX: even on "+34…" phones
                    out.quotePrefix = True
            else:
                out = WriteOnlyCell(ws, value=value)
                if isinstance(value, datetime):
                    out.number_format = "yyyy-mm-dd hh:mm:ss"
                elif isinstance(value, date):
                    out.number_format = "yyyy-mm-dd"
            if header:
                out.font = bold
            return out

        ws.append([cell(str(label), header=True) for label in sheet.header])
        for row in sheet.rows:
            ws.append([cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the response ------------------------------------------------------------------------

def export_response(*, fmt: str, filename: str, sheets: Sequence[Sheet]) -> HttpResponse | StreamingHttpResponse:
    """The download of `sheets` as CSV (streamed; exactly one sheet) or XLSX.

    `filename` has no extension and comes from the code (ids, slugs), never from user text.
    An unknown `fmt` is a 404, as for any other URL that does not exist.
    """
    if fmt == CSV:
        if len(sheets) != 1:
            raise ValueError("a CSV export holds exactly one sheet")
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            csv_lines(sheets[0]), content_type="text/csv; charset=utf-8")
    elif fmt == XLSX:
        response = HttpResponse(xlsx_bytes(sheets), content_type=XLSX_CONTENT_TYPE)
    else:
        raise Http404(_("Formato de exportación desconocido."))
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
