"""The REST API root: OpenAPI 3 at /api/docs. Each domain app contributes a router."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from fideliza.accounts.api import router as accounts_router
from fideliza.accounts.auth import api_auth
from fideliza.api_support import django_error_items, translate_error_items
from fideliza.catalog.api import router as catalog_router
from fideliza.customers.api import router as customers_router
from fideliza.sales.api import router as sales_router
from fideliza.sales.services import OrderAlreadyRecorded, ReturnAlreadyRecorded

DESCRIPTION = """
Customers, products and orders for points of sale, web shops and other integrations.

**Authentication.** Send an API token (created by the owner under *Cuenta → Tokens de API*,
or with `fideliza create_api_token`) as `Authorization: Bearer <token>` (`Token <token>` is
accepted too). A token acts as its user: the user's role decides what it may do. Owner and
marketing read and write everything; support reads everything and edits customers; a sales
representative sees and edits only the customers assigned to them (anyone else's customer,
and that customer's orders, answer 404). The web UI's logged-in session also works (with the
CSRF token on writes).

**Money** is always a string with two decimals (`"12.50"`), never a float. In requests, send
a string of plain digits (`"12.5"`, at most the field's decimals) or a JSON number; numbers are
read as exact decimals. Request bodies are JSON objects; dates and times are ISO 8601 text.

**Lists** return `{"items": [...], "next": "<cursor>"}`. Pass `next` back as `cursor` to get
the following page; `next` is null on the last page. Cursors stay valid while rows are added,
and a cursor continues the ordering it came from.

**Idempotency.** `POST` writes accept an `Idempotency-Key` header (e.g. a UUID per
operation). A retry with the same key and the same body returns the first response unchanged
plus `Idempotent-Replayed: true`; the same key with a different body is refused with 422
(`type: idempotency_key_reused`). Keys are kept for 72 hours by default. Orders are also unique
per (`source`, `external_id`): posting one again without the key answers 409 with the
existing order's `id` and `url`.

**Errors.** Invalid input answers **422** with field-level messages:
`{"detail": [{"loc": ["body", "lines", 0, "quantity"], "msg": "…", "type": "greater_than"}]}`
(`loc` starts with `body`, `query`, `path` or `header`). Other errors answer
`{"detail": "…"}`: 401 (no or bad credentials), 403 (the role may not do this), 404 (not found
or not visible, and any /api/ path that is not an operation), 405 (a method the path does not
have, with `Allow`), 409 (already recorded). Every error under /api/ is JSON. Messages follow
`Accept-Language` (`es` by default, `en`). Every operation's document lists its error statuses,
and the test suite holds the API to this document with Schemathesis.
""".strip()


def with_request_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Speak the client's language (language cookie, then Accept-Language, else Spanish).

    LocaleMiddleware cannot do it for /api/: with i18n_patterns(prefix_default_language=False)
    it reads every unprefixed path as the default language and ignores Accept-Language.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = translation.get_language_from_request(request, check_path=False)
        with translation.override(language):
            nul_in = ["path"] if "\x00" in request.path else next(
                (["query", key] for key, values in request.GET.lists() if _contains_nul([key, *values])), None)
            response = _nul_refused(request, nul_in) if nul_in else view(request, *args, **kwargs)
            if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
                # Ninja answers a method no operation of the path has with Django's plain
                # "Method not allowed": the API's errors are JSON, with the Allow header kept.
                allowed = response["Allow"]
                response = JsonResponse({"detail": _("Método no permitido.")}, status=405)
                response["Allow"] = allowed
        response["Content-Language"] = language
        return response

    return wrapped


# PostgreSQL's text cannot hold U+0000, and no field of a customer, product or order has a
# use for it: the API refuses it in every request (body, query, path) and says so in the
# document, as a pattern on every free-text request string.
NO_NUL_PATTERN = "^[^\\x00]*$"


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


def _nul_refused(request: HttpRequest, loc: list[Any]) -> HttpResponse:
    return api.create_response(request, {"detail": [{
        "loc": loc, "msg": _("Un texto no puede contener el carácter nulo (U+0000)."),
        "type": "string_pattern_mismatch"}]}, status=422)


# Any JSON value without U+0000 in a text or a key: what an open object (undeclared
# properties, free-form rules) may hold.
NO_NUL_JSON = {"anyOf": [
    {"type": "string", "pattern": NO_NUL_PATTERN}, {"type": "number"}, {"type": "boolean"}, {"type": "null"},
    {"type": "array", "items": {"$ref": "#/components/schemas/JsonWithoutNul"}},
    {"type": "object", "propertyNames": {"pattern": NO_NUL_PATTERN},
     "additionalProperties": {"$ref": "#/components/schemas/JsonWithoutNul"}},
]}


def _forbid_nul_in_strings(node: Any) -> None:
    """Add NO_NUL_PATTERN to every free-text string schema under `node`, and close open
    objects to values and keys holding U+0000 (in place)."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not ({"pattern", "enum", "const", "format"} & set(node)):
            node["pattern"] = NO_NUL_PATTERN
        if node.get("type") == "object" and node.get("additionalProperties", True) not in (False,):
            extra = node.get("additionalProperties", True)
            if extra is True or extra == {}:
                node["additionalProperties"] = {"$ref": "#/components/schemas/JsonWithoutNul"}
            node.setdefault("propertyNames", {"type": "string"})  # an existing enum is kept
        for value in node.values():
            _forbid_nul_in_strings(value)
    elif isinstance(node, list):
        for value in node:
            _forbid_nul_in_strings(value)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


class FidelizaAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        components = schema.get("components", {}).get("schemas", {})
        request_side: set[str] = set()
        todo = set()
        for path in schema["paths"].values():
            for operation in path.values():
                _forbid_nul_in_strings(operation.get("parameters", []))
                todo |= _refs(operation.get("requestBody", {}))
        while todo:  # the request bodies' components, and the ones they refer to
            name = todo.pop()
            if name not in request_side and name in components:
                request_side.add(name)
                todo |= _refs(components[name])
        for name in request_side:
            _forbid_nul_in_strings(components[name])
        components["JsonWithoutNul"] = NO_NUL_JSON
        return schema

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        return [
            URLPattern(p.pattern, with_request_language(p.callback), p.default_args, p.name)
            if isinstance(p, URLPattern) else p
            for p in super()._get_urls()
        ]


class BodyNotAnObject(ValueError):
    """A JSON body that is not an object (every request body of this API is one)."""


class BodyHasNul(ValueError):
    """A JSON body with U+0000 in a text (see NO_NUL_PATTERN)."""


class DecimalJSONParser(Parser):
    """JSON bodies with numbers read as Decimal: 0.1 stays 0.1, not 0.1000000000000000055.

    A body must be a JSON object, as the document says: ninja's schemas read any other value
    (`[null, null]`, `"hello"`) by attribute, so a schema whose fields are all optional took
    it as an empty object and answered 200.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body, parse_float=Decimal)
        if not isinstance(data, dict):
            raise BodyNotAnObject(type(data).__name__)
        if _contains_nul(data):
            raise BodyHasNul()
        return data


api = FidelizaAPI(
    title="Fideliza API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=api_auth(),
    parser=DecimalJSONParser(),
    # Swagger UI from django-ninja's own static files ("ninja" is an installed app), not a
    # CDN: /api/docs works offline and under the Content-Security-Policy. No validator badge
    # (it would send the schema's URL to an outside service).
    docs=Swagger(settings={"validatorUrl": None}),
)

api.add_router("/v1/", accounts_router)
api.add_router("/v1/customers", customers_router)
api.add_router("/v1/products", catalog_router)
api.add_router("/v1/orders", sales_router)


# --- errors: every failure has the documented shape, and bad input is never a 500 ------------

def _validation(request: HttpRequest, items: list[dict[str, Any]]) -> HttpResponse:
    return api.create_response(request, {"detail": items}, status=422)


@api.exception_handler(NinjaValidationError)
def on_ninja_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return _validation(request, translate_error_items(exc.errors))


@api.exception_handler(DjangoValidationError)
def on_django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return _validation(request, django_error_items(exc))


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request,
        {"detail": _("Credenciales ausentes o no válidas: envíe «Authorization: Bearer <token>».")},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="fideliza"'
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = str(exc)
    if exc.status_code == 400 and isinstance(exc.__cause__, BodyHasNul):
        return _nul_refused(request, ["body"])
    if exc.status_code == 400 and isinstance(exc.__cause__, BodyNotAnObject):
        return _validation(request, [{"loc": ["body"], "msg": _("Debe ser un objeto JSON."), "type": "model_type"}])
    if exc.status_code == 400 and message.startswith("Cannot parse request body"):
        # Malformed JSON is invalid input like any other: the same 422 shape.
        return _validation(request, [{"loc": ["body"], "msg": _("El cuerpo de la petición no es JSON válido."),
                                      "type": "json_invalid"}])
    if exc.status_code == 403 and message.startswith("CSRF"):
        message = _("Falta el token CSRF (cabecera X-CSRFToken) en una petición con sesión.")
    return api.create_response(request, {"detail": message}, status=exc.status_code)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": _("No encontrado.")}, status=404)


@csrf_exempt
@with_request_language
def api_not_found(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    """Any /api/ path no operation matches (an unknown path, a path id that is not a number):
    the JSON 404 of the API, not Django's HTML page. Routed after `api.urls` in the URLconf."""
    return JsonResponse({"detail": _("No encontrado.")}, status=404)


@api.exception_handler(OrderAlreadyRecorded)
def on_order_exists(request: HttpRequest, exc: OrderAlreadyRecorded) -> HttpResponse:
    url = reverse("api:order_get", kwargs={"order_id": exc.order.pk})
    return api.create_response(request, {"detail": str(exc), "id": exc.order.pk, "url": url}, status=409)


@api.exception_handler(ReturnAlreadyRecorded)
def on_return_exists(request: HttpRequest, exc: ReturnAlreadyRecorded) -> HttpResponse:
    url = reverse("api:order_get", kwargs={"order_id": exc.ret.order_id})
    return api.create_response(request, {"detail": str(exc), "id": exc.ret.pk, "url": url}, status=409)


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def on_out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A number the database cannot hold (e.g. an id beyond 64 bits) that slipped past
    # the schemas' bounds: still the client's input, so a 422 and not a 500.
    return _validation(request, [{"loc": ["body"], "msg": _("Un valor está fuera del rango admitido."),
                                  "type": "out_of_range"}])

api.add_router("/v1/insights", "fideliza.insights.api.router")  # analytics snapshot (insights app)
api.add_router("/v1/loyalty", "fideliza.loyalty.api.router")
api.add_router("/v1/segments", "fideliza.segments.api.router")
api.add_router("/v1/messages", "fideliza.engagement.api.router")  # outbox, consent, suppression
api.add_router("/v1/campaigns", "fideliza.campaigns.api.router")  # campaigns, templates
api.add_router("/v1/automations", "fideliza.automations.api.router")
api.add_router("/v1/followups", "fideliza.followups.api.router")  # follow-ups (issue 15)
api.add_router("/v1/interactions", "fideliza.interactions.api.router")  # interaction log (issue 15)
api.add_router("/v1/complaints", "fideliza.complaints.api.router")  # complaints book (issue 16)
api.add_router("/v1/events", "fideliza.events.api.router")  # events and invitations (issue 15)
api.add_router("/v1/surveys", "fideliza.surveys.api.router")  # surveys, results, responses (issue 16)
