"""Staff pages of the complaints book: the list, counter/phone registration, one complaint
with its actions (answer, state, gesture, classification, note), canned answers and the
report. Thin: each action calls one service; a representative sees only their customers'."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.models import Role, User
from fideliza.accounts.selectors import users_active
from fideliza.accounts.services import Actor

from . import rules as R
from .forms import (
    AnswerForm,
    CannedAnswerForm,
    ClassifyForm,
    CounterComplaintForm,
    GestureForm,
    NoteForm,
    TransitionForm,
)
from .models import CannedAnswer, Complaint, ComplaintChannel, ComplaintStatus
from .selectors import (
    Filters,
    canned_answers_for,
    complaint_gestures,
    complaint_history,
    complaints_list,
    complaints_report,
    complaints_visible_to,
    status_counts,
    timer_of,
)
from .services import (
    canned_answer_save,
    complaint_answer,
    complaint_classify,
    complaint_file,
    complaint_note,
    complaint_transition,
    gesture_give,
)

PER_PAGE = 50
EDIT_ANSWERS = {Role.OWNER, Role.MARKETING, Role.SUPPORT}


def _report_errors(request: AuthedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _report_form_errors(request: AuthedRequest, form: forms.Form) -> None:
    """A form posted from the complaint's page: its errors as messages on that page."""
    for error in form.errors.get_json_data().values():
        for item in error:
            messages.error(request, item["message"])


@login_required
def complaint_list(request: AuthedRequest) -> HttpResponse:
    now = timezone.now()
    category = request.GET.get("categoria", "")
    filters = Filters(status=request.GET.get("estado", "open"), kind=request.GET.get("tipo", ""),
                      category=int(category) if category.isdigit() else None,
                      overdue=request.GET.get("fuera_de_plazo") == "1", q=request.GET.get("q", "")[:100])
    page = Paginator(complaints_list(user=request.user, filters=filters, now=now), PER_PAGE).get_page(
        request.GET.get("pagina"))
    counts = status_counts(request.user)
    rows = [(c, timer_of(c, which="first", now=now), timer_of(c, which="resolution", now=now))
            for c in page.object_list]
    return render(request, "complaints/list.html", {
        "page": page, "rows": rows, "filters": filters,
        "statuses": [(value, label, counts.get(value, 0)) for value, label in ComplaintStatus.choices],
        "kinds": list(R.KIND_LABELS.items()),
    })


@login_required
def complaint_create(request: AuthedRequest) -> HttpResponse:
    """Registration at the counter or by phone, with the rule set of the business by default."""
    rules = R.rule_set(request.POST.get("rules_code", "")) if request.method == "POST" else R.rules_default()
    form = CounterComplaintForm(request.POST or None, rules=rules, initial={"channel": ComplaintChannel.COUNTER})
    if request.method == "POST" and form.is_valid():
        try:
            complaint = complaint_file(actor=Actor.of(request.user), filing=form.filing("es"),
                                       channel=form.cleaned_data["channel"], category=form.cleaned_data["category"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Queja registrada con el código %(code)s; copia enviada al cliente.")
                             % {"code": complaint.tracking_code})
            return redirect(reverse("complaints:detail", args=[complaint.pk]))
    return render(request, "complaints/create.html", {"form": form})


def _visible(request: AuthedRequest, pk: int) -> Complaint:
    return get_object_or_404(complaints_visible_to(request.user).select_related(
        "customer", "category", "root_cause", "store", "assignee"), pk=pk)


def _assignees(request: AuthedRequest) -> QuerySet[User]:
    qs = users_active()
    return qs.filter(pk=request.user.pk) if request.user.is_sales_rep else qs


@login_required
def complaint_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    complaint = _visible(request, pk)
    now = timezone.now()
    answers = canned_answers_for(complaint.category_id)
    return render(request, "complaints/detail.html", {
        "complaint": complaint, "rules": complaint.rule_set,
        "first": timer_of(complaint, which="first", now=now),
        "resolution": timer_of(complaint, which="resolution", now=now),
        "history": complaint_history(complaint), "gestures": complaint_gestures(complaint),
        "answer_form": AnswerForm(answers=answers), "answers": answers,
        "transition_form": TransitionForm(status=complaint.status),
        "gesture_form": GestureForm(),
        "classify_form": ClassifyForm(assignees=_assignees(request), initial={
            "category": complaint.category_id, "root_cause": complaint.root_cause_id,
            "assignee": complaint.assignee_id}),
        "note_form": NoteForm(),
        "kind_label": R.KIND_LABELS.get(complaint.kind, complaint.kind),
    })


def _back(pk: int) -> HttpResponse:
    return redirect(reverse("complaints:detail", args=[pk]))


@login_required
@require_POST
def complaint_answer_view(request: AuthedRequest, pk: int) -> HttpResponse:
    complaint = _visible(request, pk)
    form = AnswerForm(request.POST, answers=canned_answers_for(complaint.category_id))
    if not form.is_valid():
        _report_form_errors(request, form)
        return _back(pk)
    try:
        complaint_answer(actor=Actor.of(request.user), complaint=complaint, subject=form.cleaned_data["subject"],
                         body=form.cleaned_data["body"], canned=form.cleaned_data.get("canned"))
        messages.success(request, _("Respuesta enviada al cliente."))
    except ValidationError as exc:
        _report_errors(request, exc)
    return _back(pk)


@login_required
@require_POST
def complaint_transition_view(request: AuthedRequest, pk: int) -> HttpResponse:
    complaint = _visible(request, pk)
    form = TransitionForm(request.POST, status=complaint.status)
    if not form.is_valid():
        messages.error(request, _("Elija un estado posible."))
        return _back(pk)
    try:
        row = complaint_transition(actor=Actor.of(request.user), complaint=complaint, to=form.cleaned_data["to"],
                                   note=form.cleaned_data["note"], resolution=form.cleaned_data["resolution"])
        messages.success(request, _("Estado: %(status)s.") % {"status": row.get_status_display()})
    except ValidationError as exc:
        _report_errors(request, exc)
    return _back(pk)


@login_required
@require_POST
def complaint_gesture_view(request: AuthedRequest, pk: int) -> HttpResponse:
    complaint = _visible(request, pk)
    form = GestureForm(request.POST)
    if not form.is_valid():
        _report_form_errors(request, form)
        return _back(pk)
    d = form.cleaned_data
    try:
        gesture = gesture_give(actor=Actor.of(request.user), complaint=complaint, kind=d["kind"], value=d["value"],
                               points=d["points"], product=d["product"], note=d["note"])
        messages.success(request, _("Gesto de recuperación registrado: %(what)s.") % {
            "what": gesture.coupon_code or gesture.get_kind_display()})
    except ValidationError as exc:
        _report_errors(request, exc)
    return _back(pk)


@login_required
@require_POST
def complaint_classify_view(request: AuthedRequest, pk: int) -> HttpResponse:
    complaint = _visible(request, pk)
    form = ClassifyForm(request.POST, assignees=_assignees(request))
    if form.is_valid():
        try:
            complaint_classify(actor=Actor.of(request.user), complaint=complaint,
                               category=form.cleaned_data["category"], root_cause=form.cleaned_data["root_cause"],
                               assignee=form.cleaned_data["assignee"])
            messages.success(request, _("Clasificación guardada."))
        except ValidationError as exc:
            _report_errors(request, exc)
    else:
        messages.error(request, _("Revise la categoría, la causa y el responsable."))
    return _back(pk)


@login_required
@require_POST
def complaint_note_view(request: AuthedRequest, pk: int) -> HttpResponse:
    complaint = _visible(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        complaint_note(actor=Actor.of(request.user), complaint=complaint, text=form.cleaned_data["text"])
        messages.success(request, _("Nota añadida."))
    else:
        messages.error(request, _("Escriba la nota."))
    return _back(pk)


@login_required
def canned_answers(request: AuthedRequest) -> HttpResponse:
    """The canned answers; owner, marketing and support may add and change them."""
    may_edit = request.user.is_superuser or request.user.role in EDIT_ANSWERS
    editing = None
    if request.GET.get("editar", "").isdigit():
        editing = get_object_or_404(CannedAnswer, pk=int(request.GET["editar"]))
    form = CannedAnswerForm(request.POST or None, instance=editing)
    if request.method == "POST":
        if not may_edit:
            return HttpResponse(status=403)
        if form.is_valid():
            try:
                canned_answer_save(answer=form.save(commit=False))
                messages.success(request, _("Respuesta predefinida guardada."))
                return redirect(reverse("complaints:answers"))
            except ValidationError as exc:
                for key, errors in exc.message_dict.items():
                    form.add_error(key if key in form.fields else None, errors)
    return render(request, "complaints/answers.html", {
        "answers": CannedAnswer.objects.select_related("category").order_by("title"),
        "form": form, "may_edit": may_edit, "editing": editing,
    }, status=400 if request.method == "POST" else 200)


@login_required
def complaint_report(request: AuthedRequest) -> HttpResponse:
    now = timezone.now()
    months = request.GET.get("meses", "12")
    months_n = int(months) if months.isdigit() and 1 <= int(months) <= 60 else 12
    days = request.GET.get("dias", "90")
    days_n = int(days) if days.isdigit() and 1 <= int(days) <= 365 else 90
    report = complaints_report(user=request.user, since=now - timedelta(days=31 * months_n), days=days_n, now=now)
    paretos = [(_("Motivos de queja (por categoría)"), report.reasons, "motivos"),
               (_("Causas raíz"), report.root_causes, "causas"),
               (_("Motivos de baja"), report.exit_reasons, "bajas")]
    return render(request, "complaints/report.html", {"report": report, "months": months_n, "days": days_n,
                                                      "paretos": paretos})
