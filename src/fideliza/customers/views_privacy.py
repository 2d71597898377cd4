"""Data-subject rights pages: the request log, export (JSON / readable) and erasure."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.models import AuditAction, Role
from fideliza.accounts.services import Actor, audit_record
from fideliza.core.exports import XLSX, export_response, export_view

from .export import customer_export_data, customer_export_tables
from .forms_privacy import CloseForm, EraseForm, RequestForm
from .models import Customer, DataSubjectRequest, RequestKind, RequestStatus
from .privacy import customer_erase, dsr_close, dsr_open

PRIVACY_ROLES = frozenset({Role.OWNER, Role.SUPPORT})


def _guard(request: AuthedRequest) -> None:
    if not (request.user.is_superuser or request.user.role in PRIVACY_ROLES):
        raise PermissionDenied


@login_required
def request_list(request: AuthedRequest) -> HttpResponse:
    _guard(request)
    today = timezone.localdate()
    open_requests = DataSubjectRequest.objects.filter(status=RequestStatus.OPEN).select_related("customer")
    closed = DataSubjectRequest.objects.exclude(status=RequestStatus.OPEN).select_related("customer") \
        .order_by("-closed_at")[:50]
    initial = {"customer": request.GET.get("customer")} if request.GET.get("customer") else None
    return render(request, "customers/privacy/list.html", {
        "open_requests": open_requests, "closed": closed, "today": today,
        "form": RequestForm(initial=initial),
    })


@login_required
@require_POST
def request_create(request: AuthedRequest) -> HttpResponse:
    _guard(request)
    form = RequestForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form.fields[field].label if field in form.fields else ''}: {error}")
        return redirect("privacy:list")
    created = dsr_open(actor=Actor.of(request.user, via="web"), customer=form.cleaned_data["customer"],
                       kind=form.cleaned_data["kind"], country=form.cleaned_data["country"],
                       channel=form.cleaned_data["channel"], details=form.cleaned_data["details"])
    messages.success(request, _("Solicitud registrada; fecha límite %(d)s.") % {"d": created.due_date})
    return redirect("privacy:detail", pk=created.pk)


@login_required
def request_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    _guard(request)
    item = get_object_or_404(DataSubjectRequest.objects.select_related("customer"), pk=pk)
    return render(request, "customers/privacy/detail.html", {
        "item": item, "close_form": CloseForm(), "erase_form": EraseForm(),
        "is_erasure": item.kind == RequestKind.ERASURE, "overdue": item.due_date < timezone.localdate(),
        "erased": hasattr(item.customer, "erasure"),
    })


@login_required
@require_POST
def request_close(request: AuthedRequest, pk: int) -> HttpResponse:
    _guard(request)
    item = get_object_or_404(DataSubjectRequest, pk=pk)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            dsr_close(actor=Actor.of(request.user, via="web"), request=item, status=form.cleaned_data["status"],
                      resolution=form.cleaned_data["resolution"])
            messages.success(request, _("Solicitud cerrada."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect("privacy:detail", pk=pk)


@login_required
@require_POST
def request_erase(request: AuthedRequest, pk: int) -> HttpResponse:
    _guard(request)
    item = get_object_or_404(DataSubjectRequest, pk=pk, kind=RequestKind.ERASURE)
    form = EraseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Marque la confirmación para suprimir."))
        return redirect("privacy:detail", pk=pk)
    try:
        customer_erase(actor=Actor.of(request.user, via="web"), customer=item.customer, request=item)
        messages.success(request, _("Datos personales suprimidos; las ventas se conservan de forma anónima."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("privacy:detail", pk=pk)


@export_view("json", "html", XLSX)
@login_required
def customer_export(request: AuthedRequest, customer_id: int, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """Everything held about one customer: JSON (machine-readable), XLSX (one sheet per
    table, headers in the user's language) or a printable page."""
    _guard(request)
    customer = get_object_or_404(Customer, pk=customer_id)
    if fmt not in ("json", "html", XLSX):
        raise Http404
    audit_record(actor=Actor.of(request.user, via="web"), action=AuditAction.EXPORT,
                 entity="customers.customer", entity_id=customer.pk, context={"format": fmt})
    if fmt == "json":
        data = customer_export_data(customer)
        response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2, default=str),
                                content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="cliente-{customer.pk}.json"'
        return response
    tables = customer_export_tables(customer, readable=fmt != XLSX)
    if fmt == XLSX:
        return export_response(fmt=fmt, filename=f"cliente-{customer.pk}", sheets=tables)
    return render(request, "customers/privacy/export.html", {
        "customer": customer, "card": tables[0], "tables": tables[1:], "generated": timezone.now(),
    })
