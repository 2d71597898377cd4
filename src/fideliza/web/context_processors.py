"""The navigation every page shows: the data pages and the six moves of the seeds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse, translate_url
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.models import Role

from .moves import MOVES


@dataclass(frozen=True)
class NavItem:
    label: Promise | str
    url: str
    active: bool


# Who may open the pages of each app (mirrors the checks in those apps' views, so nobody is
# shown a link that answers 403). Namespaces not listed are open to every logged-in user.
_OWNER: set[str] = {Role.OWNER}
NAMESPACE_ROLES: dict[str, set[str]] = {
    "imports": {Role.OWNER, Role.MARKETING, Role.SUPPORT},  # not sales representatives
    "accounts": _OWNER,
    "loyalty": {Role.OWNER, Role.MARKETING},
    "dedup": {Role.OWNER, Role.MARKETING, Role.SUPPORT},
    "privacy": {Role.OWNER, Role.SUPPORT},
    "engagement": {Role.OWNER, Role.MARKETING, Role.SUPPORT},  # outbox: addresses and bodies
}


def may_open(user: Any, url_name: str) -> bool:
    """Whether `user`'s role may open the page `url_name` (see NAMESPACE_ROLES)."""
    namespace = url_name.split(":", 1)[0]
    if namespace == "admin":
        return bool(user.is_staff)
    roles = NAMESPACE_ROLES.get(namespace)
    return roles is None or user.is_superuser or user.role in roles


def safe_reverse(name: str, query: str = "") -> str | None:
    """The URL of `name`, or None while the page does not exist yet (another app's pages)."""
    try:
        url = reverse(name)
    except NoReverseMatch:
        return None
    return f"{url}?{query}" if query else url


def _language_switch(request: HttpRequest) -> dict:
    """The other language and this page's URL in it.

    Translated here, while the page's language is active: `set_language` would resolve an
    /en/… URL under the language of the /i18n/ request instead, and fail for visitors who
    reached /en/ by a link (no language cookie yet).
    """
    current = get_language() or settings.LANGUAGE_CODE
    target = "es" if current.startswith("en") else "en"
    return {
        "switch_language": target,
        "switch_language_label": "Español" if target == "es" else "English",
        "switch_language_next": translate_url(request.get_full_path(), target),
    }


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    base = {"business_name": settings.FIDELIZA_BUSINESS_NAME, **_language_switch(request)}
    if user is None or not user.is_authenticated:
        return base
    match = getattr(request, "resolver_match", None)
    namespace = match.namespace if match else ""
    url_name = match.url_name if match else ""
    current_move = match.kwargs.get("slug") if match and url_name == "move" else None

    candidates = [
        ("web:home", _("Inicio"), namespace == "web" and url_name == "home"),
        ("followups:my_day", _("Mi día"), namespace == "followups"),
        ("goals:list", _("Metas"), namespace == "goals"),
        ("customers:list", _("Clientes"), namespace == "customers"),
        ("complaints:list", _("Quejas"), namespace == "complaints"),
        ("insights:dashboard", _("Panel de análisis"), namespace == "insights"),
        ("segments:list", _("Segmentos"), namespace == "segments"),
        ("campaigns:list", _("Campañas"), namespace == "campaigns"),
        ("events:list", _("Eventos"), namespace == "events"),
        ("automations:list", _("Automatizaciones"), namespace == "automations"),
        ("surveys:list", _("Encuestas"), namespace == "surveys"),
        ("engagement:outbox", _("Comunicación"), namespace == "engagement"),
        ("loyalty:home", _("Fidelización"), namespace == "loyalty"),
        ("imports:list", _("Importaciones"), namespace == "imports"),
        ("dedup:queue", _("Duplicados"), namespace == "dedup"),
        ("privacy:list", _("Privacidad"), namespace == "privacy"),
        ("accounts:tokens", _("Tokens de API"), namespace == "accounts"),
        ("admin:index", _("Administración"), namespace == "admin"),
    ]
    data_nav = []
    for name, label, active in candidates:
        url = safe_reverse(name) if may_open(user, name) else None
        if url:
            data_nav.append(NavItem(label, url, active))
    moves_nav = [
        NavItem(m.title, reverse("web:move", kwargs={"slug": m.slug}), m.slug == current_move)
        for m in MOVES
    ]
    role_label = _("Administrador") if user.is_superuser and not user.role else user.get_role_display()
    return {
        **base,
        "nav_data": data_nav,
        "nav_moves": moves_nav,
        "user_role_label": role_label,
    }
