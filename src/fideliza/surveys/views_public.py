"""Pages a customer reaches from a message or a QR code: no login, no language prefix.

A personal link (`/e/<signed token>/`) opens the survey where it was left. A score link
from the e-mail (`?nota=3`) shows the survey with that score chosen, and the page's script
saves it at once (a POST: mail scanners that follow every link of a message do not run
scripts, so they answer nothing); without scripts the person saves it with the button.
The token is the link's secret, as for engagement's unsubscribe page, hence csrf_exempt.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from fideliza.customers.normalize import normalize_email, normalize_phone
from fideliza.customers.selectors import customer_get, customer_id_by_email, customers_with_phone
from fideliza.sales.selectors import store_ids_by_code

from .forms import PublicIdentifyForm, TestimonialForm
from .models import Question, QuestionKind, Response, Survey, SurveyStatus, Testimonial
from .services import (
    LinkClosed,
    invitation_for_token,
    response_answer,
    response_for_invitation,
    response_for_testimonial_token,
    response_public_start,
    testimonial_record,
)

CLOSED_TEXT = {
    "finished": gettext_lazy("Esta encuesta ya está respondida. ¡Gracias!"),
    "expired": gettext_lazy("Este enlace ha caducado."),
    "closed": gettext_lazy("Esta encuesta ya no admite respuestas."),
}


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def _raw_answers(request: HttpRequest, questions: list[Question]) -> dict[int, Any]:
    raw: dict[int, Any] = {}
    for q in questions:
        key = f"q{q.pk}"
        if q.kind == QuestionKind.MULTIPLE:
            if key in request.POST or f"{key}_present" in request.POST:
                raw[q.pk] = request.POST.getlist(key)
        elif key in request.POST:
            raw[q.pk] = request.POST.get(key, "")
    return raw


def _items(questions: list[Question], response: Response | None, posted: dict[int, Any],
           preset: dict[int, int]) -> list[dict[str, Any]]:
    """Each question with its current value, for the template."""
    answers = {a.question_id: a for a in response.answers.all()} if response is not None else {}
    ends: dict[str, tuple[str, str]] = {
        QuestionKind.NPS: (_("Nada probable"), _("Muy probable")),
        QuestionKind.CSAT: (_("Nada satisfecho"), _("Muy satisfecho")),
        QuestionKind.CES: (_("Muy difícil"), _("Muy fácil"))}
    items = []
    for q in questions:
        a = answers.get(q.pk)
        if q.pk in posted:
            value: Any = posted[q.pk]
        elif q.pk in preset:
            value = preset[q.pk]
        elif a is None:
            value = None
        elif q.kind == QuestionKind.TEXT:
            value = a.text
        elif q.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            value = a.options if q.kind == QuestionKind.MULTIPLE else (a.options[0] if a.options else "")
        else:
            value = a.number
        low_high = q.range
        items.append({"q": q, "value": "" if value is None else value,
                      "values": value if isinstance(value, list) else [],
                      "scale": [str(n) for n in range(low_high[0], low_high[1] + 1)] if low_high else [],
                      "low_label": ends.get(q.kind, ("", ""))[0], "high_label": ends.get(q.kind, ("", ""))[1]})
    return items


def _page(request: HttpRequest, survey: Survey, *, response: Response | None, errors: dict[str, list[str]],
          posted: dict[int, Any], preset: dict[int, int], autosave: bool = False,
          identify: PublicIdentifyForm | None = None, status: int = 200) -> HttpResponse:
    questions = list(survey.questions.order_by("position"))
    items = _items(questions, response, posted, preset)
    for item in items:
        item["errors"] = errors.get(f"q{item['q'].pk}", [])
        item["value_str"] = str(item["value"])
    return _no_store(render(request, "surveys/public/answer.html", {
        "survey": survey, "items": items, "autosave": autosave, "identify": identify,
        "errors": errors, "business_name": settings.FIDELIZA_BUSINESS_NAME,
        "general_errors": errors.get("__all__", []),
    }, status=status))


def _closed(request: HttpRequest, reason: str, survey: Survey | None = None, status: int = 200) -> HttpResponse:
    return _no_store(render(request, "surveys/public/closed.html", {
        "text": CLOSED_TEXT.get(reason, CLOSED_TEXT["closed"]), "survey": survey,
        "business_name": settings.FIDELIZA_BUSINESS_NAME}, status=status))


def _thanks(request: HttpRequest, survey: Survey) -> HttpResponse:
    return _no_store(render(request, "surveys/public/thanks.html", {
        "survey": survey, "business_name": settings.FIDELIZA_BUSINESS_NAME}))


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    invitation = invitation_for_token(token)
    if invitation is None:
        raise Http404
    survey = invitation.survey
    now = timezone.now()
    try:
        response = response_for_invitation(invitation=invitation, now=now)
    except LinkClosed as exc:
        return _closed(request, exc.reason, survey)
    questions = list(survey.questions.order_by("position"))
    if request.method == "GET":
        preset: dict[int, int] = {}
        score = request.GET.get("nota", "")
        if score.lstrip("-").isdigit() and questions:
            preset[questions[0].pk] = int(score)
        return _page(request, survey, response=response, errors={}, posted={}, preset=preset,
                     autosave=bool(preset))
    posted = _raw_answers(request, questions)
    finish = request.POST.get("action") == "finish"
    try:
        response_answer(response=response, answers=posted, finish=finish, now=now)
    except LinkClosed as exc:
        return _closed(request, exc.reason, survey)
    except ValidationError as exc:
        return _page(request, survey, response=response, errors=exc.message_dict, posted=posted, preset={},
                     status=422)
    if finish:
        return _thanks(request, survey)
    if request.headers.get("X-Requested-With") == "fetch":  # the score saved by the page's script
        return _no_store(HttpResponse(status=204))
    return _page(request, survey, response=response, errors={}, posted={}, preset={})


def _identified(contact: str) -> int | None:
    contact = contact.strip()
    if not contact:
        return None
    if "@" in contact:
        return customer_id_by_email(normalize_email(contact))
    phone = normalize_phone(contact, settings.FIDELIZA_PHONE_REGION)
    if not phone:
        return None
    return customers_with_phone(phone).values_list("pk", flat=True).first()


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def public_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The till's public link or QR code: one page, answered and sent at once."""
    survey = Survey.objects.filter(public_token=token, public_enabled=True).first()
    if survey is None:
        raise Http404
    if survey.status != SurveyStatus.ACTIVE:
        return _closed(request, "closed", survey)
    ask = survey.public_identify and not survey.is_anonymous
    store = request.GET.get("tienda", "")
    if request.method == "GET":
        return _page(request, survey, response=None, errors={}, posted={}, preset={},
                     identify=PublicIdentifyForm() if ask else None)
    questions = list(survey.questions.order_by("position"))
    posted = _raw_answers(request, questions)
    identify = PublicIdentifyForm(request.POST) if ask else None
    customer = None
    if identify is not None and identify.is_valid():
        cid = _identified(identify.cleaned_data["contact"])
        customer = customer_get(cid) if cid else None
    try:
        with transaction.atomic():
            response = response_public_start(survey=survey, customer=customer,
                                             store_id=store_ids_by_code().get(store) if store else None)
            response_answer(response=response, answers=posted, finish=True)
    except LinkClosed as exc:
        return _closed(request, exc.reason, survey)
    except ValidationError as exc:
        return _page(request, survey, response=None, errors=exc.message_dict, posted=posted, preset={},
                     identify=identify, status=422)
    return _thanks(request, survey)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def testimonial(request: HttpRequest, token: str) -> HttpResponse:
    response = response_for_testimonial_token(token)
    if response is None or response.customer is None:
        raise Http404
    form = TestimonialForm(request.POST or None)
    done = Testimonial.objects.filter(response=response).exists()  # one testimonial per invitation
    if request.method == "POST" and not done and form.is_valid():
        data = form.cleaned_data
        try:
            testimonial_record(customer=response.customer, response=response, text=data["text"],
                               media_url=data["media_url"] or "", consent=data["consent"],
                               consent_where=data["consent_where"], consent_until=data["consent_until"])
        except ValidationError as exc:
            for name, msgs in exc.message_dict.items():
                for msg in msgs:
                    form.add_error(name if name in form.fields else None, msg)
        else:
            done = True
    return _no_store(render(request, "surveys/public/testimonial.html", {
        "form": form, "done": done, "business_name": settings.FIDELIZA_BUSINESS_NAME},
        status=422 if request.method == "POST" and not done else 200))
