"""Staff pages: the outbox, one message's history, the decision log, suppressions, budgets."""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.services import Actor
from fideliza.customers.selectors import customer_get

from .forms import BudgetForm, OverrideForm, SuppressionForm
from .models import (
    BudgetScope,
    ContactBudget,
    ContactDecision,
    DecisionReason,
    Message,
    MessageChannel,
    MessageStatus,
    Suppression,
    SuppressionReason,
)
from .permissions import can_edit_messaging, can_view_outbox
from .selectors import message_history, outbox_list, outbox_status_counts, suppressions_list
from .services import budget_delete, budget_save, suppression_add, suppression_remove
from .wording import sources_describe

PAGE = 50


def _actor(request: HttpRequest) -> Actor:
    return Actor.of(request.user if request.user.is_authenticated else None, via="web")


def _viewer(request: HttpRequest) -> None:
    if not can_view_outbox(request.user):
        raise PermissionDenied


def _editor(request: HttpRequest) -> None:
    if not can_edit_messaging(request.user):
        raise PermissionDenied


def _seek_page(qs, request: HttpRequest):
    """Newest first by id; ?before=<id> continues (cheap at any depth)."""
    before = request.GET.get("before", "")
    if before.isdigit():
        qs = qs.filter(pk__lt=int(before))
    rows = list(qs.order_by("-id")[: PAGE + 1])
    return rows[:PAGE], (rows[PAGE - 1].pk if len(rows) > PAGE else None)


def _name_sources(rows) -> None:
    """Each row's `source_words`: «Campaña «Vuelta al cole»» for ``campaign:12``."""
    names = sources_describe(row.source for row in rows)
    for row in rows:
        row.source_words = names[row.source]


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    _viewer(request)
    status = request.GET.get("status", "")
    channel = request.GET.get("channel", "")
    source = request.GET.get("source", "").strip()
    qs = outbox_list(status=status if status in MessageStatus.values else "",
                     channel=channel if channel in MessageChannel.values else "", source=source)
    rows, next_before = _seek_page(qs, request)
    _name_sources(rows)
    counts = outbox_status_counts()
    return render(request, "engagement/outbox.html", {
        "rows": rows, "next_before": next_before, "status": status, "channel": channel, "source": source,
        "statuses": [(value, label, counts.get(value, 0)) for value, label in MessageStatus.choices],
        "channels": MessageChannel.choices, "can_edit": can_edit_messaging(request.user),
    })


@login_required
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _viewer(request)
    message = get_object_or_404(Message.objects.select_related("customer"), pk=pk)
    _name_sources([message])
    return render(request, "engagement/message_detail.html", {"message": message, **message_history(message)})


@login_required
def decisions(request: HttpRequest) -> HttpResponse:
    _viewer(request)
    qs = ContactDecision.objects.select_related("customer")
    source = request.GET.get("source", "").strip()
    reason = request.GET.get("reason", "")
    if source:
        qs = qs.filter(source=source)
    if reason in DecisionReason.values:
        qs = qs.filter(reason=reason)
    rows, next_before = _seek_page(qs, request)
    _name_sources(rows)
    channels = dict(MessageChannel.choices)
    for row in rows:
        row.channel_label = channels.get(row.channel, row.channel)
    return render(request, "engagement/decisions.html", {
        "rows": rows, "next_before": next_before, "source": source, "reason": reason,
        "reasons": DecisionReason.choices,
    })


@login_required
def suppressions(request: HttpRequest) -> HttpResponse:
    _viewer(request)
    can_edit = can_edit_messaging(request.user)
    form = SuppressionForm(request.POST or None)
    if request.method == "POST":
        _editor(request)
        if form.is_valid():
            suppression_add(channel=form.cleaned_data["channel"], address=form.cleaned_data["address"],
                            reason=SuppressionReason.MANUAL,
                            note=form.cleaned_data["note"] or request.user.get_username())
            flash.success(request, _("Dirección añadida a la lista de supresión."))
            return redirect("engagement:suppressions")
    q = request.GET.get("q", "")
    rows, next_before = _seek_page(suppressions_list(user=request.user, q=q), request)
    return render(request, "engagement/suppressions.html", {
        "rows": rows, "next_before": next_before, "q": q, "form": form, "can_edit": can_edit,
    })


@login_required
@require_POST
def suppression_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _editor(request)
    row = get_object_or_404(Suppression, pk=pk)
    if row.reason in (SuppressionReason.HARD_BOUNCE, SuppressionReason.UNSUBSCRIBED, SuppressionReason.SMS_STOP):
        # The customer asked (or the address is dead): only a new consent may bring it back.
        flash.error(request, _("Esta supresión la pidió el cliente o viene de un rebote: no se puede quitar a mano."))
    else:
        suppression_remove(suppression=row)
        flash.success(request, _("Supresión eliminada."))
    return redirect("engagement:suppressions")


@login_required
def budgets(request: HttpRequest) -> HttpResponse:
    _viewer(request)
    can_edit = can_edit_messaging(request.user)
    actor = _actor(request)
    global_row = ContactBudget.objects.filter(scope=BudgetScope.GLOBAL).first()
    from .budget import default_budget

    defaults = default_budget()
    initial = {"max_messages": defaults.max_messages, "window_days": defaults.window.days,
               "quiet_start": defaults.quiet_start, "quiet_end": defaults.quiet_end}
    form = BudgetForm(instance=global_row, initial=None if global_row else initial, prefix="global")
    override_form = OverrideForm(prefix="override")
    if request.method == "POST":
        _editor(request)
        if "global-max_messages" in request.POST:
            form = BudgetForm(request.POST, instance=global_row, prefix="global")
            if form.is_valid():
                budget_save(actor=actor, scope=BudgetScope.GLOBAL, **_limits(form.cleaned_data))
                flash.success(request, _("Límite general guardado."))
                return redirect("engagement:budgets")
        else:
            override_form = OverrideForm(request.POST, prefix="override")
            if override_form.is_valid():
                data = override_form.cleaned_data
                try:
                    if data.get("segment"):
                        budget_save(actor=actor, scope=BudgetScope.SEGMENT, segment=data["segment"],
                                    **_limits(data))
                    else:
                        customer = customer_get(data["customer_id"])
                        if customer is None:
                            raise ValidationError(_("No existe el cliente nº %(id)s.") % {"id": data["customer_id"]})
                        budget_save(actor=actor, scope=BudgetScope.CUSTOMER, customer=customer, **_limits(data))
                except ValidationError as exc:
                    override_form.add_error(None, exc)
                else:
                    flash.success(request, _("Excepción guardada."))
                    return redirect("engagement:budgets")
    overrides = (ContactBudget.objects.exclude(scope=BudgetScope.GLOBAL)
                 .select_related("segment", "customer").order_by("scope", "id"))
    return render(request, "engagement/budgets.html", {
        "form": form, "override_form": override_form, "overrides": overrides, "can_edit": can_edit,
        "global_row": global_row,
    })


def _limits(data: dict) -> dict:
    return {k: data.get(k) for k in ("max_messages", "window_days", "quiet_start", "quiet_end")}


@login_required
@require_POST
def budget_remove(request: HttpRequest, pk: int) -> HttpResponse:
    _editor(request)
    row = get_object_or_404(ContactBudget.objects.exclude(scope=BudgetScope.GLOBAL), pk=pk)
    budget_delete(actor=_actor(request), budget=row)
    flash.success(request, _("Excepción eliminada."))
    return redirect("engagement:budgets")
