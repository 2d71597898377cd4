"""The owner's account pages: API tokens (list, create: the secret is shown once, revoke) and
the login lockouts (recent failures; lift a lockout)."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from .forms import ApiTokenForm
from .http import AuthedRequest
from .models import ApiToken, Role
from .selectors import login_failures
from .services import api_token_create, api_token_revoke, login_lockout_lift


def owner_required(view: Any) -> Any:
    """Only the owner (or a superuser) manages the business's integrations."""

    @login_required
    @wraps(view)
    def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not (user.is_superuser or getattr(user, "role", None) == Role.OWNER):
            raise PermissionDenied(_("Solo el propietario gestiona esta página."))
        return view(request, *args, **kwargs)

    return wrapper


def _list_context(form: ApiTokenForm | None = None) -> dict[str, Any]:
    tokens = ApiToken.objects.select_related("user", "created_by").order_by("revoked_at", "-created_at")
    return {"tokens": tokens, "form": form or ApiTokenForm()}


@owner_required
@require_http_methods(["GET"])
def token_list(request: AuthedRequest) -> HttpResponse:
    return render(request, "accounts/tokens.html", _list_context())


@owner_required
@never_cache
@require_http_methods(["GET", "POST"])
def token_create(request: AuthedRequest) -> HttpResponse:
    """On success the secret is rendered in this response and nowhere else: it is not
    stored (only its digest is) and not put in the session or a message for a redirect."""
    if request.method == "GET":
        return redirect("accounts:tokens")
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return render(request, "accounts/tokens.html", _list_context(form), status=422)
    token, plain = api_token_create(user=form.cleaned_data["user"], name=form.cleaned_data["name"],
                                    created_by=request.user)
    # never_cache: no browser or proxy keeps a copy of this page.
    return render(request, "accounts/token_created.html", {"token": token, "plain": plain})


@owner_required
@require_POST
def token_revoke(request: AuthedRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id)
    was_active = token.is_active
    api_token_revoke(token=token, by=request.user)
    if was_active:
        messages.success(request, _("Token «%(name)s» revocado: deja de funcionar ya.") % {"name": token.name})
    return redirect("accounts:tokens")


@owner_required
@require_http_methods(["GET"])
def lockout_list(request: AuthedRequest) -> HttpResponse:
    """Usernames and addresses with recent failed logins; the locked ones can be lifted."""
    return render(request, "accounts/lockouts.html", {
        "rows": login_failures(),
        "minutes": settings.FIDELIZA_LOGIN_COOLOFF_MINUTES,
    })


@owner_required
@require_POST
def lockout_lift(request: AuthedRequest) -> HttpResponse:
    kind, value = request.POST.get("kind", ""), request.POST.get("value", "")
    if kind not in ("username", "ip_address") or not value:
        messages.error(request, _("Elija qué desbloquear."))
        return redirect("accounts:lockouts")
    login_lockout_lift(kind=kind, value=value, by=request.user)
    if kind == "username":
        text = _("Usuario «%(value)s» desbloqueado: ya puede iniciar sesión.")
    else:
        text = _("Dirección %(value)s desbloqueada.")
    messages.success(request, text % {"value": value})
    return redirect("accounts:lockouts")
