"""Reading CSV and XLSX files into a Polars frame of strings, detecting how they are written.

Every cell is read as text: conversion happens afterwards, column by column, so that a bad
value becomes an error report for its cell instead of a failed read.

What a file *is* comes from its first bytes, not its name: an Excel workbook renamed
`.csv` is read as a workbook, a CSV renamed `.xlsx` as text, and anything that is neither
(a PDF, an image, an old `.xls`, a program) is refused with a sentence saying what it is.
Row numbers are the ones the user sees in the file: the header is row 1 of a CSV, and in a
workbook the rows keep their sheet numbers even when the table starts lower down or has
blank rows in between.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

import polars as pl
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

XLSX_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
DELIMITERS = (";", ",", "\t", "|")
ROW_COLUMN = "__row__"  # internal: the row number the user sees; never shown as a column name
SNIFF_BYTES = 65536


class ImportFileError(Exception):
    """The file cannot be read at all (not a table, wrong encoding, empty)."""


@dataclass
class ImportOptions:
    """How the file is written; None means "detect it"."""

    encoding: str | None = None          # "utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"
    delimiter: str | None = None         # ",", ";", "\t", "|"
    decimal: str | None = None           # "," or "."
    date_format: str | None = None       # strftime pattern, e.g. "%d/%m/%Y"
    sheet: str | None = None             # XLSX sheet name; first sheet when None
    create_missing_products: bool = False  # orders: unknown SKU -> placeholder product
    create_missing_stores: bool = True     # orders: unknown store code -> new store
    create_missing_customers: bool = False  # orders, tickets: unknown customer -> minimal card

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ImportOptions:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})


@dataclass(frozen=True)
class CellIssue:
    """A cell whose text cannot be trusted although the reader got something (or nothing)
    out of it: a formula without a stored result, a formula that evaluates to an error."""

    row: int
    column: str
    value: str
    message: str


def is_spreadsheet(path: str | Path) -> bool:
    """By name only; what a file really is comes from `sniff`."""
    return Path(path).suffix.lower() in XLSX_SUFFIXES


# ---------------------------------------------------------------- what the file is

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TEXT_CONTROLS = {9, 10, 11, 12, 13, 26}  # tab, newlines, form feed, DOS end-of-file


def _binary_error(what: str) -> ImportFileError:
    return ImportFileError(_(
        "El archivo no es un CSV ni una hoja de Excel: %(what)s. Exporte los datos a CSV "
        "o a Excel (.xlsx) desde el programa de origen y vuelva a subirlo.") % {"what": what})


def sniff(source: str | Path | IO[bytes]) -> str:
    """'xlsx', 'ods' or 'text', from the file's first bytes; ImportFileError otherwise.

    `source` is a path or a binary file object (an upload), which is left at its start.
    """
    if isinstance(source, str | Path):
        with open(source, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
        archive_source: Any = Path(source)
    else:
        source.seek(0)
        head = source.read(SNIFF_BYTES)
        source.seek(0)
        archive_source = source
    try:
        return _sniff(head, archive_source)
    finally:
        if not isinstance(source, str | Path):
            source.seek(0)


def _sniff(head: bytes, archive_source: Any) -> str:
    if not head.strip():
        raise ImportFileError(_("El archivo está vacío."))
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(archive_source) as archive:
                names = set(archive.namelist())
                if "xl/workbook.xml" in names:
                    return "xlsx"
                if "mimetype" in names and b"spreadsheet" in archive.read("mimetype"):
                    return "ods"
        except (zipfile.BadZipFile, OSError) as exc:
            raise _binary_error(_("es un archivo comprimido dañado o incompleto")) from exc
        raise _binary_error(_("es un archivo comprimido (ZIP, Word, …)"))
    if head.startswith(_OLE2):
        raise ImportFileError(_(
            "El archivo es una hoja de Excel antigua (.xls) o protegida con contraseña: ábrala "
            "en Excel o LibreOffice y guárdela como .xlsx (sin contraseña) o como CSV."))
    if head.startswith(b"%PDF"):
        raise _binary_error(_("es un PDF"))
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")):
        raise _binary_error(_("es una imagen"))
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "text"
    if b"\x00" in head:
        raise _binary_error(_("contiene datos binarios (parece un programa, una imagen o una "
                              "base de datos con otro nombre)"))
    text = head.decode(detect_encoding(head), errors="replace")
    controls = sum(1 for ch in text if ord(ch) < 32 and ord(ch) not in _TEXT_CONTROLS)
    if controls > max(2, len(text) // 200):
        raise _binary_error(_("contiene datos binarios (parece un programa, una imagen o una "
                              "base de datos con otro nombre)"))
    return "text"


def detect_encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" export
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and len(data) >= SNIFF_BYTES:
            return "utf-8"  # a sample cut in the middle of a character
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
    format: str = "csv"          # "csv" or "xlsx" (what the file is, whatever its name)
    cell_issues: list[CellIssue] = field(default_factory=list)

    @property
    def is_spreadsheet(self) -> bool:
        return self.format != "csv"


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
    issues: list[CellIssue] = []
    try:
        kind = sniff(path)
        if kind == "text":
            frame, header_row, fmt = _read_csv(path, opts, n_rows), 1, "csv"
        else:
            frame, header_row, issues = _read_xlsx(path, opts, n_rows)
            fmt = "xlsx"
    except ImportFileError:
        raise
    except (pl.exceptions.PolarsError, OSError, ValueError, csv.Error, zipfile.BadZipFile,
            ElementTree.ParseError) as exc:
        logger.info("unreadable import file %s: %s", path.name, exc)
        raise ImportFileError(_(
            "No se puede leer el archivo como una tabla. Compruebe que es el archivo correcto "
            "y que se exportó como CSV o Excel (.xlsx).")) from exc
    except Exception as exc:  # the Excel reader's own errors (calamine) have no common base
        if type(exc).__module__.startswith("fastexcel") or "calamine" in type(exc).__name__.lower():
            logger.info("unreadable workbook %s: %s", path.name, exc)
            raise ImportFileError(_(
                "No se puede leer la hoja de cálculo: puede estar dañada o protegida. Ábrala en "
                "Excel o LibreOffice y guárdela de nuevo como .xlsx o CSV.")) from exc
        raise
    original = [str(c) for c in frame.columns]
    headers = _unique_headers(["" if c.startswith("__UNNAMED__") else c for c in original])
    frame.columns = headers
    if not headers:
        raise ImportFileError(_("El archivo no tiene columnas."))
    renamed = dict(zip(original, headers, strict=True))
    issues = [CellIssue(row=i.row, column=renamed.get(i.column, i.column), value=i.value,
                        message=i.message) for i in issues]
    frame = frame.with_columns(pl.all().cast(pl.String).str.strip_chars())
    if fmt == "csv":
        # Spreadsheet users (and Shopify's exports) write '0034 or '+34… to keep leading zeros.
        quoted = [h for h in frame.columns if frame[h].str.starts_with("'").any()]
        if quoted:
            frame = frame.with_columns(pl.col(quoted).str.replace(r"^'([\d+])", "$1"))
    frame = frame.with_columns(
        [pl.when(pl.col(h) == "").then(None).otherwise(pl.col(h)).alias(h) for h in headers]
    )
    frame = frame.with_row_index(ROW_COLUMN, offset=header_row + 1).with_columns(
        pl.col(ROW_COLUMN).cast(pl.Int64))
    frame = frame.filter(~pl.all_horizontal([pl.col(h).is_null() for h in headers]))
    return Table(frame=frame, headers=headers, options=opts, format=fmt, cell_issues=issues)


def _read_csv(path: Path, opts: ImportOptions, n_rows: int | None) -> pl.DataFrame:
    data = path.read_bytes()
    if not data.strip():
        raise ImportFileError(_("El archivo está vacío."))
    if opts.encoding is None:
        opts.encoding = detect_encoding(data)
    encoding = opts.encoding.lower().replace("_", "-")
    if not encoding.startswith("utf-16") and b"\x00" in data:
        # Text never holds NUL bytes (and PostgreSQL refuses them): binary data past the
        # part `sniff` looked at.
        raise _binary_error(_("contiene datos binarios (parece un programa, una imagen o una "
                              "base de datos con otro nombre)"))
    if encoding in ("utf-8", "utf8", "utf-8-sig"):
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8):]
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise ImportFileError(_(
                "El archivo no está en UTF-8 (línea %(line)s): elija otra codificación, p. ej. "
                "Windows-1252.") % {"line": line}) from exc
        text_head = data[:65536].decode("utf-8", errors="ignore")
    else:
        try:
            decoded = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ImportFileError(
                _("El archivo no está en la codificación %(enc)s.") % {"enc": opts.encoding}
            ) from exc
        if decoded.startswith("\ufeff"):
            decoded = decoded[1:]
        text_head = decoded[:65536]
        data = decoded.encode("utf-8")  # Polars reads UTF-8
        del decoded
    if opts.delimiter is None:
        opts.delimiter = detect_delimiter(text_head)
    try:
        return pl.read_csv(
            io.BytesIO(data), separator=opts.delimiter, infer_schema=False, has_header=True,
            n_rows=n_rows, encoding="utf8", truncate_ragged_lines=False, raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise _csv_shape_error(data, opts.delimiter) from exc


def _csv_shape_error(data: bytes, delimiter: str) -> ImportFileError:
    """A plain-language reason why Polars refused a CSV (usually a row longer than the header)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""),
                        delimiter=delimiter)
    try:
        header = next(reader)
        for number, row in enumerate(reader, start=2):
            if len(row) > len(header):
                return ImportFileError(_(
                    "La fila %(row)s tiene %(n)s columnas y la fila de títulos %(m)s: revise el "
                    "separador (se ha usado «%(sep)s») o las comillas de esa fila.")
                    % {"row": number, "n": len(row), "m": len(header),
                       "sep": _("tabulador") if delimiter == "\t" else delimiter})
    except csv.Error:
        pass
    return ImportFileError(_(
        "No se puede leer el archivo como una tabla: revise el separador y las comillas "
        "(una comilla sin cerrar une varias filas en una)."))


# ---------------------------------------------------------------- workbooks

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")


def _read_xlsx(path: Path, opts: ImportOptions, n_rows: int | None
               ) -> tuple[pl.DataFrame, int, list[CellIssue]]:
    """The sheet as strings, the sheet row of its header, and the cells that hide a problem.

    fastexcel (calamine) reads the value Excel stored with each formula; a formula saved
    without its result (files written by scripts and some exporters) or whose result is an
    error reads as an empty cell. Those cells are found in the sheet's XML and reported,
    so no value silently disappears.
    """
    import fastexcel

    from .fields import quoted

    if path.suffix.lower() == ".xls":
        raise ImportFileError(_("El formato .xls antiguo no se admite: guárdelo como .xlsx o CSV."))
    reader = fastexcel.read_excel(str(path))
    names = list(reader.sheet_names)
    if opts.sheet and opts.sheet not in names:
        raise ImportFileError(_("El libro no tiene ninguna hoja «%(sheet)s»; sus hojas son: %(names)s.")
                              % {"sheet": opts.sheet, "names": ", ".join(quoted(n) for n in names)})
    index = names.index(opts.sheet) if opts.sheet else 0
    sheet = reader.load_sheet(index, dtypes="string", n_rows=n_rows)
    columns = sheet.available_columns()
    frame = sheet.to_polars()
    opts.encoding = None
    opts.delimiter = None
    header_row, issues = 1, []
    if zipfile.is_zipfile(path):
        header_row, problems = _scan_sheet(path, index)
        by_column = {c.absolute_index: c.name for c in columns}
        for row, col, value, message in problems:
            if row > header_row and col in by_column and (n_rows is None or row <= header_row + n_rows):
                issues.append(CellIssue(row=row, column=by_column[col], value=value, message=message))
    for info in columns:  # an unnamed column with nothing in it is no column at all
        if info.name.startswith("__UNNAMED__") and frame[info.name].null_count() == len(frame):
            frame = frame.drop(info.name)
    return frame, header_row, issues


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def _sheet_member(archive: zipfile.ZipFile, index: int) -> str | None:
    """The XML file of the workbook's `index`-th sheet (workbook order, as fastexcel counts)."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    sheets = workbook.find(f"{_NS}sheets")
    if sheets is None or index >= len(sheets):
        return None
    rel_id = sheets[index].get(f"{_REL_NS}id")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _iter_chunks(archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    with archive.open(member) as fh:
        yield from iter(lambda: fh.read(1 << 20), b"")


def _scan_sheet(path: Path, index: int) -> tuple[int, list[tuple[int, int, str, str]]]:
    """(sheet row of the header, [(row, column index, value shown, message)]).

    The header is the first row with a value (where calamine starts the table). The cells
    reported are formulas without a stored result and cells whose stored value is an error
    (#DIV/0!, #N/A, #REF!…). The whole sheet is parsed only when a quick byte scan finds a
    formula or an error cell; most exports have neither.
    """
    with zipfile.ZipFile(path) as archive:
        member = _sheet_member(archive, index)
        if member is None or member not in archive.namelist():
            return 1, []
        suspicious = False
        tail = b""
        for chunk in _iter_chunks(archive, member):
            window = tail + chunk
            if b"<f>" in window or b"<f " in window or b't="e"' in window or b"<f/>" in window:
                suspicious = True
                break
            tail = chunk[-8:]
        header_row: int | None = None
        problems: list[tuple[int, int, str, str]] = []
        with archive.open(member) as fh:
            for _event, cell in ElementTree.iterparse(fh, events=("end",)):
                if cell.tag != f"{_NS}c":
                    if cell.tag == f"{_NS}row" and header_row is not None and not suspicious:
                        break
                    continue
                match = _CELL_REF.match(cell.get("r", ""))
                if match is None:
                    cell.clear()
                    continue
                row, col = int(match.group(2)), _column_index(match.group(1))
                value = cell.find(f"{_NS}v")
                has_value = (value is not None and (value.text or "") != "") or cell.find(f"{_NS}is") is not None
                if has_value and header_row is None:
                    header_row = row
                formula = cell.find(f"{_NS}f")
                if cell.get("t") == "e" and has_value:
                    problems.append((row, col, value.text or "", _(
                        '"%(value)s": la fórmula de esta celda da un error en la hoja de cálculo; '
                        "corríjala y vuelva a subir el archivo.")))
                elif formula is not None and not has_value:
                    text = "=" + (formula.text or "") if formula.text else _("(fórmula compartida)")
                    problems.append((row, col, text, _(
                        "La celda tiene una fórmula sin resultado guardado: abra el archivo con "
                        "Excel o LibreOffice, guárdelo y vuelva a subirlo (así se guardan los "
                        "resultados).")))
                cell.clear()
        return header_row or 1, problems
