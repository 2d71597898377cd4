"""Thin views of contact cadences: the rules (owner and marketing edit them) and the
«Perdiendo contacto» list of the customers past their cadence (each user: their visible
customers; a sales representative, their own)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record
from fideliza.core.exports import CSV, XLSX, Sheet, export_response, export_view
from fideliza.customers.selectors import card_rows

from .forms import CadenceRuleForm, LosingTouchFilter
from .models import DEFAULT_TITLE, CadenceRule
from .permissions import can_edit_cadences
from .selectors import cadence_rules, losing_touch
from .services import CADENCE_VARIABLES, cadence_rule_save, cadence_rule_set_active

EXPORT_ROWS = 50_000


def _editor(request: AuthedRequest) -> None:
    if not can_edit_cadences(request.user):
        raise PermissionDenied


@login_required
def rule_list(request: AuthedRequest) -> HttpResponse:
    return render(request, "cadences/list.html", {"rules": cadence_rules(),
                                                  "can_edit": can_edit_cadences(request.user)})


@login_required
def rule_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    _editor(request)
    rule = get_object_or_404(CadenceRule, pk=pk) if pk else None
    if request.method == "POST":
        form = CadenceRuleForm(request.POST, instance=rule or CadenceRule())
        if form.is_valid():
            try:
                saved = cadence_rule_save(actor=Actor.of(request.user, via="web"), data=form.cleaned_data,
                                          rule=rule)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Cadencia «%(name)s» guardada.") % {"name": saved.name})
                return redirect("cadences:list")
    else:
        form = CadenceRuleForm(instance=rule, initial=None if rule else {
            "kinds": ["call", "visit", "meeting", "meal"], "title_template": DEFAULT_TITLE,
            "starts_on": timezone.localdate()})
    return render(request, "cadences/edit.html", {"form": form, "rule": rule, "variables": CADENCE_VARIABLES})


@login_required
@require_POST
def rule_toggle(request: AuthedRequest, pk: int) -> HttpResponse:
    _editor(request)
    rule = get_object_or_404(CadenceRule, pk=pk)
    cadence_rule_set_active(actor=Actor.of(request.user, via="web"), rule=rule, active=not rule.is_active)
    messages.success(request, (_("Cadencia «%(name)s» activada.") if rule.is_active
                               else _("Cadencia «%(name)s» desactivada: no creará seguimientos nuevos."))
                     % {"name": rule.name})
    return redirect("cadences:list")


def _filter(request: AuthedRequest) -> tuple[LosingTouchFilter, dict[str, Any]]:
    rules = list(cadence_rules().filter(is_active=True))
    form = LosingTouchFilter(request.GET or None, user=request.user, rules=rules)
    params = form.params() if form.is_bound else LosingTouchFilter(user=request.user, rules=rules).params()
    return form, params


@login_required
def losing_touch_page(request: AuthedRequest) -> HttpResponse:
    form, params = _filter(request)
    result = losing_touch(user=request.user, today=timezone.localdate(), **params)
    query = request.GET.copy()
    query.pop("pagina", None)
    return render(request, "cadences/losing_touch.html", {
        "form": form, "result": result, "query": query.urlencode(), "sort": params["sort"],
        "can_edit": can_edit_cadences(request.user),
        "card_url": reverse("customers:detail", args=[0]).replace("/0/", "/{}/"),
    })


@export_view(CSV, XLSX)
@login_required
def losing_touch_export(request: AuthedRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The list as filtered (every page, up to EXPORT_ROWS rows), the user's customers only;
    the download is audited. Text cells are neutralised against formulas by core.exports."""
    if fmt not in (CSV, XLSX):
        raise Http404
    _form, params = _filter(request)
    params |= {"page": 1}
    result = losing_touch(user=request.user, today=timezone.localdate(), page_size=EXPORT_ROWS, **params)
    currency = settings.FIDELIZA_DEFAULT_CURRENCY
    header = [_("Nº de cliente"), _("Nombre"), _("Apellidos"), _("Razón social"), _("Teléfono"), _("E-mail"),
              _("Ciudad"), _("Cadencia"), _("Cada (días)"), _("Último contacto"), _("Días de retraso"),
              _("Ventas netas (%(currency)s)") % {"currency": currency},
              _("CLV previsto (%(currency)s)") % {"currency": currency},
              _("Valor en riesgo (%(currency)s)") % {"currency": currency}, _("Ejecutivo de cuenta"),
              _("Seguimiento pendiente")]
    cards = {row[0]: row for row in card_rows([r.customer_id for r in result.rows])}
    rows = []
    for r in result.rows:
        _pk, _kind, first, last, company, email, phone, city, _region, _country = cards.get(
            r.customer_id, (r.customer_id, "", r.name, "", "", "", "", "", "", ""))
        rows.append((r.customer_id, first, last, company, phone, email, city, r.rule.name, r.rule.every_days,
                     timezone.localtime(r.last_contact).date() if r.last_contact else None, r.days_overdue,
                     r.revenue, r.clv, r.value_at_risk, r.executive or None, bool(r.pending_followup)))
    audit_record(actor=Actor.of(request.user, via="web"), action=AuditAction.EXPORT,
                 entity="cadences.losing_touch", entity_id="", context={"rows": len(rows), "format": fmt})
    return export_response(fmt=fmt, filename="perdiendo-contacto",
                           sheets=[Sheet(title=_("Perdiendo contacto"), header=header, rows=rows)])
