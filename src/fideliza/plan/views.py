"""Thin views of the six-moves plan: the customers behind a line, the one-click actions on
it, and the plan items' form. The move pages themselves (web) show the lines and items."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.models import Role, User
from fideliza.accounts.services import Actor
from fideliza.segments.permissions import can_edit_segments

from .forms import PlanItemForm, StatusForm
from .lines import Line, line_get
from .models import Move
from .selectors import (
    SHOWN_CUSTOMERS,
    line_context,
    line_customers,
    move_lines,
    plan_items_visible_to,
)
from .services import (
    line_followups_create,
    line_segment_save,
    plan_item_create,
    plan_item_set_status,
    plan_item_update,
)


def may_edit_plan(user: User) -> bool:
    return user.is_superuser or user.role in (Role.OWNER, Role.MARKETING)


def can_edit_campaigns(user: User) -> bool:
    """Whether the campaign form opens for `user` (owner and marketing, as
    `campaigns.permissions` says; campaigns sit above this app, so the rule is restated
    here and a test keeps the two equal)."""
    return may_edit_plan(user)


def _line(key: str) -> Line:
    line = line_get(key)
    if line is None:
        raise Http404
    return line


def _move_url(line: Line) -> str:
    return reverse("web:move", kwargs={"slug": line.move})


@login_required
def line_detail(request: AuthedRequest, key: str) -> HttpResponse:
    line = _line(key)
    ctx = line_context(request.user)
    customers = line_customers(line, ctx)
    count = customers.count()
    rows = move_lines(move=line.move, user=request.user, only=key)
    return render(request, "plan/line.html", {
        "line": line, "row": rows[0] if rows else None, "text": line.text(count), "count": count,
        "customers": list(customers.select_related("account_executive")[:SHOWN_CUSTOMERS]),
        "shown": SHOWN_CUSTOMERS, "move": Move(line.move), "move_url": _move_url(line),
        "can_segment": can_edit_segments(request.user), "can_campaign": can_edit_campaigns(request.user),
    })


@login_required
@require_POST
def line_followups(request: AuthedRequest, key: str) -> HttpResponse:
    line = _line(key)
    _action, created = line_followups_create(actor=Actor.of(request.user), line=line)
    if created:
        messages.success(request, _("%(n)s seguimientos creados para esta semana.") % {"n": created})
    else:
        messages.info(request, _("Todos los clientes de esta lista ya tienen su seguimiento de esta semana."))
    if request.POST.get("back") == "line":
        return redirect("plan:line", key=key)
    return redirect(_move_url(line))


@login_required
@require_POST
def line_segment(request: AuthedRequest, key: str) -> HttpResponse:
    if not can_edit_segments(request.user):
        raise PermissionDenied
    line = _line(key)
    segment, added = line_segment_save(actor=Actor.of(request.user), line=line)
    messages.success(request, _("Segmento «%(name)s»: %(n)s clientes añadidos.") % {"name": segment.name, "n": added})
    return redirect("segments:detail", pk=segment.pk)


@login_required
@require_POST
def line_campaign(request: AuthedRequest, key: str) -> HttpResponse:
    if not (can_edit_segments(request.user) and can_edit_campaigns(request.user)):
        raise PermissionDenied
    line = _line(key)
    segment, _added = line_segment_save(actor=Actor.of(request.user), line=line)
    return redirect(f"{reverse('campaigns:create')}?segment={segment.pk}")


@login_required
def item_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    if not may_edit_plan(request.user):
        raise PermissionDenied
    item = get_object_or_404(plan_items_visible_to(request.user), pk=pk) if pk else None
    if request.method == "POST":
        form = PlanItemForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            fields = {k: data[k] for k in ("action", "owner", "due_date", "status", "when", "who", "how", "line_key")}
            try:
                if item is None:
                    item = plan_item_create(actor=Actor.of(request.user), move=data["move"], **fields)
                else:
                    item = plan_item_update(item=item, move=data["move"], **fields)
            except ValidationError as exc:
                for field, errors in (exc.message_dict.items() if hasattr(exc, "error_dict") else
                                      [(None, exc.messages)]):
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Acción del plan guardada."))
                return redirect("web:move", slug=item.move)
    else:
        move = request.GET.get("move", "")
        initial = PlanItemForm.initial_for(item) if item else {
            "move": move if move in Move.values else Move.RELACION, "owner": request.user.pk,
            "due_date": timezone.localdate(), "line_key": request.GET.get("line", "")}
        form = PlanItemForm(initial=initial)
    return render(request, "plan/item_edit.html", {"form": form, "item": item})


@login_required
@require_POST
def item_status(request: AuthedRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(plan_items_visible_to(request.user), pk=pk)
    if not (may_edit_plan(request.user) or item.owner_id == request.user.pk):
        raise PermissionDenied
    form = StatusForm(request.POST)
    if form.is_valid():
        plan_item_set_status(item=item, status=form.cleaned_data["status"])
        messages.success(request, _("Estado cambiado."))
    return redirect("web:move", slug=item.move)
