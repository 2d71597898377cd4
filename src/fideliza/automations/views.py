"""Automation pages: list, editor with its steps, dry run, results against the holdout."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.models import User
from fideliza.accounts.services import Actor
from fideliza.customers.selectors import customers_visible_to
from fideliza.engagement.wording import uplift_explanation

from .forms import AutomationForm, StepFormSet, params_help, step_initial
from .models import Automation, StepRun
from .permissions import can_edit_automations
from .selectors import (
    automation_report,
    automations_dry_run,
    automations_overview,
    dry_run_visible_to,
)
from .services import automation_save, automation_set_active


def _user(request: HttpRequest) -> User:
    """The logged-in user (every view here is behind login_required)."""
    return cast(User, request.user)


def _editor(request: HttpRequest) -> None:
    if not can_edit_automations(_user(request)):
        raise PermissionDenied


@login_required
def automation_list(request: HttpRequest) -> HttpResponse:
    return render(request, "automations/list.html", {"rows": automations_overview(),
                                                     "can_edit": can_edit_automations(_user(request))})


@login_required
def automation_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _editor(request)
    automation = get_object_or_404(Automation, pk=pk) if pk else None
    if request.method == "POST":
        form = AutomationForm(request.POST, instance=automation)
        steps = StepFormSet(request.POST, prefix="steps")
        if form.is_valid() and steps.is_valid():
            step_data = [f.cleaned_data for f in steps.forms
                         if f.cleaned_data and not f.cleaned_data.get("DELETE")]
            data = {k: v for k, v in form.cleaned_data.items()}
            try:
                saved = automation_save(actor=Actor.of(_user(request), via="web"), data=data, steps=step_data,
                                        automation=automation)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Automatización «%(name)s» guardada.") % {"name": saved.name})
                return redirect("automations:report", pk=saved.pk)
    else:
        form = AutomationForm(instance=automation, initial=None if automation else {
            "channels": ["email"], "holdout_share": "0.100"})
        steps = StepFormSet(prefix="steps", initial=step_initial(automation) or [{"position": 1}])
    return render(request, "automations/edit.html", {"form": form, "steps": steps, "automation": automation,
                                                     "params_help": params_help()})


@login_required
@require_POST
def automation_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    _editor(request)
    automation = get_object_or_404(Automation, pk=pk)
    try:
        automation_set_active(actor=Actor.of(_user(request), via="web"), automation=automation,
                              active=not automation.is_active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Automatización activada.") if automation.is_active
                         else _("Automatización desactivada."))
    return redirect(request.POST.get("next") or "automations:list")


@login_required
def automation_report_view(request: HttpRequest, pk: int) -> HttpResponse:
    automation = get_object_or_404(Automation, pk=pk)
    report = automation_report(automation)
    recent = StepRun.objects.filter(automation=automation)
    if _user(request).is_sales_rep:  # names of their own customers only
        recent = recent.filter(enrollment__customer__in=customers_visible_to(_user(request)))
    recent = recent.select_related("enrollment__customer").order_by("-created_at", "-id")[:30]
    return render(request, "automations/report.html", {
        "report": report, "automation": automation,
        "uplift_explanation": uplift_explanation(report["uplift"]) if report.get("uplift") else "",
        "steps": automation.steps.order_by("position"),
        "recent": recent, "can_edit": can_edit_automations(_user(request))})


@login_required
def dry_run_view(request: HttpRequest) -> HttpResponse:
    """The dry run; the table comes in a second request (htmx) since triggers may take a while."""
    automations = Automation.objects.order_by("name")
    selected = request.GET.get("automation", "")
    ids = [int(selected)] if selected.isdigit() else None
    context: dict[str, Any] = {"automations": automations, "selected": selected}
    htmx = bool(getattr(request, "htmx", False))
    if htmx or request.GET.get("run"):
        rows = dry_run_visible_to(automations_dry_run(automation_ids=ids, include_inactive=ids is not None),
                                  _user(request))
        context |= {"rows": rows, "sends": sum(1 for r in rows if r.action in ("send", "draw") and r.channel)}
        if htmx:
            return render(request, "automations/_dry_run_rows.html", context)
    return render(request, "automations/dry_run.html", context)
