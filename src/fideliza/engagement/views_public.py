"""Pages reached from inside a message: no login, no cookies, no language prefix.

A GET never changes anything (mail scanners follow links); the unsubscribe POST accepts the
RFC 8058 one-click body ("List-Unsubscribe=One-Click") sent by mail providers, which carries
no CSRF token, hence csrf_exempt. The token is 32 random bytes, unguessable.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from fideliza.customers.exits import ExitReason, ExitSource, exit_reason_clean, exit_reason_report
from fideliza.customers.selectors import consent_current, customer_get

from .models import EventKind, Message, MessageChannel
from .selectors import topic_choices, topics_subscribed
from .services import (
    click_signature,
    consent_channel,
    message_unsubscribe,
    preferences_customer_id,
    preferences_token,
    preferences_update,
    tracking_event,
)

# A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _message(token: str) -> Message:
    message = Message.objects.select_related("customer").filter(token=token).first()
    if message is None:
        raise Http404
    return message


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    message = _message(token)
    context = {"message": message, "address": message.address, "done": False,
               "preferences_token": preferences_token(message.customer_id),
               "business_name": settings.FIDELIZA_BUSINESS_NAME}
    context["exit_reasons"] = ExitReason.choices
    if request.method == "POST":
        message_unsubscribe(message=message, ip=_client_ip(request),
                            via="one-click" if request.POST.get("List-Unsubscribe") == "One-Click" else "page")
        context["done"] = True
        # The reason is optional and never stands in the way of the unsubscription: one we
        # cannot read (not in the list) is dropped; «otro» without a text is kept as «otro».
        try:
            reason, text = exit_reason_clean(request.POST.get("exit_reason", ""), request.POST.get("exit_text", ""),
                                             required=False)
        except ValidationError:
            reason, text = (ExitReason.OTHER, "") if request.POST.get("exit_reason") == ExitReason.OTHER else ("", "")
        exit_reason_report(customer_id=message.customer_id, source=ExitSource.UNSUBSCRIBE, reason=reason, text=text)
        context["reason_given"] = bool(reason)
    return _no_store(render(request, "engagement/public/unsubscribe.html", context))


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    customer_id = preferences_customer_id(token)
    customer = customer_get(customer_id) if customer_id else None
    if customer is None:
        raise Http404
    channels = [(MessageChannel.EMAIL, MessageChannel.EMAIL.label, customer.email),
                (MessageChannel.SMS, MessageChannel.SMS.label, customer.phone)]
    channels = [c for c in channels if c[2]]
    saved = False
    if request.method == "POST":
        preferences_update(
            customer=customer,
            channels={consent_channel(c): request.POST.get(f"channel_{c}") == "on" for c, _l, _a in channels},
            topics={key: request.POST.get(f"topic_{key}") == "on" for key, _label in topic_choices()},
            ip=_client_ip(request),
        )
        saved = True
    consent = consent_current(customer)
    subscribed = topics_subscribed(customer)
    context = {
        "customer": customer, "saved": saved, "business_name": settings.FIDELIZA_BUSINESS_NAME,
        "channels": [{"key": c, "label": label, "address": address,
                      "checked": consent.get(consent_channel(c), False)} for c, label, address in channels],
        "topics": [{"key": key, "label": label, "checked": subscribed.get(key, True)}
                   for key, label in topic_choices()],
    }
    return _no_store(render(request, "engagement/public/preferences.html", context))


@require_GET
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    message = Message.objects.filter(token=token).first()
    if message is not None:
        tracking_event(message=message, kind=EventKind.OPENED,
                       detail={"user_agent": request.META.get("HTTP_USER_AGENT", "")[:200]})
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, private"
    return response


@require_GET
def click(request: HttpRequest, token: str) -> HttpResponse:
    """Record a click and redirect, only to a target signed for this very message."""
    target, signature = request.GET.get("u", ""), request.GET.get("s", "")
    if not target or not signature or not constant_time_compare(signature, click_signature(token, target)):
        return HttpResponseBadRequest("invalid link")
    if urlsplit(target).scheme not in ("http", "https"):
        return HttpResponseBadRequest("invalid link")
    message = Message.objects.filter(token=token).first()
    if message is not None:
        tracking_event(message=message, kind=EventKind.CLICKED, detail={"url": target[:500]})
    return _no_store(HttpResponseRedirect(target))
