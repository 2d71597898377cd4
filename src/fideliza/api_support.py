"""Pieces every API router shares: money types, cursor pagination and the error shape.

Kept apart from `fideliza.api` (the NinjaAPI root) so that routers can import them
without importing the root, which imports the routers.

Error shape (documented in the OpenAPI description, used by every endpoint):
    {"detail": [{"loc": ["body", "lines", 0, "quantity"], "msg": "…", "type": "…"}]}
for invalid input (422), and {"detail": "…"} for everything else (401, 403, 404, 409).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from fideliza.accounts.auth import request_principal
from fideliza.core.idempotency import (
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    idempotent_execute,
    request_fingerprint,
)
from fideliza.core.money import ISO_4217, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, quantize_money
from fideliza.core.pagination import InvalidCursor, SortKey, api_cursor_pattern, cursor_page

# --- money -------------------------------------------------------------------------------

MONEY_JSON_SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": r"^-?[0-9]+\.[0-9]{2}$",
    "examples": ["12.50"],
    "description": "Decimal amount as a string with exactly 2 decimals (never a float).",
}

# Output: always a string with two decimals ("12.50"), so no client parses money as a float.
MoneyOut = Annotated[
    Decimal,
    PlainSerializer(lambda v: str(quantize_money(v)), return_type=str, when_used="always"),
    WithJsonSchema(MONEY_JSON_SCHEMA),
]
QuantityOut = Annotated[
    Decimal,
    PlainSerializer(lambda v: _plain_decimal(v), return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "format": "decimal", "examples": ["2", "0.75"]}),
]

# Input: a JSON number or a string; the request parser reads JSON numbers as Decimal, so
# 0.1 arrives as Decimal("0.1") and not as the float 0.1000000000000000055…
#
# The OpenAPI document says exactly what is accepted (Schemathesis holds the API to it):
# a number on the grid of the allowed decimals within the bounds, or a string of plain
# digits with at most that many decimals. Python's Decimal would also read " 1", "+1",
# "1_000", "1e2" or Arabic-Indic digits from a string; those are refused, as documented.

def decimal_input(*, max_digits: int, decimal_places: int, ge: Decimal | int | None = None,
                  gt: Decimal | int | None = None, le: Decimal | None = None, pattern: str | None = None,
                  examples: Sequence[str] = ()) -> Any:
    """A Decimal input type whose JSON schema matches its validation."""
    whole = max_digits - decimal_places
    step = Decimal(1).scaleb(-decimal_places)
    top = Decimal(10) ** whole - step
    maximum = top if le is None else min(top, Decimal(le))
    if pattern is None:
        sign = "-?" if ge is None and gt is None else ""
        pattern = rf"^{sign}[0-9]{{1,{whole}}}(\.[0-9]{{1,{decimal_places}}})?$"
    number: dict[str, Any] = {"type": "number", "multipleOf": float(step), "maximum": float(maximum)}
    text: dict[str, Any] = {"type": "string", "pattern": pattern}
    if ge is not None:
        number["minimum"] = float(ge)
    if gt is not None:
        number["exclusiveMinimum"] = float(gt)
        if Decimal(gt) == 0:
            text["not"] = {"pattern": r"^0+(\.0+)?$"}  # zero, however it is spelled
    json_schema: dict[str, Any] = {"anyOf": [number, text], "format": "decimal"}
    if examples:
        json_schema["examples"] = list(examples)
    compiled = re.compile(pattern)

    def plain_text(value: Any) -> Any:
        if isinstance(value, str) and not compiled.fullmatch(value):
            raise PydanticCustomError("decimal_parsing", "Input should be a valid decimal")
        return value

    return Annotated[
        Decimal,
        BeforeValidator(plain_text),
        Field(max_digits=max_digits, decimal_places=decimal_places, ge=ge, gt=gt, le=le),
        WithJsonSchema(json_schema),
    ]


def decimal_query(*, max_digits: int, decimal_places: int) -> Any:
    """A signed Decimal in a query string: the same plain-digits text, documented as a pattern."""
    whole = max_digits - decimal_places
    pattern = rf"^-?[0-9]{{1,{whole}}}(\.[0-9]{{1,{decimal_places}}})?$"
    compiled = re.compile(pattern)

    def plain_text(value: Any) -> Any:
        if isinstance(value, str) and not compiled.fullmatch(value):
            raise PydanticCustomError("decimal_parsing", "Input should be a valid decimal")
        return value

    return Annotated[
        Decimal,
        BeforeValidator(plain_text),
        Field(max_digits=max_digits, decimal_places=decimal_places),
        WithJsonSchema({"type": "string", "format": "decimal", "pattern": pattern, "examples": ["12.50"]}),
    ]


MoneyIn = decimal_input(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, ge=0,
                        examples=["12.50"])
MoneyQuery = decimal_query(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
QuantityIn = decimal_input(max_digits=12, decimal_places=3, gt=0, examples=["1", "0.75"])
# An ISO 8601 date-time as text. Pydantic would also read a number as a Unix timestamp
# (`0.5` → 1970-01-01T00:00:00.5Z), which the document does not allow. An RFC 3339 value
# (with offset) is read as such; without an offset it is the business's local time.
_ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?")


def _iso_datetime_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATETIME.fullmatch(value):
        raise PydanticCustomError("datetime_parsing", "Input should be a valid datetime")
    return value


def _in_utc(value: datetime) -> datetime:
    # RFC 3339 allows any offset up to ±23:59; PostgreSQL refuses one beyond ±15:59.
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01 with a positive offset: out of Python's range in UTC
        return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime_text), AfterValidator(_in_utc)]
# An ISO 4217 currency code, as listed in the document: upper case, or lower case (stored
# upper case).
CURRENCY_CODES = sorted(ISO_4217) + sorted(code.lower() for code in ISO_4217)
_CURRENCY_CODES = frozenset(CURRENCY_CODES)


def _currency_code(value: Any) -> Any:
    if isinstance(value, str) and value not in _CURRENCY_CODES:
        message = _("«%(value)s» no es un código de moneda ISO 4217 (por ejemplo EUR).") % {"value": value[:10]}
        raise PydanticCustomError("currency", message.replace("{", "{{").replace("}", "}}"))
    return value


CurrencyIn = Annotated[str, BeforeValidator(_currency_code),
                       WithJsonSchema({"type": "string", "enum": CURRENCY_CODES, "description": "ISO 4217"})]


# Ids fit a 64-bit column; larger numbers are a 422, not a database overflow.
DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]


def _plain_decimal(value: Decimal) -> str:
    """'2.000' → '2', '0.750' → '0.75' (quantities are stored with three decimals)."""
    text = format(value.normalize(), "f")
    return text


# --- cursor pagination -------------------------------------------------------------------

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


CURSOR_DOC = "The `next` of the previous page; it continues that page's ordering."


def cursor_pattern(keys: Sequence[SortKey]) -> str:
    """The pattern of the cursors of a list ordered by one of `keys` (for its `cursor` field)."""
    return "^(?:" + "|".join(api_cursor_pattern(key) for key in keys) + ")$"


def paginate(qs: QuerySet, *, sort: SortKey, cursor: str | None, limit: int,
             sorts: Sequence[SortKey] = ()) -> dict[str, Any]:
    """One page of `qs` (`core.pagination.cursor_page`): {"items": [...], "next": cursor or
    None}, in `sort` order or in the order the cursor continues (one of `sorts`); a 422 when
    `cursor` is not a cursor of that ordering (the request schema matched it already)."""
    try:
        return cursor_page(qs, sort=sort, cursor=cursor, limit=limit, sorts=sorts)
    except InvalidCursor:
        raise api_validation_error(
            [(("query", "cursor"), _("El cursor no es válido; use el valor «next» de la respuesta anterior."),
              "cursor_invalid")]
        ) from None


def sort_key(keys: Sequence[SortKey], name: str) -> SortKey:
    for key in keys:
        if key.name == name:
            return key
    raise api_validation_error([(("query", "sort"), _("Orden no válido."), "enum")])


# --- errors ------------------------------------------------------------------------------

def api_validation_error(errors: Iterable[tuple[Sequence[Any], str, str]]) -> NinjaValidationError:
    """A 422 with our error shape, from (loc, msg, type) triples."""
    return NinjaValidationError(
        [{"loc": list(loc), "msg": msg, "type": kind, "translated": True} for loc, msg, kind in errors]
    )


def _loc_from_key(key: str) -> list[Any]:
    """'lines.0.quantity' → ['body', 'lines', 0, 'quantity']."""
    if key == NON_FIELD_ERRORS:
        return ["body"]
    return ["body", *(int(part) if part.isdigit() else part for part in key.split("."))]


def django_error_items(exc: DjangoValidationError) -> list[dict[str, Any]]:
    """Field-level items from a Django ValidationError raised by a service or full_clean()."""
    items: list[dict[str, Any]] = []
    if hasattr(exc, "error_dict"):
        for key, errors in exc.error_dict.items():
            for error in errors:
                for message in error:  # ValidationError iterates its formatted messages
                    items.append({"loc": _loc_from_key(key), "msg": str(message),
                                  "type": error.code or "invalid"})
    else:
        for error in exc.error_list:
            for message in error:
                items.append({"loc": ["body"], "msg": str(message), "type": error.code or "invalid"})
    return items


def _pydantic_messages() -> dict[str, str]:
    # Built per call: gettext must run in the request's language.
    return {
        "missing": _("Este campo es obligatorio."),
        "extra_forbidden": _("Campo desconocido."),
        "string_type": _("Debe ser un texto."),
        "string_too_short": _("Debe tener al menos %(min_length)s caracteres."),
        "string_too_long": _("No puede tener más de %(max_length)s caracteres."),
        "string_pattern_mismatch": _("El formato no es válido."),
        "int_type": _("Debe ser un número entero."),
        "int_parsing": _("Debe ser un número entero."),
        "int_from_float": _("Debe ser un número entero."),
        "int_parsing_size": _("El número es demasiado grande."),
        "float_type": _("Debe ser un número."),
        "float_parsing": _("Debe ser un número."),
        "bool_type": _("Debe ser verdadero o falso."),
        "bool_parsing": _("Debe ser verdadero o falso."),
        "decimal_type": _("Debe ser un número decimal (por ejemplo \"12.50\")."),
        "decimal_parsing": _("Debe ser un número decimal (por ejemplo \"12.50\"); use punto como separador decimal."),
        "decimal_max_digits": _("Número demasiado grande: no más de %(max_digits)s cifras en total."),
        "decimal_max_places": _("No más de %(decimal_places)s decimales."),
        "decimal_whole_digits": _("Número demasiado grande: no más de %(whole_digits)s cifras enteras."),
        "finite_number": _("Debe ser un número finito."),
        "greater_than": _("Debe ser mayor que %(gt)s."),
        "greater_than_equal": _("Debe ser mayor o igual que %(ge)s."),
        "less_than": _("Debe ser menor que %(lt)s."),
        "less_than_equal": _("Debe ser menor o igual que %(le)s."),
        "date_type": _("Debe ser una fecha (AAAA-MM-DD)."),
        "date_parsing": _("Debe ser una fecha (AAAA-MM-DD)."),
        "date_from_datetime_parsing": _("Debe ser una fecha (AAAA-MM-DD)."),
        "date_from_datetime_inexact": _("Debe ser una fecha sin hora (AAAA-MM-DD)."),
        "datetime_type": _("Debe ser una fecha y hora ISO 8601 (AAAA-MM-DDTHH:MM:SS+01:00)."),
        "datetime_parsing": _("Debe ser una fecha y hora ISO 8601 (AAAA-MM-DDTHH:MM:SS+01:00)."),
        "datetime_from_date_parsing": _("Debe ser una fecha y hora ISO 8601 (AAAA-MM-DDTHH:MM:SS+01:00)."),
        "enum": _("Valor no permitido; valores posibles: %(expected)s."),
        "literal_error": _("Valor no permitido; valores posibles: %(expected)s."),
        "list_type": _("Debe ser una lista."),
        "too_short": _("Debe tener al menos %(min_length)s elementos."),
        "too_long": _("No puede tener más de %(max_length)s elementos."),
        "dict_type": _("Debe ser un objeto JSON."),
        "model_type": _("Debe ser un objeto JSON."),
        "model_attributes_type": _("Debe ser un objeto JSON."),
        "json_invalid": _("El cuerpo de la petición no es JSON válido."),
        "value_error": "%(error)s",
    }


def translate_error_items(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ninja/pydantic error items → our shape, with messages in the request's language.

    Pydantic only speaks English; its error *types* are stable, so each known type gets a
    translated message (unknown types keep pydantic's text rather than failing).
    """
    messages = _pydantic_messages()
    out = []
    for item in items:
        loc = list(item.get("loc", ()))
        # Ninja puts the body parameter's name after "body"; every body param here is
        # called "payload", which says nothing to the client.
        if len(loc) >= 2 and loc[0] == "body" and loc[1] == "payload":
            loc = ["body", *loc[2:]]
        # Pydantic adds the union member it tried ("str-enum[Channel]", "literal['']"):
        # noise for a client, and no field name contains a bracket.
        loc = [part for part in loc if not (isinstance(part, str) and "[" in part)]
        kind = str(item.get("type", "invalid"))
        msg = str(item.get("msg", ""))
        if not item.get("translated") and kind in messages:
            ctx = {k: _ctx_text(v) for k, v in (item.get("ctx") or {}).items()}
            try:
                msg = messages[kind] % ctx if ctx or "%(" in messages[kind] else messages[kind]
            except (KeyError, TypeError, ValueError):
                msg = messages[kind].split("%(")[0].rstrip(" :;") or msg
        if kind == "value_error" and msg.startswith("Value error, "):
            msg = msg.removeprefix("Value error, ")
        out.append({"loc": loc, "msg": msg, "type": kind})
    return out


def _ctx_text(value: Any) -> str:
    return str(value)


# --- response schemas of errors (for the OpenAPI document) -------------------------------

class ErrorOut(Schema):
    detail: str


class ErrorItem(Schema):
    loc: list[str | int] = Field(description='Where: ["body", "lines", 0, "quantity"], ["query", "cursor"], …')
    msg: str = Field(description="What is wrong, in the request's language (Accept-Language; Spanish by default).")
    type: str = Field(description="Stable machine-readable error type (pydantic's types plus ours).")


class ValidationErrorOut(Schema):
    detail: list[ErrorItem]


class ConflictOut(Schema):
    detail: str
    id: int = Field(description="The existing object's id.")
    url: str = Field(description="Where to read the existing object.")


ERRORS_READ: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}
ERRORS_WRITE: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}


# --- idempotent writes -------------------------------------------------------------------

# 1 to 255 visible ASCII characters, spaces inside only: what `core.idempotency` keeps,
# spelled so the document says it (a UUID is the usual key).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"

IDEMPOTENCY_HEADER_DOC = (
    "Optional. A unique key per operation (e.g. a UUID). A retry with the same key and the same "
    "body returns the first response unchanged, with the header `Idempotent-Replayed: true`; "
    "the same key with a different body is refused with 422 (type `idempotency_key_reused`)."
)


def replay_header_doc(status: int = 201) -> dict[str, Any]:
    """openapi_extra documenting the replay header on an idempotent write's success."""
    # Ninja keys responses by int status; a str key would add a second, broken entry.
    return {"responses": {status: {"headers": {"Idempotent-Replayed": {
        "description": "`true` when this is the stored response of an earlier request with the same "
                       "Idempotency-Key (nothing was written again).",
        "schema": {"type": "string", "enum": ["true"]},
    }}}}}


def render_json(request: HttpRequest, data: Any, status: int) -> str:
    """The same bytes ninja's default renderer would produce for `data`."""
    return JSONRenderer().render(request, data, response_status=status)


def idempotent_response(
    request: HttpRequest,
    *,
    scope: str,
    key: str | None,
    write: Callable[[], tuple[int, Any]],
) -> HttpResponse:
    """Run `write` (→ status, JSON-able body) once per Idempotency-Key and respond.

    The stored body is the exact JSON text of the first response, so a replay is byte for
    byte the same response.
    """
    fingerprint = request_fingerprint(method=request.method or "POST", path=request.path, body=request.body)

    def run() -> tuple[int, str]:
        status, data = write()
        return status, render_json(request, data, status)

    try:
        result = idempotent_execute(scope=scope, principal=request_principal(request), key=key,
                                    fingerprint=fingerprint, write=run)
    except IdempotencyKeyInvalid as exc:
        raise api_validation_error([(("header", "Idempotency-Key"), str(exc), "idempotency_key_invalid")]) from None
    except IdempotencyKeyReused as exc:
        raise api_validation_error([(("header", "Idempotency-Key"), str(exc), "idempotency_key_reused")]) from None
    response = HttpResponse(result.body, status=result.status, content_type="application/json; charset=utf-8")
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def dump(schema: type[Schema], obj: Any) -> dict[str, Any]:
    """`obj` shaped by an output schema, as ninja would send it."""
    return schema.from_orm(obj).model_dump()
