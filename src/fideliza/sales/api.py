"""REST endpoints for orders and returns: thin, writes go through sales.services.

Orders of customers the caller cannot see are invisible too (404). `POST /orders` is
idempotent with an `Idempotency-Key`; without one, a second order with the same
(source, external_id) is a 409 that points at the existing order.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header, Query, Router, Schema
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ConfigDict, Field

from fideliza.accounts.auth import request_actor, request_principal, request_user, require_write
from fideliza.api_support import (
    CURSOR_DOC,
    DEFAULT_LIMIT,
    ERRORS_READ,
    ERRORS_WRITE,
    IDEMPOTENCY_HEADER_DOC,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_LIMIT,
    ConflictOut,
    CurrencyIn,
    DbId,
    ErrorItem,
    IsoDateTime,
    MoneyIn,
    MoneyOut,
    QuantityIn,
    QuantityOut,
    api_validation_error,
    cursor_pattern,
    django_error_items,
    dump,
    idempotent_response,
    paginate,
    render_json,
    replay_header_doc,
    sort_key,
    translate_error_items,
)
from fideliza.core.idempotency import (
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    idempotent_execute,
    request_fingerprint,
)
from fideliza.core.pagination import SortKey
from fideliza.customers.models import Customer
from fideliza.customers.selectors import customer_id_by_source, customers_visible_to

from .models import Order, OrderLine, Return, ReturnKind, ReturnLine, SalesChannel
from .services import MAX_LINES, OrderAlreadyRecorded, order_record, return_record

router = Router(tags=["orders"])

SORTS = (
    SortKey.on("-placed_at", "placed_at", descending=True, kind="datetime"),
    SortKey.on("placed_at", "placed_at", kind="datetime"),
    SortKey.on("id", "id"),
    SortKey.on("-id", "id", descending=True),
)
OrderSort = Literal["-placed_at", "placed_at", "id", "-id"]


# --- schemas -------------------------------------------------------------------------------

class OrderLineOut(Schema):
    line_no: int
    product_id: int | None
    sku: str
    description: str
    quantity: QuantityOut
    unit_price: MoneyOut
    unit_cost: MoneyOut | None
    discount: MoneyOut
    line_total: MoneyOut


class ReturnLineOut(Schema):
    line_no: int
    quantity: QuantityOut
    amount: MoneyOut

    @staticmethod
    def resolve_line_no(obj: ReturnLine) -> int:
        return obj.order_line.line_no


class ReturnOut(Schema):
    id: int
    order_id: int
    kind: str
    source: str
    external_id: str
    returned_at: datetime
    reason: str
    refund_amount: MoneyOut
    currency: str
    lines: list[ReturnLineOut]
    created_at: datetime


class OrderOut(Schema):
    id: int
    customer_id: int
    source: str
    external_id: str
    placed_at: datetime
    channel: str
    store: str | None = Field(description="Store code")
    currency: str
    subtotal: MoneyOut = Field(description="Sum of quantity × unit price")
    discount_total: MoneyOut
    total: MoneyOut = Field(description="subtotal − discount_total")
    cost_total: MoneyOut | None = Field(description="Null when some line's cost is unknown")
    margin: MoneyOut | None
    lines: list[OrderLineOut]
    returns: list[ReturnOut]
    created_at: datetime

    @staticmethod
    def resolve_store(obj: Order) -> str | None:
        return obj.store.code if obj.store is not None else None


class OrderPage(Schema):
    items: list[OrderOut]
    next: str | None = Field(description="Cursor of the next page; null on the last page")


class OrderLineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(None, max_length=64, description="An existing product's SKU")
    description: str | None = Field(None, max_length=200, description="Required when there is no SKU")
    quantity: QuantityIn
    unit_price: MoneyIn | None = Field(None, description="Default: the product's list price")
    unit_cost: MoneyIn | None = Field(None, description="Default: the product's unit cost")
    discount: MoneyIn = Field(default=Decimal(0), description="Line discount amount (not a percentage)")


class OrderIn(Schema):
    model_config = ConfigDict(extra="forbid")

    source: str = Field("api", min_length=1, max_length=64, description="The system the order comes from")
    external_id: str = Field(min_length=1, max_length=128, description="The order's id in `source`; unique per source")
    customer_id: DbId | None = Field(None, description="Fideliza customer id")
    customer_external_id: str | None = Field(
        None, max_length=128, description="Or: the customer's id in the same `source`")
    placed_at: IsoDateTime = Field(description="ISO 8601; without offset it is the business's local time")
    channel: SalesChannel = SalesChannel.STORE
    store: str | None = Field(None, max_length=32, description="Store code")
    currency: CurrencyIn | None = Field(None, description="ISO 4217; default the business's")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=MAX_LINES)


#: Most orders in one `POST /orders/batch`: a till's day in a few requests, each answered
#: well within a proxy's timeout.
MAX_BATCH = 500


class BatchOrderIn(OrderIn):
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=255, pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Optional, per order (e.g. a UUID): resending the same order with the same key "
                    "returns its first outcome and writes nothing (outcome `replayed`).")


class OrderBatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    orders: list[BatchOrderIn] = Field(min_length=1, max_length=MAX_BATCH)


class BatchOutcome(Schema):
    index: int = Field(description="Position of the order in the request, from 0")
    outcome: Literal["created", "replayed", "conflict", "invalid"]
    status: int = Field(description="What `POST /orders` would have answered for this order alone")
    order: OrderOut | None = Field(None, description="The order recorded (created or replayed)")
    conflict: ConflictOut | None = Field(None, description="The order already recorded with this source and id")
    errors: list[ErrorItem] | None = Field(
        None, description='Why it was refused; `loc` starts with ["body", "orders", index]')


class OrderBatchOut(Schema):
    created: int
    replayed: int
    conflicts: int
    invalid: int
    results: list[BatchOutcome]


class ReturnLineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    line_no: int = Field(ge=1, le=MAX_LINES, description="The original order line")
    quantity: QuantityIn
    amount: MoneyIn | None = Field(None, description="Refunded for this line; default its share of the line total")


class ReturnIn(Schema):
    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(None, min_length=1, max_length=64, description="Default: the order's source")
    external_id: str = Field(min_length=1, max_length=128, description="The return's id in `source`")
    kind: ReturnKind = ReturnKind.RETURN
    returned_at: IsoDateTime | None = Field(None, description="Default: now")
    reason: str = Field("", max_length=200)
    refund_amount: MoneyIn | None = Field(None, description="Default: the sum of the lines' amounts")
    lines: list[ReturnLineIn] = Field(default_factory=list, max_length=MAX_LINES)


class OrderFilters(Schema):
    customer: DbId | None = Field(None, description="Customer id")
    placed_from: IsoDateTime | None = Field(None, description="Inclusive")
    placed_to: IsoDateTime | None = Field(None, description="Exclusive")
    channel: SalesChannel | None = None
    store: str | None = Field(None, max_length=32, description="Store code")
    source: str | None = Field(None, max_length=64)
    external_id: str | None = Field(None, max_length=128)
    sort: OrderSort = "-placed_at"
    cursor: str | None = Field(None, pattern=cursor_pattern(SORTS), description=CURSOR_DOC)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


# --- helpers -------------------------------------------------------------------------------

def _visible_orders(request: HttpRequest) -> QuerySet[Order]:
    return Order.objects.filter(customer__in=customers_visible_to(request_user(request)))


def _with_relations(qs: QuerySet[Order]) -> QuerySet[Order]:
    return qs.select_related("store").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("line_no")),
        Prefetch("returns", queryset=Return.objects.order_by("returned_at", "id").prefetch_related(
            Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line").order_by("order_line__line_no")),
        )),
    )


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _customer(request: HttpRequest, payload: OrderIn) -> Customer:
    """The order's customer among those the caller sees; unknown and invisible look alike."""
    if (payload.customer_id is None) == (payload.customer_external_id is None):
        raise api_validation_error([(("body", "customer_id"),
                                     _("Indique customer_id o customer_external_id (uno de los dos)."),
                                     "missing")])
    visible = customers_visible_to(request_user(request))
    if payload.customer_id is not None:
        customer = visible.filter(pk=payload.customer_id).first()
        loc, value = "customer_id", str(payload.customer_id)
    else:
        owner = customer_id_by_source(payload.source, str(payload.customer_external_id))
        customer = visible.filter(pk=owner).first() if owner is not None else None
        loc, value = "customer_external_id", str(payload.customer_external_id)
    if customer is None:
        raise api_validation_error([(("body", loc), _("Cliente «%(value)s» desconocido.") % {"value": value},
                                     "not_found")])
    return customer


def _order_out(order_id: int) -> dict[str, Any]:
    return dump(OrderOut, _with_relations(Order.objects.filter(pk=order_id)).get())


# --- endpoints -----------------------------------------------------------------------------

@router.get("", response={200: OrderPage, **ERRORS_READ}, url_name="order_list")
def list_orders(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    """Orders of the customers visible to the caller, newest first by default."""
    qs = _visible_orders(request)
    if filters.customer is not None:
        qs = qs.filter(customer_id=filters.customer)
    if filters.placed_from:
        qs = qs.filter(placed_at__gte=_aware(filters.placed_from))
    if filters.placed_to:
        qs = qs.filter(placed_at__lt=_aware(filters.placed_to))
    if filters.channel:
        qs = qs.filter(channel=filters.channel.value)
    if filters.store:
        qs = qs.filter(store__code=filters.store)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.external_id:
        qs = qs.filter(external_id=filters.external_id)
    return paginate(_with_relations(qs), sort=sort_key(SORTS, filters.sort), sorts=SORTS, cursor=filters.cursor,
                    limit=filters.limit)


@router.post("", response={201: OrderOut, 409: ConflictOut, **ERRORS_WRITE}, url_name="order_create", openapi_extra=replay_header_doc())
def create_order(
    request: HttpRequest,
    payload: OrderIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DOC,
                                 pattern=IDEMPOTENCY_KEY_PATTERN),
) -> HttpResponse:
    """Record an order with its lines; totals are computed by the server (Decimal)."""
    require_write(request, "sales")

    def write() -> tuple[int, Any]:
        return 201, _order_out(_record(request, payload).pk)

    return idempotent_response(request, scope="orders.create", key=idempotency_key, write=write)


def _record(request: HttpRequest, payload: OrderIn) -> Order:
    return order_record(
        actor=request_actor(request), customer=_customer(request, payload), source=payload.source,
        external_id=payload.external_id, placed_at=payload.placed_at,
        lines=[line.model_dump() for line in payload.lines], channel=payload.channel.value,
        store=payload.store, currency=payload.currency,
    )


def _batch_item(request: HttpRequest, index: int, item: BatchOrderIn) -> dict[str, Any]:
    """One order of a batch, all or nothing on its own: its outcome, never an exception."""
    where = ["body", "orders", index]

    def errors(items: list[dict[str, Any]], status: int = 422) -> dict[str, Any]:
        for error in items:
            loc = list(error.get("loc", []))
            error["loc"] = where + (loc[1:] if loc[:1] == ["body"] else loc)
        return {"index": index, "outcome": "invalid", "status": status, "errors": items}

    def write() -> tuple[int, Any]:
        order = _record(request, item)
        # JSON-ready: the outcome is kept as JSON for replays.
        return 201, {"order": OrderOut.from_orm(_with_relations(Order.objects.filter(pk=order.pk)).get())
                     .model_dump(mode="json")}

    body = item.model_dump_json(exclude={"idempotency_key"}).encode()
    try:
        result = idempotent_execute(
            scope="orders.batch", principal=request_principal(request), key=item.idempotency_key,
            fingerprint=request_fingerprint(method="POST", path=request.path, body=body), write=write)
    except NinjaValidationError as exc:
        return errors(translate_error_items(exc.errors))
    except DjangoValidationError as exc:
        return errors(django_error_items(exc))
    except (IdempotencyKeyInvalid, IdempotencyKeyReused) as exc:
        kind = "idempotency_key_reused" if isinstance(exc, IdempotencyKeyReused) else "idempotency_key_invalid"
        return errors([{"loc": ["body", "idempotency_key"], "msg": str(exc), "type": kind}])
    except OrderAlreadyRecorded as exc:
        url = reverse("api:order_get", kwargs={"order_id": exc.order.pk})
        return {"index": index, "outcome": "conflict", "status": 409,
                "conflict": {"detail": str(exc), "id": exc.order.pk, "url": url}}
    except (DataError, OverflowError):
        return errors([{"loc": ["body"], "msg": _("Un valor está fuera del rango admitido."),
                        "type": "out_of_range"}])
    return {"index": index, "outcome": "replayed" if result.replayed else "created", "status": result.status,
            "order": result.body["order"]}


@router.post("/batch", response={200: OrderBatchOut, **ERRORS_WRITE}, url_name="order_batch")
def create_orders_batch(request: HttpRequest, payload: OrderBatchIn) -> HttpResponse:
    """Record up to 500 orders in one request (a till's backlog, a web shop's sync).

    Each order is recorded or refused on its own, all or nothing for that order, exactly as
    `POST /orders` would: one refused order (unknown customer or product, a duplicate, a
    date in the future…) does not stop the others. The reply lists every order's outcome in
    the request's order. A request that does not match the schema (a missing field, a
    wrong type) is refused whole with 422 and records nothing.
    """
    require_write(request, "sales")
    results = [_batch_item(request, i, item) for i, item in enumerate(payload.orders)]
    count = {kind: sum(r["outcome"] == kind for r in results) for kind in ("created", "replayed", "conflict", "invalid")}
    body = {"created": count["created"], "replayed": count["replayed"], "conflicts": count["conflict"],
            "invalid": count["invalid"], "results": results}
    # The orders are already JSON (as stored for replays): rendered as they are, not re-validated.
    return HttpResponse(render_json(request, body, 200), content_type="application/json; charset=utf-8")


@router.get("/{int:order_id}", response={200: OrderOut, **ERRORS_READ}, url_name="order_get")
def get_order(request: HttpRequest, order_id: DbId) -> Order:
    return get_object_or_404(_with_relations(_visible_orders(request)), pk=order_id)


@router.post("/{int:order_id}/returns", response={201: ReturnOut, 409: ConflictOut, **ERRORS_WRITE},
             url_name="order_return_create", openapi_extra=replay_header_doc())
def create_return(
    request: HttpRequest,
    order_id: DbId,
    payload: ReturnIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DOC,
                                 pattern=IDEMPOTENCY_KEY_PATTERN),
) -> HttpResponse:
    """Record a return of goods and/or a refund against the order (never more than was bought)."""
    require_write(request, "sales")
    order = get_object_or_404(_visible_orders(request), pk=order_id)

    def write() -> tuple[int, Any]:
        ret = return_record(
            actor=request_actor(request), order=order, external_id=payload.external_id,
            lines=[line.model_dump() for line in payload.lines], kind=payload.kind.value,
            source=payload.source, returned_at=payload.returned_at, reason=payload.reason,
            refund_amount=payload.refund_amount,
        )
        ret = (Return.objects.filter(pk=ret.pk)
               .prefetch_related(Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line")))
               .get())
        return 201, dump(ReturnOut, ret)

    return idempotent_response(request, scope="orders.return", key=idempotency_key, write=write)
