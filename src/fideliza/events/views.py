"""Thin views of events: list, create/edit, one event with its invitees and report, sending
the invitations, answers recorded by staff, cancellation, and the door (check-in).

Every role sees the events; owner and marketing create, edit, invite and cancel. Invitees
are rows about customers: each user sees only those of the customers they may see (a
sales representative: their own), on the event's page and at the door.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.services import Actor
from fideliza.customers.search import CustomerFilters, customer_list
from fideliza.customers.selectors import customers_visible_to
from fideliza.engagement.models import DecisionReason

from .forms import EventForm, NewcomerForm
from .models import Event, EventStatus, Invitation
from .permissions import can_edit_events
from .selectors import (
    event_confirmed,
    event_counts,
    event_report,
    events_all,
    invitations_visible_to,
    is_no_show,
)
from .services import (
    ANSWERS,
    audience_uninvited,
    checkin_mark,
    event_cancel,
    event_save,
    invitations_send,
    rsvp_answer,
    walk_in_new_customer,
    walk_in_register,
)

SHOWN = 500  # invitees listed on the event's page
FOUND = 30   # people listed at the door for one search


def _editor(request: AuthedRequest) -> None:
    if not can_edit_events(request.user):
        raise PermissionDenied


def _event(pk: int) -> Event:
    return get_object_or_404(events_all(), pk=pk)


def _report_errors(request: AuthedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@login_required
def event_list(request: AuthedRequest) -> HttpResponse:
    now = timezone.now()
    events = list(events_all().order_by("starts_at", "id"))
    counts = event_counts([e.pk for e in events])
    rows = [(e, counts.get(e.pk, {})) for e in events]
    return render(request, "events/list.html", {
        "upcoming": [r for r in rows if r[0].ends_at >= now],
        "past": [r for r in rows if r[0].ends_at < now][::-1],
        "can_edit": can_edit_events(request.user),
    })


@login_required
def event_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    _editor(request)
    event = _event(pk) if pk is not None else None
    if event is not None and event.status == EventStatus.CANCELLED:
        messages.error(request, _("Un evento cancelado no se puede modificar."))
        return redirect("events:detail", pk=event.pk)
    if request.method == "POST":
        form = EventForm(request.POST)
        if form.is_valid():
            try:
                saved = event_save(actor=Actor.of(request.user), data=form.values(), event=event)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for name, errors in exc.message_dict.items():
                        target = {"starts_at": "start_date", "ends_at": "end_time",
                                  "rsvp_deadline": "deadline_date"}.get(name, name)
                        form.add_error(target if target in form.fields else None, errors)
                else:
                    form.add_error(None, exc.messages)
            else:
                messages.success(request, _("Evento guardado."))
                return redirect("events:detail", pk=saved.pk)
    else:
        form = EventForm(initial=EventForm.initial_of(event) if event else None)
    return render(request, "events/edit.html", {"form": form, "event": event},
                  status=400 if request.method == "POST" else 200)


@login_required
def event_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    event = _event(pk)
    now = timezone.now()
    invitations = (invitations_visible_to(request.user).filter(event=event).select_related("customer", "event")
                   .order_by("customer__last_name", "customer__first_name", "id"))
    visible_count = invitations.count()
    # Each row's links from one reverse per name (a page lists up to 500 invitees).
    card, answer = reverse("customers:detail", args=[0]), reverse("events:answer", args=[0])
    rows = [(i, is_no_show(i, now), card.replace("/0/", f"/{i.customer_id}/", 1),
             answer.replace("/0/", f"/{i.pk}/", 1)) for i in invitations[:SHOWN]]
    can_edit = can_edit_events(request.user)
    open_for_answers = event.status == EventStatus.PUBLISHED and now < event.deadline
    to_invite = None
    if can_edit and open_for_answers:
        to_invite = audience_uninvited(event).count()
    return render(request, "events/detail.html", {
        "event": event,
        "rows": rows,
        "visible_count": visible_count,
        "shown": SHOWN,
        "confirmed": event_confirmed(event),
        "report": event_report(event, now=now),
        "can_edit": can_edit,
        "open_for_answers": open_for_answers,
        "to_invite": to_invite,
        "answers": [(a.value, a.label) for a in ANSWERS],
        "can_answer": event.status == EventStatus.PUBLISHED and now < event.ends_at,
        "door_open": event.status != EventStatus.CANCELLED,
        "reasons": dict(DecisionReason.choices),
    })


@login_required
@require_POST
def event_invite(request: AuthedRequest, pk: int) -> HttpResponse:
    _editor(request)
    event = _event(pk)
    try:
        summary = invitations_send(actor=Actor.of(request.user), event=event)
    except ValidationError as exc:
        _report_errors(request, exc)
        return redirect("events:detail", pk=event.pk)
    messages.success(request, ngettext("%(n)s invitación enviada a la bandeja de salida.",
                                       "%(n)s invitaciones enviadas a la bandeja de salida.",
                                       summary.invited) % {"n": summary.invited})
    if summary.not_sent_total:
        labels = dict(DecisionReason.choices)
        detail = "; ".join(f"{labels.get(reason, reason)}: {n}" for reason, n in summary.not_sent.most_common())
        messages.warning(request, ngettext("%(n)s cliente no recibe la invitación (%(detail)s).",
                                           "%(n)s clientes no reciben la invitación (%(detail)s).",
                                           summary.not_sent_total) % {"n": summary.not_sent_total, "detail": detail})
    return redirect("events:detail", pk=event.pk)


@login_required
@require_POST
def event_cancel_view(request: AuthedRequest, pk: int) -> HttpResponse:
    _editor(request)
    event = event_cancel(actor=Actor.of(request.user), event=_event(pk))
    messages.success(request, _("Evento cancelado: se avisa a quienes iban a venir."))
    return redirect("events:detail", pk=event.pk)


@login_required
@require_POST
def invitation_answer(request: AuthedRequest, pk: int) -> HttpResponse:
    """An answer given to a person of the team (by phone, at the shop), recorded by them."""
    invitation = get_object_or_404(invitations_visible_to(request.user).select_related("event", "customer"), pk=pk)
    answer = request.POST.get("answer", "")
    try:
        result = rsvp_answer(invitation=invitation, answer=answer, actor=Actor.of(request.user))
    except ValidationError as exc:
        _report_errors(request, exc)
    else:
        row = result.invitation
        messages.success(request, _("Respuesta de %(name)s: %(answer)s.") % {
            "name": invitation.customer.display_name, "answer": row.get_response_display()})
        if result.promoted:
            messages.info(request, ngettext(
                "Plaza liberada: %(n)s invitado pasa de la lista de espera a confirmado (se le avisa).",
                "Plazas liberadas: %(n)s invitados pasan de la lista de espera a confirmados (se les avisa).",
                len(result.promoted)) % {"n": len(result.promoted)})
    return redirect(reverse("events:detail", kwargs={"pk": invitation.event_id}) + f"#invitacion-{invitation.pk}")


# --- the door -----------------------------------------------------------------------------------

@login_required
def checkin(request: AuthedRequest, pk: int) -> HttpResponse:
    """The door's page, for a tablet: search by name, mark who came, register walk-ins."""
    event = _event(pk)
    q = request.GET.get("q", "").strip()[:100]
    invited: list[Invitation] = []
    others = []
    if q:
        found = customer_list(user=request.user, filters=CustomerFilters(q=q, status="all"))
        ids = list(found.order_by("last_name", "first_name", "id").values_list("pk", flat=True)[:200])
        invited = list(invitations_visible_to(request.user).filter(event=event, customer_id__in=ids)
                       .select_related("customer").order_by("customer__last_name", "customer__first_name")[:FOUND])
        seen = {i.customer_id for i in invited}
        others = [c for c in found.filter(pk__in=ids, merged_into__isnull=True).order_by("last_name", "first_name")[:FOUND]
                  if c.pk not in seen][:10]
    present = invitations_visible_to(request.user).filter(event=event, attended_at__isnull=False).count()
    return render(request, "events/checkin.html", {
        "event": event, "q": q, "invited": invited, "others": others, "present": present,
        "confirmed": event_confirmed(event), "newcomer_form": NewcomerForm(),
        "door_open": event.status != EventStatus.CANCELLED,
    })


def _door(event: Event, q: str = "") -> HttpResponse:
    url = reverse("events:checkin", kwargs={"pk": event.pk})
    return redirect(f"{url}?q={q}" if q else url)


@login_required
@require_POST
def checkin_mark_view(request: AuthedRequest, pk: int, invitation_pk: int) -> HttpResponse:
    event = _event(pk)
    invitation = get_object_or_404(invitations_visible_to(request.user).filter(event=event)
                                   .select_related("customer"), pk=invitation_pk)
    try:
        checkin_mark(actor=Actor.of(request.user), invitation=invitation)
        messages.success(request, _("%(name)s está en el evento.") % {"name": invitation.customer.display_name})
    except ValidationError as exc:
        _report_errors(request, exc)
    return _door(event, request.POST.get("q", ""))


@login_required
@require_POST
def walk_in(request: AuthedRequest, pk: int) -> HttpResponse:
    """An existing customer (one the user may see) at the door without an invitation."""
    event = _event(pk)
    customer_id = request.POST.get("customer", "")
    customer = get_object_or_404(customers_visible_to(request.user), pk=int(customer_id)) \
        if customer_id.isdigit() and len(customer_id) < 19 else None
    if customer is None:
        messages.error(request, _("Elija a la persona de la lista."))
        return _door(event)
    try:
        walk_in_register(actor=Actor.of(request.user), event=event, customer=customer)
        messages.success(request, _("%(name)s está en el evento (sin invitación).") % {"name": customer.display_name})
    except ValidationError as exc:
        _report_errors(request, exc)
    return _door(event, request.POST.get("q", ""))


@login_required
@require_POST
def walk_in_new(request: AuthedRequest, pk: int) -> HttpResponse:
    """A newcomer at the door: a new card and their attendance."""
    event = _event(pk)
    form = NewcomerForm(request.POST)
    if form.is_valid():
        try:
            invitation = walk_in_new_customer(actor=Actor.of(request.user), event=event, data=form.card())
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Ficha creada: %(name)s está en el evento.") % {
                "name": invitation.customer.display_name})
            return _door(event)
    present = invitations_visible_to(request.user).filter(event=event, attended_at__isnull=False).count()
    return render(request, "events/checkin.html", {
        "event": event, "q": "", "invited": [], "others": [], "present": present,
        "confirmed": event_confirmed(event), "newcomer_form": form, "newcomer_open": True,
        "door_open": event.status != EventStatus.CANCELLED,
    }, status=400)

