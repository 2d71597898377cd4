"""A sales representative sees only their own customers, in every list, export and page.

The walk finds what to visit by itself, so a new endpoint, export or page is covered the day
it is added:

- every GET operation of the OpenAPI document (/api/openapi.json), with its path parameters
  filled with the representative's own objects (`PATH_PARAMS`), `q` set to the other
  representative's e-mail and surname, `customer` to the other's customer, and the `next`
  cursor followed;
- every export in the URL configuration (views marked with `export_view`), in every format;
- every web page reachable from the navigation by following links, one URL per URL name,
  plus each page's search (`q`) for the other representative's customers.

Representative A's responses must not contain anything of representative B's customers, nor
of the customer assigned to nobody (id, e-mail, phone, name). So that this cannot pass on an empty answer, the owner walks the same
operations and must find B's customers in each one, except the operations in
`NO_CUSTOMER_DATA`, which carry no customer data at all; and A must find their own.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import pytest
import time_machine
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import (
    NoReverseMatch,
    Resolver404,
    URLPattern,
    URLResolver,
    get_resolver,
    resolve,
    reverse,
)
from django.utils import translation

from fideliza.accounts.services import api_token_create
from fideliza.engagement.models import Message
from fideliza.interactions.models import Interaction
from tests.core.test_exports import export_urls

from .conftest import ApiClient
from .world import NOW, Person, Rep, World, world_build

pytestmark = pytest.mark.django_db

# GET operations that carry no customer data (no customer's id, name, e-mail or phone), so
# the owner's walk is not expected to find one there. The representative's walk still checks
# them. Anything else that lists customers, or data of customers, must show the owner
# representative B's customers in this world and representative A none of them.
NO_CUSTOMER_DATA = {
    "/api/v1/me",                                       # the caller's own user
    "/api/v1/events",                                   # events: no customer data
    "/api/v1/events/{event_id}",
    "/api/v1/products",                                 # the catalogue
    "/api/v1/products/{product_id}",
    "/api/v1/loyalty/rewards",                          # the program's rewards
    "/api/v1/segments/fields",                          # the rule builder's fields
    "/api/v1/segments",                                 # segment names, rules and member counts
    "/api/v1/segments/{segment_id}",
    "/api/v1/segments/compare",                         # counts and sums per segment (caller's customers)
    "/api/v1/campaigns",                                # campaign settings and totals
    "/api/v1/campaigns/{campaign_id}",
    "/api/v1/campaigns/{campaign_id}/results",
    "/api/v1/automations",                              # automation settings and totals
    "/api/v1/automations/{automation_id}/report",
    "/api/v1/insights/status",                          # the analytics runs
    "/api/v1/insights/runs/{run_id}",
    "/api/v1/insights/metrics",                         # business-wide figures
    "/api/v1/insights/metrics/{name}",
    "/api/v1/surveys",                                  # survey settings and questions
    "/api/v1/surveys/{survey_id}/results",              # figures over the caller's customers
}


def _a_message(rep: Rep) -> int:
    return Message.objects.filter(customer_id__in=rep.customer_ids).order_by("pk").first().pk


def _a_followup(rep: Rep) -> int:
    followup = rep.people[0].followup
    assert followup is not None
    return followup.pk


def _an_interaction(rep: Rep) -> int:
    return Interaction.objects.filter(customer_id__in=rep.customer_ids).order_by("pk").first().pk


def _an_invitation(rep: Rep) -> int:
    from fideliza.events.models import Invitation

    return Invitation.objects.filter(customer_id__in=rep.customer_ids).order_by("pk").first().pk


# How to fill each path parameter with the representative's own object (or the world's).
# A new path parameter fails `test_every_api_get_operation_is_walked` until it is added here.
PATH_PARAMS: dict[str, Callable[[World, Rep], Any]] = {
    "customer_id": lambda w, rep: rep.people[0].customer.pk,
    "order_id": lambda w, rep: rep.people[0].orders[-1].pk,
    "message_id": lambda w, rep: _a_message(rep),
    "segment_id": lambda w, rep: w.static_segment.pk,
    "campaign_id": lambda w, rep: w.objects["campaign"].pk,
    "automation_id": lambda w, rep: w.objects["automation"].pk,
    "run_id": lambda w, rep: w.objects["run"].pk,
    "product_id": lambda w, rep: w.objects["product"].pk,
    "followup_id": lambda w, rep: _a_followup(rep),
    "interaction_id": lambda w, rep: _an_interaction(rep),
    "event_id": lambda w, rep: w.objects["event"].pk,
    "invitation_id": lambda w, rep: _an_invitation(rep),
    "survey_id": lambda w, rep: w.objects["survey"].pk,
}
# Required query parameters, filled the same way.
REQUIRED_QUERY_PARAMS: dict[str, Callable[[World, Rep], Any]] = {
    "ids": lambda w, rep: [w.static_segment.pk, w.dynamic_segment.pk],
}
# Query parameters set to find the other representative's customers.
CUSTOMER_QUERY_PARAMS = ("customer", "customer_id")


@pytest.fixture
def world(owner) -> Iterator[World]:
    with time_machine.travel(NOW, tick=False):
        yield world_build(owner)


# --- finding another customer's data in a response --------------------------------------

def _needles(people: list[Person]) -> dict[str, str]:
    found = {}
    for person in people:
        for what, value in person.needles.items():
            found[value.lower()] = f"{person.customer.first_name}'s {what}"
    return found


def _ids_in(document: Any, ids: set[int]) -> list[str]:
    """Where a JSON document names one of the customers `ids`: a customer_id/customer key, or
    the id of a customer-shaped object (one with a display name or an e-mail)."""
    hits: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("customer_id", "customer") and isinstance(value, int) and value in ids:
                    hits.append(f"{where}.{key}={value}")
                walk(value, f"{where}.{key}")
            if node.get("id") in ids and ({"display_name", "email", "phone"} & set(node)):
                hits.append(f"{where}.id={node['id']}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(document, "")
    return hits


def _leaks(text: str, document: Any, people: list[Person], echoed: tuple[str, ...] = ()) -> list[str]:
    """What of `people` is in a response; `echoed`: the search terms sent, which a page may
    repeat (in its search box) without leaking anything."""
    lowered = text.lower()
    for term in echoed:  # as typed, and URL-encoded in the page's own links
        for form in (str(term), quote(str(term)), quote_plus(str(term))):
            lowered = lowered.replace(form.lower(), "")
    found = [label for needle, label in _needles(people).items() if needle in lowered]
    if document is not None:
        found += _ids_in(document, {p.customer.pk for p in people})
    return found


# --- the API ------------------------------------------------------------------------------

def _client(user) -> ApiClient:
    _token, plain = api_token_create(user=user, name=f"walk-{user.username}", created_by=user)
    return ApiClient(plain)


def _get_operations(client: ApiClient) -> dict[str, dict]:
    schema = client.get("/api/openapi.json").json()
    return {path: item["get"] for path, item in schema["paths"].items() if "get" in item}


def _requests_for(path: str, operation: dict, world: World, rep: Rep, other: Rep) -> Iterator[tuple[str, dict]]:
    """(url, query) pairs for one operation: every enum value of an enum path parameter,
    and the plain call plus one per searching parameter."""
    params = operation.get("parameters", [])
    urls = [path]
    for p in (p for p in params if p["in"] == "path"):
        name = p["name"]
        schema = p.get("schema", {})
        values = schema.get("enum") or [PATH_PARAMS[name](world, rep)]
        urls = [u.replace("{" + name + "}", str(v)) for u in urls for v in values]
    query = {p["name"]: p for p in params if p["in"] == "query"}
    query_names = set(query)
    base = {name: REQUIRED_QUERY_PARAMS[name](world, rep) for name, p in query.items() if p.get("required")}
    if "limit" in query:  # the largest page the operation allows
        base["limit"] = query["limit"].get("schema", {}).get("maximum", 100)
    target = other.people[0].customer
    for url in urls:
        yield url, base
        if "q" in query_names:
            yield url, {**base, "q": target.email}
            yield url, {**base, "q": target.last_name}
        for name in CUSTOMER_QUERY_PARAMS:
            if name in query_names:
                yield url, {**base, name: target.pk}


def _fetch_all(client: ApiClient, url: str, query: dict) -> Iterator[tuple[int, str, Any]]:
    """Every page of one request (following `next`), as (status, text, JSON)."""
    for _page in range(20):
        response = client.get(url, query)
        text = response.content.decode()
        document = response.json() if response["Content-Type"].startswith("application/json") else None
        yield response.status_code, text, document
        cursor = document.get("next") if isinstance(document, dict) else None
        if response.status_code != 200 or not cursor:
            return
        query = {**query, "cursor": cursor}


def _walk_api(world: World, user, rep: Rep, other: Rep, hidden: list[Person] | None = None) -> dict[str, dict[str, Any]]:
    """{operation path: {"statuses", "leaks", "own"}} of one user's walk: path parameters
    are `rep`'s objects, searches look for `other`'s customers; "leaks" is what of `other`'s
    customers (or of `hidden`) the answers showed, "own" what of `rep`'s."""
    hidden = other.people if hidden is None else hidden
    client = _client(user)
    result: dict[str, dict[str, Any]] = {}
    for path, operation in _get_operations(client).items():
        if path == "/api/openapi.json":
            continue
        seen: dict[str, Any] = {"statuses": set(), "leaks": [], "own": []}
        for url, query in _requests_for(path, operation, world, rep, other):
            for status, text, document in _fetch_all(client, url, query):
                seen["statuses"].add(status)
                echoed = tuple(str(v) for k, v in query.items() if k == "q")
                seen["leaks"] += [f"{url}?{query}: {leak}"
                                  for leak in _leaks(text, document, hidden, echoed)]
                seen["own"] += _leaks(text, document, rep.people)
        result[path] = seen
    return result


def test_every_api_get_operation_is_walked(world):
    operations = _get_operations(_client(world.owner))
    unknown = {p["name"] for op in operations.values() for p in op.get("parameters", [])
               if p["in"] == "path" and "enum" not in p.get("schema", {})} - set(PATH_PARAMS)
    assert not unknown, f"add these path parameters to PATH_PARAMS: {sorted(unknown)}"
    required = {p["name"] for op in operations.values() for p in op.get("parameters", [])
                if p["in"] == "query" and p.get("required")} - set(REQUIRED_QUERY_PARAMS)
    assert not required, f"add these query parameters to REQUIRED_QUERY_PARAMS: {sorted(required)}"
    assert set(NO_CUSTOMER_DATA) <= set(operations), sorted(set(NO_CUSTOMER_DATA) - set(operations))
    assert "/api/v1/messages/suppressions" in operations


def test_a_representative_finds_no_other_representatives_customer_through_the_api(world):
    walk = _walk_api(world, world.a.user, world.a, world.b, hidden=world.not_theirs(world.a))
    leaks = {path: seen["leaks"] for path, seen in walk.items() if seen["leaks"]}
    assert not leaks, json.dumps(leaks, indent=1, ensure_ascii=False)
    errors = {path: sorted(seen["statuses"]) for path, seen in walk.items() if any(s >= 500 for s in seen["statuses"])}
    assert not errors, errors
    # Not by answering nothing: every operation with customer data shows them their own.
    blind = sorted(path for path, seen in walk.items() if path not in NO_CUSTOMER_DATA and not seen["own"])
    assert not blind, f"the representative sees none of their own customers in: {blind}"


def test_the_owner_finds_every_representatives_customers_through_the_api(world):
    """The control: the walk does find B's customers, in every operation that lists customer
    data, when the caller may see them. An operation that shows none here either carries no
    customer data (list it in NO_CUSTOMER_DATA, with why) or the world lacks its data."""
    walk = _walk_api(world, world.owner, world.b, world.b)
    empty = sorted(path for path, seen in walk.items() if path not in NO_CUSTOMER_DATA and not seen["leaks"])
    assert not empty, f"no customer data of representative B found as the owner in: {empty}"


def test_the_suppression_list_shows_a_representative_only_their_customers_addresses(world):
    client = _client(world.a.user)
    rows = client.get("/api/v1/messages/suppressions").json()
    mine = {p.customer.email for p in world.a.people} | {p.customer.phone for p in world.a.people}
    assert {r["address"] for r in rows} == mine
    assert len(rows) == 6  # e-mail, SMS and webhook for each of the two
    other = world.b.people[0].customer
    for q in (other.email, other.phone, "zurbaran", "@example.com"):
        found = {r["address"] for r in client.get("/api/v1/messages/suppressions", {"q": q}).json()}
        assert other.email not in found and other.phone not in found, q
    assert len(_client(world.owner).get("/api/v1/messages/suppressions").json()) == 15


def test_a_representative_may_not_add_a_suppression(world):
    """Adding (and removing, a web-only action) stays with owner and marketing: a blocked
    address stops mail to every card that has it, whoever's customer it is."""
    response = _client(world.a.user).post("/api/v1/messages/suppressions",
                                          {"channel": "email", "address": "nuevo@example.com"})
    assert response.status_code == 403


# --- exports ------------------------------------------------------------------------------

# How to reach each export with the representative's own objects. A new export fails
# `test_every_export_is_walked` until it is added here.
EXPORT_KWARGS: dict[str, Callable[[World, Rep], dict[str, Any]]] = {
    "segments:export": lambda w, rep: {"pk": w.static_segment.pk},
    "privacy:export": lambda w, rep: {"customer_id": rep.people[0].customer.pk},
    "cadences:losing_touch_export": lambda w, rep: {},
    "surveys:export": lambda w, rep: {"pk": w.objects["survey"].pk},
}


def _file_text(content_type: str, content: bytes) -> str:
    """A download as text: the XLSX's strings (shared and inline) and numbers, or the text."""
    if content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            return "\n".join(book.read(n).decode() for n in book.namelist() if n.endswith(".xml"))
    return content.decode("utf-8", errors="replace")


def _download_all(client: Client, world: World, rep: Rep) -> dict[str, tuple[int, str]]:
    found = export_urls()
    assert set(found) == set(EXPORT_KWARGS), f"add the new export to EXPORT_KWARGS: {sorted(found)}"
    out = {}
    for name, formats in found.items():
        for fmt in formats:
            with translation.override("es"):
                url = reverse(name, kwargs={**EXPORT_KWARGS[name](world, rep), "fmt": fmt})
            response = client.get(url)
            content = b"".join(response.streaming_content) if response.streaming else response.content
            out[f"{name} {fmt}"] = (response.status_code, _file_text(response.get("Content-Type", ""), content))
    return out


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_export_is_walked(world):
    assert set(export_urls()) == set(EXPORT_KWARGS)


def test_a_representative_exports_none_of_another_representatives_customers(world):
    downloads = _download_all(_logged_in(world.a.user), world, world.a)
    leaks = {name: _leaks(text, None, world.not_theirs(world.a)) for name, (status, text) in downloads.items()
             if status == 200}
    assert not any(leaks.values()), leaks
    assert all(status in (200, 403) for status, _text in downloads.values()), downloads.keys()
    # The segment export is theirs to download, with their own customers in it.
    status, text = downloads["segments:export csv"]
    assert status == 200 and world.a.people[0].customer.email in text
    # The control: the owner's download of the same files has B's customers.
    owner = _download_all(_logged_in(world.owner), world, world.b)
    assert all(_leaks(text, None, world.b.people) for status, text in owner.values() if status == 200)


# --- web pages ----------------------------------------------------------------------------

SKIP_PREFIXES = ("/static/", "/media/", "/en/", "/i18n/", "/m/", "/logout/", "/api/", "/admin/")
HREF = re.compile(r'(?:href|hx-get|action)="([^"#]+)')


def _crawl(client: Client, searches: list[str]) -> dict[str, tuple[int, str, tuple[str, ...]]]:
    """{url: (status, html)} of every page reachable from the home page's links, one URL per
    URL name (and per query string for list filters), plus each searchable page's search
    (`q`) for each of `searches`."""
    queue = ["/"]
    names: set[tuple[str, str]] = set()
    pages: dict[str, tuple[int, str]] = {}
    searched: dict[str, str] = {}
    while queue and len(pages) < 400:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc or not parts.path.startswith("/") or parts.path.startswith(SKIP_PREFIXES):
            continue
        try:
            match = resolve(parts.path)
        except Resolver404:
            continue
        key = (match.view_name, "?" if parts.query else "")
        if key in names:
            continue
        names.add(key)
        response = client.get(url)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        html = content.decode("utf-8", errors="replace")
        pages[url] = (response.status_code, html)
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            continue
        queue += [h.replace("&amp;", "&") for h in HREF.findall(html)]
        if 'name="q"' in html:
            for q in searches:
                found = client.get(parts.path, {"q": q})
                pages[f"{parts.path}?q={q}"] = (found.status_code, found.content.decode("utf-8", errors="replace"))
                searched[f"{parts.path}?q={q}"] = q
    return {url: (status, html, (searched[url],) if url in searched else ()) for url, (status, html) in pages.items()}


def test_a_representative_sees_none_of_another_representatives_customers_on_any_page(world):
    other = world.b.people[0].customer
    pages = _crawl(_logged_in(world.a.user), [other.email, other.last_name])
    leaks = {url: _leaks(html, None, world.not_theirs(world.a), echoed) for url, (_status, html, echoed) in pages.items()}
    assert not {url: found for url, found in leaks.items() if found}
    assert not [url for url, (status, _html, _q) in pages.items() if status >= 500]
    visited = {resolve(urlsplit(url).path).view_name for url in pages}
    assert {"customers:list", "segments:list", "segments:detail", "campaigns:list",
            "automations:list", "insights:dashboard"} <= visited, sorted(visited)
    assert world.a.people[0].customer.email in pages[reverse("customers:list")][1]
    # The control: the owner's crawl meets B's customers.
    owner_pages = _crawl(_logged_in(world.owner), [])
    assert any(_leaks(html, None, world.b.people) for _status, html, _q in owner_pages.values())


def _named_urls_without_arguments(patterns=None, prefix: str = "") -> Iterator[str]:
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from _named_urls_without_arguments(p.url_patterns, f"{prefix}{p.namespace}:" if p.namespace else prefix)
        elif isinstance(p, URLPattern) and p.name:
            try:
                yield reverse(f"{prefix}{p.name}")
            except NoReverseMatch:
                continue  # takes arguments: reached through the crawl's links


def test_no_page_without_arguments_shows_another_representatives_customers(world):
    """Every page the URL configuration names, linked or not (an htmx fragment, a page of an
    app the navigation hides from representatives): forbidden, or without B's customers."""
    client = _logged_in(world.a.user)
    other = world.b.people[0].customer
    checked = []
    for url in sorted(set(_named_urls_without_arguments())):
        if url.startswith(SKIP_PREFIXES):
            continue
        for query in ({}, {"q": other.email}, {"q": other.last_name}):
            response = client.get(url, query)
            assert response.status_code < 500, url
            content = b"".join(response.streaming_content) if response.streaming else response.content
            leaks = _leaks(content.decode("utf-8", errors="replace"), None, world.not_theirs(world.a),
                           tuple(query.values()))
            assert not leaks, (url, query, leaks)
        checked.append(url)
    assert reverse("engagement:suppressions") in checked and reverse("customers:list") in checked


# --- the admin ----------------------------------------------------------------------------

def test_a_representative_who_is_staff_sees_no_other_customer_in_the_admin(world):
    """Every model registered in the admin, for a representative made staff and given every
    permission: closed (403), or filtered to their customers (core.admin.admin_close_to_sales_reps)."""
    rep = world.a.user
    rep.is_staff = True
    rep.save()
    rep.user_permissions.set(Permission.objects.all())
    client = _logged_in(rep)
    opened = []
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for query in ({}, {"q": world.b.people[0].customer.last_name}):
            response = client.get(url, query)
            assert response.status_code in (200, 403), (url, response.status_code)
            if response.status_code == 200:
                leaks = _leaks(response.content.decode(), None, world.not_theirs(world.a), tuple(query.values()))
                assert not leaks, (url, query, leaks)
                opened.append(model._meta.label)
    assert set(opened) == {"customers.Customer"}
    listing = client.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert all(p.customer.email in listing for p in world.a.people)
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:customers_customer_changelist") in index
    assert reverse("admin:sales_order_changelist") not in index
    # The same permissions on a marketing user open every page.
    rep.role = "marketing"
    rep.save()
    assert client.get(reverse("admin:sales_order_changelist")).status_code == 200
