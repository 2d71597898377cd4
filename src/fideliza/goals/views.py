"""Thin views of the retention goals: the goals page (with the loyalty funnel beside it),
and the owner's and marketing's form to set or change a goal."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.segments.funnel import funnel

from .forms import GoalForm
from .models import RetentionGoal
from .selectors import goals_future, goals_progress, goals_visible_to, may_edit_goals, period_label
from .services import goal_create, goal_delete, goal_update


@login_required
def goal_list(request: AuthedRequest) -> HttpResponse:
    today = timezone.localdate()
    return render(request, "goals/list.html", {
        "rows": goals_progress(viewer=request.user, day=today),
        "future": [(g, period_label(g.period_kind, g.period_start)) for g in goals_future(viewer=request.user,
                                                                                          day=today)],
        "can_edit": may_edit_goals(request.user),
        "funnel": funnel(user=request.user),
    })


def _editor(request: AuthedRequest) -> None:
    if not may_edit_goals(request.user):
        raise PermissionDenied


@login_required
def goal_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    _editor(request)
    goal = get_object_or_404(goals_visible_to(request.user), pk=pk) if pk else None
    if request.method == "POST":
        form = GoalForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            fields = {"metric": data["metric"], "period_kind": data["period_kind"],
                      "period_start": form.period_start(), "target": data["target"], "store": data["store"],
                      "sales_rep": data["sales_rep"], "notes": data["notes"]}
            try:
                if goal is None:
                    goal_create(user=request.user, **fields)
                else:
                    goal_update(goal=goal, **fields)
            except ValidationError as exc:
                for field, errors in (exc.message_dict.items() if hasattr(exc, "error_dict") else
                                      [(None, exc.messages)]):
                    if field == "period_start":
                        field = "period_day"
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Meta guardada."))
                return redirect("goals:list")
    else:
        form = GoalForm(initial=GoalForm.initial_for(goal) if goal else {"period_day": timezone.localdate()})
    return render(request, "goals/edit.html", {"form": form, "goal": goal})


@login_required
@require_POST
def goal_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    _editor(request)
    goal: RetentionGoal = get_object_or_404(goals_visible_to(request.user), pk=pk)
    goal_delete(goal=goal)
    messages.success(request, _("Meta eliminada."))
    return redirect("goals:list")
