"""The guest's pages, reached from the invitation: no login, no cookies, no language prefix.

The link is a signature of (event, customer): a forged, damaged or foreign one is refused
with a page in Spanish (404), never a server error. A GET only shows the event and the
current answer (mail scanners open links); the answer is a POST, which carries no CSRF
token (no session to protect: the signed link is the credential, as for unsubscribing).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from .ics import event_ics, ics_filename
from .models import EventStatus, Invitation, Response
from .services import ANSWERS, invitation_for, rsvp_answer, rsvp_token_read, rsvp_url

ANSWER_WORDS = {"si": Response.YES, "sí": Response.YES, "no": Response.NO, "quiza": Response.MAYBE,
                "quizá": Response.MAYBE, "yes": Response.YES, "maybe": Response.MAYBE}


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def _invitation(token: str) -> Invitation | None:
    pair = rsvp_token_read(token)
    return invitation_for(*pair) if pair is not None else None


def _refused(request: HttpRequest) -> HttpResponse:
    return _no_store(render(request, "events/public/invalid.html",
                            {"business_name": settings.FIDELIZA_BUSINESS_NAME}, status=404))


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def rsvp(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation(token)
    if invitation is None:
        return _refused(request)
    now = timezone.now()
    event = invitation.event
    error, saved = "", False
    if request.method == "POST":
        answer = request.POST.get("answer", "")
        try:
            result = rsvp_answer(invitation=invitation, answer=answer if answer in ANSWERS else "", now=now)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            invitation, saved = result.invitation, True
    chosen = ANSWER_WORDS.get(request.GET.get("respuesta", "").lower(), "")
    status = 400 if error else 200
    return _no_store(render(request, "events/public/rsvp.html", {
        "business_name": settings.FIDELIZA_BUSINESS_NAME,
        "event": event, "invitation": invitation, "customer": invitation.customer,
        "error": error, "saved": saved, "chosen": chosen,
        "answers": [(a.value, a.label) for a in ANSWERS],
        "closed": event.status != EventStatus.PUBLISHED or now >= event.deadline,
        "cancelled": event.status == EventStatus.CANCELLED,
        "ended": now >= event.ends_at,
        "token": token,
        "self_url": rsvp_url(event.pk, invitation.customer_id),
    }, status=status))


@require_GET
def ics(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation(token)
    if invitation is None:
        return _refused(request)
    event = invitation.event
    body = event_ics(event, rsvp_link=rsvp_url(event.pk, invitation.customer_id))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ics_filename(event)}"'
    return _no_store(response)
