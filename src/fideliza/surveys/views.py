"""Staff pages of surveys: list, builder, results (with export, verbatims and QR code) and
testimonials. Owner and marketing build and change surveys; every role reads results of
the customers it may see."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.models import AuditAction, Role
from fideliza.accounts.services import Actor, audit_record
from fideliza.core.exports import CSV, XLSX, Sheet, export_response, export_view

from .forms import FromTemplateForm, QuestionForm, SurveyForm
from .models import Question, QuestionKind, Survey
from .selectors import (
    Scores,
    responses_for_export,
    survey_questions,
    survey_results,
    surveys_all,
    testimonials_visible_to,
    verbatim_words,
    verbatims,
)
from .services import (
    public_url,
    question_delete,
    question_save,
    survey_from_template,
    survey_save,
    testimonial_revoke,
)

EDIT_ROLES = frozenset({Role.OWNER, Role.MARKETING})


def can_edit(user: object) -> bool:
    return bool(getattr(user, "is_superuser", False) or getattr(user, "role", None) in EDIT_ROLES)


def _editor(request: AuthedRequest) -> None:
    if not can_edit(request.user):
        raise PermissionDenied


def _report(request: AuthedRequest, form: object, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict") and hasattr(form, "add_error"):
        for name, errors in exc.message_dict.items():
            target = name if name in getattr(form, "fields", {}) else None
            for error in errors:
                form.add_error(target, error)
    else:
        for message in exc.messages:
            messages.error(request, message)


@login_required
def survey_list(request: AuthedRequest) -> HttpResponse:
    return render(request, "surveys/list.html", {
        "surveys": surveys_all(), "form": FromTemplateForm(), "can_edit": can_edit(request.user)})


@login_required
@require_POST
def survey_new(request: AuthedRequest) -> HttpResponse:
    _editor(request)
    form = FromTemplateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Elija una plantilla."))
        return redirect("surveys:list")
    survey = survey_from_template(actor=Actor.of(request.user, via="web"), template=form.cleaned_data["template"],
                                  name=form.cleaned_data["name"])
    messages.success(request, _("Encuesta «%(name)s» creada.") % {"name": survey.name})
    return redirect("surveys:edit", pk=survey.pk)


@login_required
def survey_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    _editor(request)
    survey = get_object_or_404(Survey, pk=pk)
    form = SurveyForm(initial=SurveyForm.initial_for(survey))
    question_form = QuestionForm(survey=survey)
    if request.method == "POST" and request.POST.get("part") == "survey":
        form = SurveyForm(request.POST)
        if form.is_valid():
            try:
                survey_save(actor=Actor.of(request.user, via="web"), survey=survey, **form.cleaned_data)
            except ValidationError as exc:
                _report(request, form, exc)
            else:
                messages.success(request, _("Encuesta guardada."))
                return redirect("surveys:edit", pk=survey.pk)
    elif request.method == "POST" and request.POST.get("part") == "question":
        question_form = QuestionForm(request.POST, survey=survey)
        if question_form.is_valid():
            data = question_form.cleaned_data
            try:
                question_save(survey=survey, kind=data["kind"], text=data["text"], required=data["required"],
                              choices=(data["choices"] or "").splitlines(), scale_max=data["scale_max"],
                              show_if=data["show_if"], show_if_max=data["show_if_max"])
            except ValidationError as exc:
                _report(request, question_form, exc)
            else:
                messages.success(request, _("Pregunta añadida."))
                return redirect("surveys:edit", pk=survey.pk)
    return render(request, "surveys/edit.html", {
        "survey": survey, "form": form, "question_form": question_form,
        "questions": survey_questions(survey), "has_responses": survey.responses.exists(),
    })


@login_required
@require_POST
def question_remove(request: AuthedRequest, pk: int, question_pk: int) -> HttpResponse:
    _editor(request)
    question = get_object_or_404(Question, pk=question_pk, survey_id=pk)
    question_delete(question=question)
    messages.success(request, _("Pregunta eliminada."))
    return redirect("surveys:edit", pk=pk)


def shown(scores: Scores) -> dict[str, str]:
    """One row of figures as the results page writes them."""
    nps = scores.nps
    return {
        "nps": f"{nps.score:+.0f}" if nps is not None else "—",
        "margin": (f"± {number_format(nps.margin, 0)}" if nps is not None and nps.margin is not None else ""),
        "nps_answers": number_format(nps.answers if nps else 0, 0, force_grouping=True),
        "promoters": _pct(nps.promoters, nps.answers) if nps else "—",
        "passives": _pct(nps.passives, nps.answers) if nps else "—",
        "detractors": _pct(nps.detractors, nps.answers) if nps else "—",
        "csat": f"{number_format(scores.csat, 0)} %" if scores.csat is not None else "—",
        "ces": number_format(scores.ces, 1) if scores.ces is not None else "—",
        "started": number_format(scores.started, 0, force_grouping=True),
        "finished": number_format(scores.finished, 0, force_grouping=True),
    }


def _pct(part: int, whole: int) -> str:
    return f"{number_format(100 * part / whole, 0)} %" if whole else "—"


def _period(request: AuthedRequest) -> tuple[date | None, date | None]:
    return parse_date(request.GET.get("desde") or ""), parse_date(request.GET.get("hasta") or "")


@login_required
def survey_results_page(request: AuthedRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    start, end = _period(request)
    from fideliza.segments.selectors import segments_active

    segments = list(segments_active().order_by("name")[:50])
    chosen = [s for s in segments if str(s.pk) in request.GET.getlist("segmento")]
    results = survey_results(survey=survey, user=request.user, start=start, end=end, segments=chosen)
    search = request.GET.get("q", "").strip()[:100]
    public = public_url(reverse("surveys_public:public", args=[survey.public_token]))
    breakdowns = [(title, [(label, shown(sc)) for label, sc in rows]) for title, rows in (
        (_("Por segmento"), results.by_segment), (_("Por nivel de fidelización"), results.by_tier),
        (_("Por tienda"), results.by_store), (_("Por clase ABC"), results.by_abc)) if rows]
    return render(request, "surveys/results.html", {
        "survey": survey, "results": results, "total": shown(results.scores),
        "rate": f"{number_format(results.rate, 0)} %" if results.rate is not None else "—",
        "trend": [(month, shown(sc)) for month, sc in results.trend], "breakdowns": breakdowns, "start": start, "end": end, "segments": segments,
        "chosen": chosen, "search": search,
        "verbatims": verbatims(survey=survey, user=request.user, search=search),
        "words": verbatim_words(survey=survey, user=request.user) if request.GET.get("palabras") else None,
        "public_url": public, "can_edit": can_edit(request.user),
        "campaign_url": reverse("campaigns:create") + f"?encuesta={survey.pk}",
    })


@login_required
def survey_qr(request: AuthedRequest, pk: int) -> HttpResponse:
    """The public link as an SVG QR code for the till (segno: pure Python, no dependencies)."""
    import io

    import segno

    survey = get_object_or_404(Survey, pk=pk)
    if not survey.public_enabled:
        raise Http404
    url = public_url(reverse("surveys_public:public", args=[survey.public_token]))
    store = request.GET.get("tienda", "")
    if store:  # one code per till: the answers count for that store
        from urllib.parse import quote

        url += f"?tienda={quote(store[:32])}"
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=6, title=survey.name)
    return HttpResponse(out.getvalue(), content_type="image/svg+xml")


@export_view(CSV, XLSX)
@login_required
def survey_export(request: AuthedRequest, pk: int, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """Every response the user may see, one row each, one column per question."""
    survey = get_object_or_404(Survey, pk=pk)
    if fmt not in (CSV, XLSX):
        raise Http404
    questions = survey_questions(survey)
    header = [_("Respuesta"), _("Cliente"), _("E-mail"), _("Teléfono"), _("Empezada"), _("Terminada"), _("Tienda"), _("Nivel"),
              _("Clase ABC"), *[q.text for q in questions]]

    def cell(answer: object, question: Question) -> object:
        if answer is None:
            return None
        if question.kind == QuestionKind.TEXT:
            return getattr(answer, "text", "")
        if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            return ", ".join(getattr(answer, "options", []))
        if question.kind == QuestionKind.YES_NO:
            return _("Sí") if getattr(answer, "number", 0) else _("No")
        return getattr(answer, "number", None)

    responses = responses_for_export(survey=survey, user=request.user)

    def rows() -> object:
        for r in responses.iterator(chunk_size=2000):
            answers = {a.question_id: a for a in r.answers.all()}
            c = r.customer
            yield [r.pk, c.display_name if c else "", c.email if c else "", c.phone if c else "", r.started_at, r.finished_at, r.store.name if r.store else "", r.tier,
                   r.abc_class, *[cell(answers.get(q.pk), q) for q in questions]]

    audit_record(actor=Actor.of(request.user, via="web"), action=AuditAction.EXPORT, entity="surveys.survey",
                 entity_id=survey.pk, context={"format": fmt})
    return export_response(fmt=fmt, filename=f"encuesta-{survey.pk}",
                           sheets=[Sheet(title=_("Respuestas"), header=header, rows=rows())])  # type: ignore[arg-type]


@login_required
def testimonial_list(request: AuthedRequest) -> HttpResponse:
    rows = list(testimonials_visible_to(request.user).select_related("customer")[:200])
    return render(request, "surveys/testimonials.html", {"testimonials": rows, "can_edit": can_edit(request.user)})


@login_required
@require_POST
def testimonial_revoke_view(request: AuthedRequest, pk: int) -> HttpResponse:
    _editor(request)
    row = get_object_or_404(testimonials_visible_to(request.user), pk=pk)
    testimonial_revoke(testimonial=row)
    messages.success(request, _("Permiso retirado: el testimonio ya no se publica."))
    return redirect("surveys:testimonials")

