"""The public complaints book: no login, phone-first, accessible.

Reached without a language prefix (a QR code at the till never changes): Spanish unless
the visitor's browser asks for English (language cookie, then Accept-Language). A filing
answers with a page of its tracking code (behind a signed link: reloading it files nothing
twice); the status page asks for the code and the e-mail or phone given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from fideliza.accounts.lockout import client_ip
from fideliza.accounts.services import Actor

from . import rules as R
from .forms import ComplaintForm, StatusLookupForm
from .models import Complaint
from .selectors import complaint_by_code, timer_of
from .services import complaint_file

SALT = "complaints.received"


def visitor_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = translation.get_language_from_request(request, check_path=False)
        language = "en" if language.startswith("en") else "es"
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        response["Content-Language"] = language
        response["Cache-Control"] = "no-store"
        response["X-Robots-Tag"] = "noindex"
        return response
    return wrapped


def _context(rules: R.RuleSet, **extra: Any) -> dict[str, Any]:
    return {"rules": rules, "business_name": settings.FIDELIZA_BUSINESS_NAME,
            "rule_sets": list(R.RULE_SETS.values()), **extra}


@never_cache
@visitor_language
@require_http_methods(["GET", "POST"])
def book_default(request: HttpRequest) -> HttpResponse:
    """The book under the business's rule set (FIDELIZA_COMPLAINTS_RULES): the address of the QR code."""
    return _book(request, R.rules_default())


@never_cache
@visitor_language
@require_http_methods(["GET", "POST"])
def book_form(request: HttpRequest, rules_code: str) -> HttpResponse:
    if rules_code.upper() not in R.RULE_SETS:
        raise Http404
    return _book(request, R.rule_set(rules_code))


def _within_limit(request: HttpRequest) -> bool:
    """At most FIDELIZA_COMPLAINTS_PER_HOUR filings an hour from one address: each filing
    creates a card and e-mails the address typed, so a script must not turn the form into a
    mailer. Counted in the cache (per process with the default local-memory cache: a soft
    limit; a shared cache makes it exact)."""
    limit = settings.FIDELIZA_COMPLAINTS_PER_HOUR
    if not limit:
        return True
    key = f"complaints:filings:{client_ip(request) or '-'}:{int(time.time() // 3600)}"
    cache.add(key, 0, timeout=3600)
    return cache.incr(key) <= limit


def _book(request: HttpRequest, rules: R.RuleSet) -> HttpResponse:
    initial = {"store": request.GET.get("tienda", "")}
    form = ComplaintForm(request.POST or None, rules=rules, initial=initial)
    if request.method == "POST" and form.is_valid():
        if not _within_limit(request):
            form.add_error(None, _("Ha enviado muchas quejas seguidas desde esta conexión; inténtelo dentro de "
                                   "una hora o llámenos."))
            return render(request, "complaints/public/form.html",
                          _context(rules, form=form, days=rules.term_days()), status=429)
        try:
            complaint = complaint_file(actor=Actor.system("libro de quejas (web)"),
                                       filing=form.filing(translation.get_language() or "es"))
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            token = signing.dumps(complaint.pk, salt=SALT)
            return redirect(reverse("complaints_public:received", args=[token]))
    status = 400 if request.method == "POST" else 200
    return render(request, "complaints/public/form.html", _context(rules, form=form, days=rules.term_days()),
                  status=status)


@visitor_language
def book_received(request: HttpRequest, token: str) -> HttpResponse:
    try:
        pk = signing.loads(token, salt=SALT, max_age=7 * 24 * 3600)
    except signing.BadSignature:
        raise Http404 from None
    complaint = Complaint.objects.filter(pk=pk).first()
    if complaint is None:
        raise Http404
    rules = complaint.rule_set
    return render(request, "complaints/public/received.html", _context(
        rules, complaint=complaint, due=timer_of(complaint, which="resolution", now=complaint.received_at),
        days=rules.term_days(complaint.subdivision)))


@never_cache
@visitor_language
@require_http_methods(["GET", "POST"])
def book_status(request: HttpRequest) -> HttpResponse:
    form = StatusLookupForm(request.POST or None)
    complaint, not_found = None, False
    if request.method == "POST" and form.is_valid():
        complaint = complaint_by_code(form.cleaned_data["code"], form.cleaned_data["contact"])
        not_found = complaint is None
    return render(request, "complaints/public/status.html", _context(
        complaint.rule_set if complaint else R.rules_default(), form=form, complaint=complaint,
        not_found=not_found), status=400 if request.method == "POST" and not form.is_valid() else 200)
