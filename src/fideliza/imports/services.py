"""Bringing a customer, product, order or ticket file in: preview, validate, then commit.

`import_file` is the one entry point for the web, the command line, background tasks and
the demo. It validates the whole file first (every bad cell is reported, with the row
number the user sees — the header is row 1), and writes only if nothing is wrong, in one
transaction: a file lands whole or not at all. Re-importing a file changes nothing:
customers are matched by (source, id in the source), products by SKU, orders by (source,
order id) and tickets by (source, ticket number or the id derived from customer, moment
and amount).

Before validating, `mapping_check` says what is wrong with the columns (a required one not
assigned) and what the user should know (columns left out, a first row that looks like
data); the mapping page shows it, the command line prints it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from fideliza.accounts.services import Actor

from . import convert
from .fields import (
    FIELDS_BY_KIND,
    ONE_OF_BY_KIND,
    field_specs,
    guess_alternates,
    guess_mapping,
    one_of_label,
    quoted,
)
from .importers import IMPORTERS
from .models import ImportRun, ImportStatus
from .reader import (
    ImportFileError,
    ImportOptions,
    Table,
    detect_decimal,
    read_table,
)

logger = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
PREVIEW_ROWS = 10
NUMERIC_TYPES = ("money", "quantity", "int")

__all__ = ["ImportOptions", "ImportPreview", "import_file", "import_preview", "mapping_check",
           "resolve_mapping"]


@dataclass
class ImportPreview:
    """What the file looks like and how it would be read, before anything is validated."""

    kind: str
    options: ImportOptions
    headers: list[str]
    mapping: dict[str, str | None]          # file column -> field name (the guess)
    rows: list[list[str]]                   # the first rows, as text
    row_count: int                          # data rows (blank rows excluded)
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name, label) of the kind
    error: str = ""                         # set when the file cannot be read
    problems: list[str] = field(default_factory=list)  # what stops validation (missing columns)
    notes: list[str] = field(default_factory=list)     # what the user should know (ignored columns)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_kind(kind: str) -> None:
    if kind not in FIELDS_BY_KIND:
        raise ValueError(f"unknown import kind {kind!r}; expected one of {sorted(FIELDS_BY_KIND)}")


def _detect_decimal(table: Table, mapping: dict[str, str | None], kind: str) -> None:
    if table.options.decimal or table.is_spreadsheet:
        return  # spreadsheets: decided cell by cell (numeric cells always use '.')
    specs = field_specs(kind)
    numeric = [col for col, name in mapping.items() if name in specs and specs[name].type in NUMERIC_TYPES]
    if not numeric:
        table.options.decimal = "," if table.options.delimiter == ";" else "."
        return
    values = pl.concat([table.frame[c].head(20000) for c in numeric])
    table.options.decimal = detect_decimal(values, table.options.delimiter)


def import_preview(*, path: str | Path, kind: str, options: ImportOptions | None = None,
                   mapping: dict[str, str | None] | None = None) -> ImportPreview:
    """Detected options, the suggested mapping (overridden by `mapping`), the first rows, and
    what is wrong or worth knowing about the columns before anything is validated."""
    _check_kind(kind)
    fields = [(f.name, str(f.label)) for f in FIELDS_BY_KIND[kind]]
    try:
        table = read_table(path, options)
    except ImportFileError as exc:
        return ImportPreview(kind=kind, options=options or ImportOptions(), headers=[], mapping={},
                             rows=[], row_count=0, fields=fields, error=str(exc))
    guessed = resolve_mapping(table.headers, kind, mapping, sample=table.frame.head(200))
    _detect_decimal(table, guessed, kind)
    head = table.frame.head(PREVIEW_ROWS).select(table.headers)
    rows = [["" if v is None else str(v) for v in row] for row in head.iter_rows()]
    problems, notes = mapping_check(guessed, kind, table.headers)
    if not len(table.frame):
        problems.append(str(_NO_ROWS))
    return ImportPreview(kind=kind, options=table.options, headers=table.headers, mapping=guessed,
                         rows=rows, row_count=len(table.frame), fields=fields, problems=problems,
                         notes=notes)


def resolve_mapping(headers: list[str], kind: str, mapping: dict[str, str | None] | None,
                    sample: pl.DataFrame | None = None) -> dict[str, str | None]:
    """The guess for every column, with the user's choices on top ('' or None = ignore)."""
    result = guess_mapping(headers, kind, sample)
    if mapping:
        chosen = {col: (name or None) for col, name in mapping.items() if col in result}
        # A field the user gave to one column is taken away from the column that guessed it.
        taken = {name for name in chosen.values() if name}
        for col, name in result.items():
            if col not in chosen and name in taken:
                result[col] = None
        result.update(chosen)
    return result


_NO_ROWS = gettext_lazy("El archivo solo tiene la fila de títulos: no hay datos que importar.")
_VALUE_LIKE = r"^([-+]?[\d.,\s€$%]+|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}.*|[^@\s]+@[^@\s]+)$"


def mapping_check(mapping: dict[str, str | None], kind: str,
                  headers: list[str]) -> tuple[list[str], list[str]]:
    """(problems, notes) of a column mapping, in the active language, before validating.

    Problems stop the validation: a required column or a needed group of columns (the
    customer of an order: id, e-mail or name) is not assigned. Notes are for the user's
    eyes: the columns that will not be imported, and a first row that looks like data.
    """
    problems = [e["message"] for e in _mapping_errors(mapping, kind, headers, None)]
    notes: list[str] = []
    specs = field_specs(kind)
    alternates = guess_alternates(headers, kind, mapping)
    by_field = {name: col for col, name in mapping.items() if name}
    for name, columns in alternates.items():
        for column in columns:
            notes.append(_("«%(column)s» se usa como «%(field)s» donde «%(main)s» está vacía.")
                         % {"column": column, "field": specs[name].label, "main": by_field[name]})
    used = {c for columns in alternates.values() for c in columns}
    ignored = [h for h in headers if not mapping.get(h) and h not in used]
    if ignored:
        shown = ", ".join(quoted(h) for h in ignored[:12])
        if len(ignored) > 12:
            shown += " " + _("y %(n)s más") % {"n": len(ignored) - 12}
        notes.append(ngettext(
            "Esta columna no se importará: %(columns)s. Si contiene algo que quiere conservar, "
            "elija abajo qué dato es.",
            "Estas columnas no se importarán: %(columns)s. Si alguna contiene algo que quiere "
            "conservar, elija abajo qué dato es.", len(ignored)) % {"columns": shown})
    value_like = [h for h in headers if re.match(_VALUE_LIKE, h.strip())]
    if headers and len(value_like) * 2 >= len(headers):
        problems.append(_(
            "La primera fila parece contener datos (%(values)s), no los títulos de las columnas: "
            "esa fila no se importaría. Añada una fila de títulos, como la del archivo de ejemplo.")
            % {"values": ", ".join(quoted(h) for h in value_like[:3])})
    return problems, notes


def _mapping_errors(mapping: dict[str, str | None], kind: str, headers: list[str],
                    user_mapping: dict[str, str | None] | None) -> list[dict[str, Any]]:
    specs = field_specs(kind)
    errors: list[dict[str, Any]] = []
    for col in (user_mapping or {}):
        if col not in headers:
            errors.append({"row": None, "column": col, "value": "",
                           "message": _("El archivo no tiene esta columna.")})
    seen: dict[str, str] = {}
    for col, name in mapping.items():
        if not name:
            continue
        if name not in specs:
            errors.append({"row": None, "column": col, "value": name,
                           "message": _('"%(value)s" no es un campo de este tipo de archivo.') % {"value": name}})
        elif name in seen:
            errors.append({"row": None, "column": col, "value": "", "message": _(
                'El campo "%(field)s" ya está asignado a la columna "%(other)s".')
                % {"field": specs[name].label, "other": seen[name]}})
        else:
            seen[name] = col
    for spec in specs.values():
        if spec.required and spec.name not in seen:
            errors.append({"row": None, "column": "", "value": "", "message": _(
                'Falta la columna obligatoria "%(field)s" (asígnela a una columna del archivo).')
                % {"field": spec.label}})
    for group in ONE_OF_BY_KIND[kind]:
        if not any(name in seen for name in group):
            errors.append({"row": None, "column": "", "value": "", "message": _(
                "Falta una columna con %(fields)s: asigne al menos una.")
                % {"fields": one_of_label(kind, group)}})
    return errors


class _DryRunRollback(Exception):
    pass


def import_file(
    *,
    path: str | Path,
    kind: str,
    source: str,
    actor: Actor,
    options: ImportOptions | None = None,
    mapping: dict[str, str | None] | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
    import_run: ImportRun | None = None,
    file_name: str | None = None,
    match_duplicates: bool | None = None,
) -> ImportRun:
    """Validate `path` as a `kind` file from `source`; unless `dry_run`, commit it atomically.

    Returns the ImportRun: status "invalid" with `errors` ([{row, column, value, message}],
    messages in the active language) when anything is wrong, in which case nothing was
    written; "validated" after a clean dry run (counts say what would happen); "done" after
    a commit. `progress(done, total)` is called while validating and while writing.
    New customer cards are matched against the base afterwards (a background job: sure
    duplicates merged, the grey zone queued for review) unless `match_duplicates` is False
    (default: settings.FIDELIZA_MATCH_ON_IMPORT).
    Do not call inside an outer transaction you expect to keep open for long: on SQLite the
    commit holds the database's write lock.
    """
    _check_kind(kind)
    source = (source or "").strip()
    path = Path(path)
    run = import_run or ImportRun(kind=kind, created_by=actor.user)
    run.kind = kind
    run.source = source
    run.file_name = file_name or run.file_name or path.name
    run.file_sha256 = file_sha256(path)
    run.status = ImportStatus.VALIDATING
    run.errors, run.error_count = [], 0
    run.rows_processed = run.rows_created = run.rows_updated = run.rows_unchanged = run.rows_rejected = 0
    run.finished_at = None
    run.save()

    def finish(status: str, errors: list[dict[str, Any]] | None = None, count: int = 0) -> ImportRun:
        run.status = status
        run.errors = errors or []
        run.error_count = count or len(run.errors)
        run.finished_at = timezone.now()
        run.save()
        return run

    if not source:
        return finish(ImportStatus.INVALID, [{"row": None, "column": "", "value": "",
                                              "message": _("Indique el origen de los datos (p. ej. «tpv»).")}])
    try:
        table = read_table(path, options)
    except ImportFileError as exc:
        return finish(ImportStatus.INVALID, [{"row": None, "column": "", "value": "", "message": str(exc)}])
    resolved = resolve_mapping(table.headers, kind, mapping, sample=table.frame.head(200))
    _detect_decimal(table, resolved, kind)
    run.options = {**table.options.to_json(), "mapping": resolved}
    run.rows_total = len(table.frame)
    run.save(update_fields=["options", "rows_total"])
    mapping_errors = _mapping_errors(resolved, kind, table.headers, mapping)
    problems, notes = mapping_check(resolved, kind, table.headers)
    # What the mapping page would have said (ignored columns, a first row of data): kept on
    # the run for the command line and the record.
    run.options["notes"] = [p for p in problems if p not in {e["message"] for e in mapping_errors}] + notes
    if mapping_errors:
        return finish(ImportStatus.INVALID, mapping_errors)
    if not len(table.frame):
        return finish(ImportStatus.INVALID, [{"row": None, "column": "", "value": "",
                                              "message": str(_NO_ROWS)}])

    last_saved = [0]

    def report(done: int, total: int) -> None:
        if progress:
            progress(done, total)
        # Keep the web's progress bar moving without a write per row.
        if done - last_saved[0] >= max(1, total // 50) or done >= total:
            last_saved[0] = done
            ImportRun.objects.filter(pk=run.pk).update(rows_processed=done)

    alternates = guess_alternates(table.headers, kind, resolved)
    if alternates:
        run.options["alternates"] = alternates
    importer = IMPORTERS[kind](table=table, mapping={c: n for c, n in resolved.items() if n},
                               options=table.options, source=source, actor=actor,
                               file_name=run.file_name, run_id=run.pk, progress=report,
                               alternates=alternates)
    try:
        importer.plan()
    except Exception:
        # A bug, not a bad file: leave a clear trace on the run instead of "validating" forever.
        logger.exception("import %s failed while validating", run.pk)
        finish(ImportStatus.FAILED, [{"row": None, "column": "", "value": "", "message": _(
            "Error interno al validar el archivo; no se ha escrito nada.")}])
        raise
    headers = table.headers
    importer.frame = importer.frame.clear()  # the raw text is not needed any more: free it
    del table
    report(run.rows_total, run.rows_total)
    run.rows_processed = run.rows_total
    if importer.report:
        run.rows_rejected = len(importer.report.rows)
        order = {col: i for i, col in enumerate(headers)}
        errors = sorted(importer.report.errors,
                        key=lambda e: (e["row"] or 0, order.get(e["column"], len(order))))
        return finish(ImportStatus.INVALID, errors, importer.report.count)
    run.rows_created = importer.counts.created
    run.rows_updated = importer.counts.updated
    run.rows_unchanged = importer.counts.unchanged
    run.options["summary"] = importer.counts.summary
    if dry_run:
        return finish(ImportStatus.VALIDATED)

    run.status = ImportStatus.IMPORTING
    run.save(update_fields=["status", "rows_processed", "options"])
    importer.progress = progress  # the web bar shows the validation; writes are one step
    try:
        with transaction.atomic():
            importer.apply()
            new_ids = importer.created_ids
            if match_duplicates is None:
                match_duplicates = settings.FIDELIZA_MATCH_ON_IMPORT
            if new_ids and match_duplicates:
                from fideliza.customers.tasks import dedup_enqueue

                run.options["dedup_job"] = dedup_enqueue(user=actor.user, new_ids=new_ids).pk
    except DatabaseError as exc:
        logger.exception("import %s failed while writing", run.pk)
        run.rows_created = run.rows_updated = run.rows_unchanged = 0
        return finish(ImportStatus.FAILED, [{"row": None, "column": "", "value": "", "message": _(
            "No se pudo guardar (los datos cambiaron mientras tanto o la base de datos lo rechazó); "
            "no se ha escrito nada. Vuelva a intentarlo. Detalle: %(error)s") % {"error": exc}}])
    run.options["summary"] = importer.counts.summary
    return finish(ImportStatus.DONE)


def error_rows_for_display(run: ImportRun) -> list[dict[str, Any]]:
    """The stored errors with their full sentence («Fila 7, columna "Teléfono": …»)."""
    return [{**e, "text": convert.format_error(e), "message_text": convert.error_text(e),
             "column_text": convert.error_column(e)} for e in run.errors]

