"""Login throttling with django-axes: lockout per user and per address, with their own limits.

Axes compares one failure count (the highest over its lockout parameters) with one limit, so
with ``AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]`` a user who mistypes their
password five times would also lock everyone behind the same office router. The handler
below gives each parameter its own limit: ``FIDELIZA_LOGIN_FAILURE_LIMIT`` failures for one
username (from any address), ``FIDELIZA_LOGIN_ADDRESS_FAILURE_LIMIT`` for one address (over
every username it tries), both within ``FIDELIZA_LOGIN_COOLOFF_MINUTES``.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def parameter_limits() -> dict[str, int]:
    """Failures allowed per lockout parameter before it is locked."""
    return {
        "username": settings.FIDELIZA_LOGIN_FAILURE_LIMIT,
        "ip_address": settings.FIDELIZA_LOGIN_ADDRESS_FAILURE_LIMIT,
    }


class LoginLockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with one limit per lockout parameter (see the module's doc)."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """The user limit (AXES_FAILURE_LIMIT) when any parameter reached its own limit,
        otherwise a count below it (so axes' single comparison locks exactly then)."""
        limits = parameter_limits()
        user_limit = settings.AXES_FAILURE_LIMIT
        highest = 0
        attempts_by_parameter = self.get_user_attempts(request, credentials)
        for parameter, attempts in zip(settings.AXES_LOCKOUT_PARAMETERS, attempts_by_parameter, strict=True):
            failures = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            if failures >= limits[parameter]:
                return user_limit
            highest = max(highest, failures)
        return min(highest, user_limit - 1)

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """After a successful login, forget that user's failures only.

        Axes would also clear the address's: then whoever holds one valid account could wipe
        the failures recorded against *other* usernames from their address between guesses.
        """
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind FIDELIZA_TRUSTED_PROXY_COUNT reverse
    proxies the address the outermost trusted proxy saw (X-Forwarded-For, counted from the
    right, so a client cannot choose its own address by sending the header)."""
    proxies = settings.FIDELIZA_TRUSTED_PROXY_COUNT
    if proxies > 0:
        chain = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(chain) >= proxies:
            return chain[-proxies]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request: HttpRequest, original_response: Any = None,
                     credentials: dict | None = None) -> HttpResponse:
    """The page shown instead of the login while locked (429), in the page's language."""
    return render(request, "accounts/locked_out.html", {
        "minutes": settings.FIDELIZA_LOGIN_COOLOFF_MINUTES,
    }, status=429)
