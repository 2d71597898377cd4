"""Reads for the customer list: search, filters and sort orders, with role visibility.

Search is accent- and case-insensitive on both databases without an extension: the query
is folded in Python (no accents, lower case), then matched against the stored names with a
pattern whose letters list their accented and upper-case forms: a GLOB on SQLite, a regular
expression on PostgreSQL. Both run in C on the column; no per-row function is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db.models import CharField, Exists, F, Func, Lookup, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.models import User
from fideliza.accounts.selectors import users_active
from fideliza.core.pagination import SortKey

from .models import Customer
from .normalize import normalize_tax_id, strip_accents
from .selectors import customers_visible_to

_ACCENTED = "ÁÀÂÄÃÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇáàâäãéèêëíìîïóòôöõúùûüñç"
_PLAIN = "AAAAAEEEEIIIIOOOOOUUUUNCaaaaaeeeeiiiiooooouuuunc"
# Every way a plain lower-case letter may be written in a stored name.
_VARIANTS: dict[str, str] = {}
for _accented, _plain in zip(_ACCENTED, _PLAIN, strict=True):
    _VARIANTS.setdefault(_plain.lower(), _plain.lower() + _plain.upper())
    _VARIANTS[_plain.lower()] += _accented


def fold(text: str) -> str:
    """Lower case without accents: 'Muñoz Peña' → 'munoz pena'."""
    return strip_accents(text or "").lower()


def _glob_pattern(folded: str) -> str:
    """A SQLite GLOB pattern matching `folded` anywhere, in any case, with or without accents.

    GLOB runs in C on the stored column, so no per-row function call is needed (a Python
    function registered on the connection costs ~10 µs a row: 1 s at 100 k customers).
    """
    parts = []
    for ch in folded:
        if ch in _VARIANTS:
            parts.append(f"[{_VARIANTS[ch]}]")
        elif ch.isalpha() and ch.upper() != ch:
            parts.append(f"[{ch}{ch.upper()}]")
        elif ch in "*?[]":
            parts.append(f"[{ch}]")
        else:
            parts.append(ch)
    return "*" + "".join(parts) + "*"


def _regex_pattern(folded: str) -> str:
    """The PostgreSQL regular expression equivalent of `_glob_pattern` (for the `~` operator).

    Bracket classes of the letters' forms are ~4x faster than translate() + lower() on every
    row, and need no extension (unaccent, pg_trgm).
    """
    parts = []
    for ch in folded:
        if ch in _VARIANTS:
            parts.append(f"[{_VARIANTS[ch]}]")
        elif ch.isalpha() and ch.upper() != ch:
            parts.append(f"[{ch}{ch.upper()}]")
        elif ch.isalnum() or ch == " ":
            parts.append(ch)
        else:
            parts.append("\\" + ch)  # a backslash makes any other character literal
    return "".join(parts)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SearchText(CharField):
    """Output type of the searchable text of a card; carries the `fold_contains` lookup."""


@SearchText.register_lookup
class FoldContains(Lookup):
    """`text__fold_contains=query`: accent- and case-insensitive substring match."""

    lookup_name = "fold_contains"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        folded = fold(str(self.rhs))
        if connection.vendor == "sqlite":
            return f"{lhs} GLOB %s", [*params, _glob_pattern(folded)]
        if connection.vendor == "postgresql":
            return f"{lhs} ~ %s", [*params, _regex_pattern(folded)]
        return f"LOWER({lhs}) LIKE %s", [*params, f"%{_like_escape(folded)}%"]


def search_text() -> Func:
    """First name, last name and company name of the card as one text (columns are NOT NULL)."""
    return Func(F("first_name"), F("last_name"), F("company_name"), template="(%(expressions)s)",
                arg_joiner=" || ' ' || ", output_field=SearchText())


class PurchasesSince(Protocol):
    """`Exists()` over the purchases of the card `OuterRef("pk")` placed at or after `since`."""

    def __call__(self, *, since: datetime) -> Exists: ...


# Sales sits above customers, so it registers who bought (`SalesConfig.ready`).
_purchases_since: list[PurchasesSince] = []


def purchases_since_register(condition: PurchasesSince) -> None:
    _purchases_since[:] = [condition]


def _bought_since(since: datetime) -> Exists:
    if not _purchases_since:
        raise ImproperlyConfigured("no app registered purchases_since (is fideliza.sales installed?)")
    return _purchases_since[0](since=since)


TRISTATE_CHOICES = [("", _("Todos")), ("yes", _("Sí")), ("no", _("No"))]


@dataclass
class CustomerFilters:
    q: str = ""
    city: str = ""
    region: str = ""
    kind: str = ""
    executive: str = ""  # user id, "none" (unassigned) or ""
    has_email: str = ""  # "yes" / "no" / ""
    has_phone: str = ""
    status: str = "active"  # "active" / "inactive" / "all"
    bought: str = ""  # "yes": bought in the last 12 months; "no": did not
    sort: str = "recent"


SORTS: dict[str, tuple[SortKey, object]] = {
    # Each sort follows an index: the primary key, customer_name_idx, customer_company_idx,
    # the city index; the id breaks ties so the order is total.
    "recent": (SortKey(["id"], descending=True), _("Más recientes")),
    "name": (SortKey([Lower("last_name"), Lower("first_name"), "id"]), _("Apellidos y nombre")),
    "company": (SortKey([Lower("company_name"), "id"]), _("Razón social")),
    "city": (SortKey(["city", "id"]), _("Ciudad")),
}


def sort_choices() -> list[tuple[str, object]]:
    return [(key, label) for key, (_sort, label) in SORTS.items()]


def customer_sort_key(name: str) -> SortKey:
    return SORTS.get(name, SORTS["recent"])[0]


def _search_condition(q: str) -> Q:
    # A query made only of digits (and phone punctuation) is a phone or a tax id as a whole:
    # "+34 612 34 56 78" must not be split into tokens.
    digits = re.sub(r"[\s+().-]", "", q).lstrip("0")
    if len(digits) >= 3 and digits.isdigit():
        return Q(phone__contains=digits) | Q(tax_id__contains=digits)
    condition = Q()
    for token in q.split():
        match = Q(_search_name__fold_contains=token) | Q(email__icontains=token.lower())
        tax = normalize_tax_id(token)
        if len(tax) >= 3 and any(ch.isdigit() for ch in tax):
            match |= Q(tax_id__contains=tax)
        condition &= match
    return condition


def customer_list(*, user: User, filters: CustomerFilters) -> QuerySet[Customer]:
    """The customers `user` may see, narrowed by `filters` (unordered; paginate with keyset)."""
    qs = customers_visible_to(user).select_related("account_executive")
    if filters.status == "active":
        qs = qs.filter(is_active=True)
    elif filters.status == "inactive":
        qs = qs.filter(is_active=False)
    if filters.q.strip():
        qs = qs.annotate(_search_name=search_text()).filter(_search_condition(filters.q))
    if filters.city:
        qs = qs.filter(city__iexact=filters.city.strip())
    if filters.region:
        qs = qs.filter(region__iexact=filters.region.strip())
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.executive == "none":
        qs = qs.filter(account_executive__isnull=True)
    elif filters.executive.isdigit() and not user.is_sales_rep:
        qs = qs.filter(account_executive_id=int(filters.executive))
    for field, flag in (("email", filters.has_email), ("phone", filters.has_phone)):
        if flag == "yes":
            qs = qs.exclude(**{field: ""})
        elif flag == "no":
            qs = qs.filter(**{field: ""})
    if filters.bought in ("yes", "no"):
        recent = _bought_since(timezone.now() - timedelta(days=365))
        qs = qs.filter(Exists(recent)) if filters.bought == "yes" else qs.exclude(Exists(recent))
    return qs


SUGGESTIONS_TTL = 600


def customer_suggestions(*, user: User) -> tuple[list[str], list[str]]:
    """(cities, regions) for the filter inputs, cached a few minutes per visibility scope.

    They are hints only; DISTINCT over 100 k cards costs more than the page itself.
    """
    key = f"fideliza:customers:suggestions:{user.pk if user.is_sales_rep else 'all'}"
    cached = cache.get(key)
    if cached is None:
        cached = (customer_cities(user=user), customer_regions(user=user))
        cache.set(key, cached, SUGGESTIONS_TTL)
    return cached


def customer_cities(*, user: User, limit: int = 300) -> list[str]:
    """Distinct cities of the visible customers (for the filter's suggestions; index on city)."""
    return list(
        customers_visible_to(user).exclude(city="").order_by("city")
        .values_list("city", flat=True).distinct()[:limit]
    )


def customer_regions(*, user: User, limit: int = 200) -> list[str]:
    return list(
        customers_visible_to(user).exclude(region="").order_by("region")
        .values_list("region", flat=True).distinct()[:limit]
    )


def account_executives() -> QuerySet[User]:
    """Users a customer can be assigned to: the active staff."""
    return users_active()
