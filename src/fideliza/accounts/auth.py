"""Who is calling the API, and what their role lets them do.

Two ways in: an API token in the `Authorization` header (`Bearer <token>` or
`Token <token>`; the token acts as its user, with that user's role and visibility), or the
Django session of a logged-in staff member, so the web UI's htmx can call the API too
(session requests must carry the CSRF token on writes, as any form post).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer

from .models import ApiToken, Role, User
from .services import Actor, api_token_authenticate

TOKEN_SCHEMES = ("bearer", "token")


class ApiTokenAuth(HttpBearer):
    """`Authorization: Bearer <token>` (also accepts the `Token <token>` spelling)."""

    def __call__(self, request: HttpRequest) -> User | None:
        value = request.headers.get(self.header, "")
        scheme, _sep, plain = value.strip().partition(" ")
        if scheme.lower() not in TOKEN_SCHEMES or not plain.strip():
            return None
        return self.authenticate(request, plain.strip())

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        api_token = api_token_authenticate(token)
        if api_token is None:
            return None
        request.api_token = api_token  # type: ignore[attr-defined]  # our own attribute, not in HttpRequest's stub
        return api_token.user


class StaffSessionAuth(APIKeyCookie):
    """The session of a logged-in staff member (the web UI calling the API with htmx).

    Ninja's own SessionAuth checks CSRF before looking at the cookie, which turns every
    unauthenticated or bad-token write into a misleading 403 "CSRF"; here the CSRF check
    only applies to requests that actually carry a session.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if key and user is not None and user.is_authenticated and user.is_active:
            return user
        return None


def api_auth() -> list:
    """The authentication callbacks of every API operation, token first."""
    return [ApiTokenAuth(), StaffSessionAuth()]


# --- roles -------------------------------------------------------------------------------

# Who may write what. Reading follows visibility (customers_visible_to) and is open to
# every role; a sales representative writes only their own customers (enforced by looking
# the customer up through customers_visible_to, so another rep's customer is a 404).
WRITE_ROLES: dict[str, frozenset[str]] = {
    "customers": frozenset({Role.OWNER, Role.MARKETING, Role.SUPPORT, Role.SALES_REP}),
    "catalog": frozenset({Role.OWNER, Role.MARKETING}),
    "sales": frozenset({Role.OWNER, Role.MARKETING, Role.SALES_REP}),
}


def request_user(request: HttpRequest) -> User:
    """The user the request acts as (the token's user for token requests)."""
    return request.auth  # type: ignore[attr-defined]  # django-ninja sets it; HttpRequest's stub has no `auth`


def request_token(request: HttpRequest) -> ApiToken | None:
    return getattr(request, "api_token", None)


def request_actor(request: HttpRequest) -> Actor:
    """The audit actor: the user, and through which token if any."""
    token = request_token(request)
    via = f"API token «{token.name}»" if token is not None else "API"
    return Actor.of(request_user(request), via=via)


def request_principal(request: HttpRequest) -> str:
    """Who owns an Idempotency-Key: each token (integration) has its own key space."""
    token = request_token(request)
    if token is not None:
        return f"token:{token.pk}"
    return f"user:{request_user(request).pk}"


def can_write(user: User, area: str) -> bool:
    if user.is_superuser:
        return True
    return user.role in WRITE_ROLES[area]


def require_write(request: HttpRequest, area: str) -> User:
    """The caller's user, or a 403 when their role may not change `area`."""
    user = request_user(request)
    if not can_write(user, area):
        raise HttpError(403, _("Su rol no permite esta operación."))
    return user
