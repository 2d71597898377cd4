"""Automation pages: list, editor with its steps, dry run, results against the holdout."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from fideliza.accounts.models import User
from fideliza.accounts.services import Actor
from fideliza.customers.selectors import customers_visible_to
from fideliza.engagement.wording import uplift_explanation

from .forms import ActivationForm, AutomationForm, StepFormSet, params_help, step_initial
from .models import ActivationScope, Automation, StepRun
from .permissions import can_edit_automations
from .selectors import (
    automation_report,
    automations_dry_run,
    automations_overview,
    dry_run_visible_to,
)
from .services import automation_activation_preview, automation_save, automation_set_active


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
            # Switching on asks first whether the customers who already match enter too.
            switch_on = bool(data.get("is_active")) and not (automation and automation.is_active)
            if switch_on:
                data["is_active"] = False
            try:
                saved = automation_save(actor=Actor.of(_user(request), via="web"), data=data, steps=step_data,
                                        automation=automation)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Automatización «%(name)s» guardada.") % {"name": saved.name})
                if switch_on:
                    return redirect("automations:toggle", pk=saved.pk)
                return redirect("automations:report", pk=saved.pk)
    else:
        form = AutomationForm(instance=automation, initial=None if automation else {
            "channels": ["email"], "holdout_share": "0.100"})
        steps = StepFormSet(prefix="steps", initial=step_initial(automation) or [{"position": 1}])
    return render(request, "automations/edit.html", {"form": form, "steps": steps, "automation": automation,
                                                     "params_help": params_help()})


@login_required
def automation_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch off at once; switch on after asking whether the customers who already match
    enter too (GET: the question, with how many they are; default: only new causes)."""
    _editor(request)
    automation = get_object_or_404(Automation, pk=pk)
    actor = Actor.of(_user(request), via="web")
    answered = request.method == "POST" and "scope" in request.POST
    if request.method == "POST" and not answered and automation.is_active:
        automation_set_active(actor=actor, automation=automation, active=False)
        messages.success(request, _("Automatización desactivada."))
        return redirect(_next(request, reverse("automations:list")))
    if answered and automation.is_active:  # the question answered twice (a double click)
        return redirect(_next(request, reverse("automations:report", args=[automation.pk])))
    form = ActivationForm(request.POST if answered else None)
    if form.is_bound and form.is_valid():
        include = form.cleaned_data["scope"] == ActivationScope.EXISTING
        try:
            automation_set_active(actor=actor, automation=automation, active=True, include_existing=include)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("automations:report", pk=automation.pk)
        messages.success(request, _("Automatización activada: los clientes que ya cumplían la condición entrarán "
                                    "en la próxima ejecución.") if include
                         else _("Automatización activada: solo entrarán los clientes con causas nuevas, "
                                "desde ahora."))
        return redirect(_next(request, reverse("automations:report", args=[automation.pk])))
    return render(request, "automations/activate.html", {
        "automation": automation, "form": form, "existing": automation_activation_preview(automation=automation),
        "has_steps": automation.steps.exists(), "next": _next(request, "")})


def _next(request: HttpRequest, default: str) -> str:
    """Where to go after switching: a local path given by the page, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


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
