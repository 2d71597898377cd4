"""Import pages: upload → columns and preview → Validar → error report or Importar.

Thin views: every decision is in `services.import_file`/`import_preview`; big files are
handed to the `import_run_task` worker and the page polls the run's progress with htmx.
"""

from __future__ import annotations

from functools import wraps
from pathlib import Path
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fideliza.accounts.models import User
from fideliza.accounts.services import Actor
from fideliza.core.exports import CSV, export_response

from .examples import EXAMPLE_ORDER, example_filename, example_sheet, kind_guides
from .forms import MappingForm, OptionsForm, ReuploadForm, UploadForm
from .models import ImportRun, ImportStatus
from .reader import ImportOptions
from .services import (
    error_rows_for_display,
    file_sha256,
    import_file,
    import_preview,
    mapping_check,
)
from .tasks import BACKGROUND_ROWS, import_run_task

RUNNING = (ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.IMPORTING)


def _user(request: HttpRequest) -> User:
    """The logged-in user (the views below all require login)."""
    return cast(User, request.user)


def importer_required(view):
    """Logged in, and not a sales representative (they see only their own customers)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if _user(request).is_sales_rep:
            raise PermissionDenied(_("Los representantes de ventas no pueden importar datos."))
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
@importer_required
def import_list(request: HttpRequest) -> HttpResponse:
    runs = ImportRun.objects.select_related("created_by").defer("errors")
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    return render(request, "imports/list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@importer_required
def import_new(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        run = _store_upload(request, kind=form.cleaned_data["kind"], source=form.cleaned_data["source"],
                            upload=form.cleaned_data["file"], options={})
        return redirect("imports:mapping", pk=run.pk)
    return render(request, "imports/new.html", {"form": form, "guides": kind_guides(), "no": _("No")})


@require_GET
@importer_required
def import_example(request: HttpRequest, kind: str) -> HttpResponse | StreamingHttpResponse:
    """The example CSV of one kind, in the user's language (written from the field definitions)."""
    if kind not in EXAMPLE_ORDER:
        raise Http404
    return export_response(fmt=CSV, filename=example_filename(kind).removesuffix(".csv"),
                           sheets=[example_sheet(kind)])


def _store_upload(request: HttpRequest, *, kind: str, source: str, upload, options: dict) -> ImportRun:
    run = ImportRun(kind=kind, source=source, file_name=Path(upload.name).name[:255],
                    created_by=_user(request), options=options, status=ImportStatus.PENDING)
    run.file.save(Path(upload.name).name, upload, save=False)
    run.file_sha256 = file_sha256(run.file.path)
    run.save()
    return run


def _get_run(pk: int) -> ImportRun:
    return get_object_or_404(ImportRun.objects.select_related("created_by"), pk=pk)


def _options_from(run: ImportRun) -> ImportOptions:
    return ImportOptions.from_json(run.options)


@require_http_methods(["GET", "POST"])
@importer_required
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Detected options, the column → field mapping (editable) and the first rows."""
    run = _get_run(pk)
    if not run.file or run.status in (ImportStatus.VALIDATING, ImportStatus.IMPORTING, ImportStatus.DONE):
        return redirect("imports:detail", pk=run.pk)
    saved = _options_from(run)
    options_form = OptionsForm(request.POST or None, initial={
        "encoding": saved.encoding or "", "delimiter": saved.delimiter or "", "decimal": saved.decimal or "",
        "date_format": saved.date_format or "", "create_missing_products": saved.create_missing_products,
        "create_missing_stores": saved.create_missing_stores,
        "create_missing_customers": saved.create_missing_customers})
    options = saved
    if request.method == "POST" and options_form.is_valid():
        data = options_form.cleaned_data
        options = ImportOptions(encoding=data["encoding"] or None, delimiter=data["delimiter"] or None,
                                decimal=data["decimal"] or None, date_format=data["date_format"] or None,
                                sheet=saved.sheet, create_missing_products=data["create_missing_products"],
                                create_missing_stores=data["create_missing_stores"],
                                create_missing_customers=data["create_missing_customers"])
    user_choice = {**(run.options or {}).get("mapping", {})}
    preview = import_preview(path=run.file.path, kind=run.kind, options=options, mapping=user_choice or None)
    validate = request.method == "POST" and request.POST.get("action") == "validate"
    # "Actualizar vista previa" may change the columns (another separator): fresh guesses then.
    mapping_form = MappingForm(request.POST if validate else None, kind=run.kind, headers=preview.headers,
                               initial_mapping=preview.mapping)
    problems, notes = preview.problems, preview.notes
    if validate and options_form.is_valid() and mapping_form.is_valid() and not preview.error:
        chosen = mapping_form.mapping()
        # The columns as the user left them are checked before anything is validated: a
        # missing required column is said here, not as an error report after «Validar».
        problems, notes = mapping_check(chosen, run.kind, preview.headers)
        if preview.row_count == 0:
            problems = preview.problems
        if not problems:
            # Options the user left on "Detectar" stay undetected so that a corrected file is
            # detected afresh; the explicit ones and the mapping are kept.
            run.options = {**options.to_json(), "mapping": chosen}
            run.save(update_fields=["options"])
            return _start(request, run, dry_run=True, rows=preview.row_count)
    return render(request, "imports/mapping.html", {
        "run": run, "preview": preview, "mapping_form": mapping_form, "options_form": options_form,
        "detected": preview.options, "problems": problems, "notes": notes,
        "order_options": OptionsForm.ORDER_ONLY,
    })


def _start(request: HttpRequest, run: ImportRun, *, dry_run: bool, rows: int) -> HttpResponse:
    """Validate (dry run) or import: inline for small files, in the worker for big ones."""
    if rows > BACKGROUND_ROWS:
        run.status = ImportStatus.PENDING
        run.rows_total, run.rows_processed = rows, 0
        run.save(update_fields=["status", "rows_total", "rows_processed"])
        transaction.on_commit(lambda: import_run_task.enqueue(run.pk, dry_run))
        return redirect("imports:detail", pk=run.pk)
    import_file(path=run.file.path, kind=run.kind, source=run.source,
                actor=Actor.of(_user(request), via="web"), options=_options_from(run),
                mapping=(run.options or {}).get("mapping"), dry_run=dry_run, import_run=run,
                file_name=run.file_name)
    if run.status == ImportStatus.DONE:
        messages.success(request, _("Importación terminada."))
    return redirect("imports:detail", pk=run.pk)


@require_GET
@importer_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run(pk)
    errors = error_rows_for_display(run)
    return render(request, "imports/detail.html", {
        "run": run, "errors": errors, "running": run.status in RUNNING,
        "reupload_form": ReuploadForm(), "summary": (run.options or {}).get("summary") or {},
        "more_errors": max(0, run.error_count - len(run.errors)),
    })


@require_GET
@importer_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment polled by htmx; once the run is over, the page reloads."""
    run = _get_run(pk)
    response = render(request, "imports/_progress.html", {"run": run, "running": run.status in RUNNING})
    if run.status not in RUNNING:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@importer_required
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    run = _get_run(pk)
    if run.status != ImportStatus.VALIDATED or not run.file:
        messages.error(request, _("Solo se puede importar un archivo validado sin errores."))
        return redirect("imports:detail", pk=run.pk)
    return _start(request, run, dry_run=False, rows=run.rows_total)


@require_POST
@importer_required
def import_reupload(request: HttpRequest, pk: int) -> HttpResponse:
    """A corrected file: a new run with the same kind, source, options and mapping, validated."""
    previous = _get_run(pk)
    form = ReuploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for error in form.errors.get("file", []):
            messages.error(request, str(error))
        return redirect("imports:detail", pk=previous.pk)
    options = {k: v for k, v in (previous.options or {}).items() if k != "summary"}
    run = _store_upload(request, kind=previous.kind, source=previous.source,
                        upload=form.cleaned_data["file"], options=options)
    preview = import_preview(path=run.file.path, kind=run.kind, options=_options_from(run))
    return _start(request, run, dry_run=True, rows=preview.row_count)
