"""Thin views of follow-ups: «Mi día» and the actions on one follow-up."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.models import User
from fideliza.accounts.selectors import users_active
from fideliza.accounts.services import Actor

from .forms import SNOOZE_DAYS, CancelForm, CompleteForm, SnoozeForm
from .models import FollowUp
from .selectors import SHOWN, MyDay, followups_visible_to, my_day
from .services import followup_cancel, followup_complete, followup_snooze


def _team(user: User) -> list[User]:
    """Whose day `user` may look at: a representative only their own; others, the team."""
    if user.is_sales_rep:
        return [user]
    return list(users_active())


@login_required
def my_day_page(request: AuthedRequest) -> HttpResponse:
    """The user's day; owner, marketing and support may also open a colleague's (`?de=<id>`),
    always within the customers they may see themselves."""
    team = _team(request.user)
    person = next((u for u in team if str(u.pk) == request.GET.get("de")), request.user)
    day = my_day(user=person, viewer=request.user)
    _add_urls(day)
    return render(request, "followups/my_day.html", {
        "day": day,
        "person": person,
        "team": team if len(team) > 1 else [],
        "snooze_options": format_html_join("", '<option value="{}">{}</option>', SNOOZE_DAYS),
        "shown": SHOWN,
    })


def _add_urls(day: MyDay) -> None:
    """Each item's links, from one reverse per name (a day may list 150 follow-ups)."""
    patterns = {name: reverse(f"followups:{name}", args=[0]) for name in ("complete", "snooze", "cancel")}
    card = reverse("customers:detail", args=[0])
    for item in (*day.overdue, *day.today, *day.returning):
        pk = str(item.followup.pk)
        item.urls = {name: url.replace("/0/", f"/{pk}/", 1) for name, url in patterns.items()}
        item.urls["card"] = card.replace("/0/", f"/{item.followup.customer_id}/", 1)


def _back(request: AuthedRequest) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return redirect(target)
    return redirect(reverse("followups:my_day"))


def _visible(request: AuthedRequest, pk: int) -> FollowUp:
    """The follow-up, or 404 when it does not exist *or* its customer is not visible."""
    return get_object_or_404(followups_visible_to(request.user), pk=pk)


def _report(request: AuthedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@login_required
@require_POST
def complete(request: AuthedRequest, pk: int) -> HttpResponse:
    followup = _visible(request, pk)
    form = CompleteForm({"outcome": request.POST.get("outcome", request.POST.get("note", ""))})
    if form.is_valid():
        try:
            followup_complete(actor=Actor.of(request.user), followup=followup,
                              outcome=form.cleaned_data["outcome"])
            messages.success(request, _("Seguimiento hecho: «%(title)s».") % {"title": followup.title})
        except ValidationError as exc:
            _report(request, exc)
    return _back(request)


@login_required
@require_POST
def snooze(request: AuthedRequest, pk: int) -> HttpResponse:
    followup = _visible(request, pk)
    form = SnoozeForm({"days": request.POST.get("days"),
                       "reason": request.POST.get("reason", request.POST.get("note", ""))})
    if not form.is_valid():
        messages.error(request, _("Para aplazar, elija hasta cuándo y escriba el motivo."))
        return _back(request)
    try:
        followup_snooze(actor=Actor.of(request.user), followup=followup,
                        until=form.until(max(followup.due_at, timezone.now())),
                        reason=form.cleaned_data["reason"])
        messages.success(request, _("Seguimiento aplazado: «%(title)s».") % {"title": followup.title})
    except ValidationError as exc:
        _report(request, exc)
    return _back(request)


@login_required
@require_POST
def cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    followup = _visible(request, pk)
    form = CancelForm({"reason": request.POST.get("reason", request.POST.get("note", ""))})
    if not form.is_valid():
        messages.error(request, _("Para cancelar, escriba el motivo."))
        return _back(request)
    try:
        followup_cancel(actor=Actor.of(request.user), followup=followup, reason=form.cleaned_data["reason"])
        messages.success(request, _("Seguimiento cancelado: «%(title)s».") % {"title": followup.title})
    except ValidationError as exc:
        _report(request, exc)
    return _back(request)
