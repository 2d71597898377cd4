"""Request type of the logged-in pages, for type checkers: `login_required` guarantees a
`User`, and django-htmx's middleware adds `request.htmx`."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from fideliza.accounts.models import User


class AuthedRequest(HttpRequest):
    user: User
    htmx: HtmxDetails
