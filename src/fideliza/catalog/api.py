"""REST endpoints for products: thin, writes go through catalog.services."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Header, Query, Router, Schema
from pydantic import ConfigDict, Field, StrictBool

from fideliza.accounts.auth import require_write
from fideliza.api_support import (
    CURSOR_DOC,
    DEFAULT_LIMIT,
    ERRORS_READ,
    ERRORS_WRITE,
    IDEMPOTENCY_HEADER_DOC,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_LIMIT,
    CurrencyIn,
    DbId,
    MoneyIn,
    MoneyOut,
    api_validation_error,
    cursor_pattern,
    dump,
    idempotent_response,
    paginate,
    replay_header_doc,
    sort_key,
)
from fideliza.core.money import ISO_4217
from fideliza.core.pagination import SortKey

from .models import Category, Product
from .services import product_create, product_update

router = Router(tags=["products"])

SORTS = (
    SortKey.on("id", "id"),
    SortKey.on("-id", "id", descending=True),
    SortKey.on("sku", "sku", kind="str"),
    SortKey.on("updated_at", "updated_at", kind="datetime"),
)
ProductSort = Literal["id", "-id", "sku", "updated_at"]


class CategoryOut(Schema):
    id: int
    name: str
    path: str = Field(description='Full path, e.g. "Herramientas › Eléctricas"')

    @staticmethod
    def resolve_path(obj: Category) -> str:
        return obj.full_path


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category: CategoryOut | None
    list_price: MoneyOut
    unit_cost: MoneyOut | None
    unit_margin: MoneyOut | None = Field(description="list_price − unit_cost; null when the cost is unknown")
    currency: str
    is_active: bool
    path_level: str = Field(description="Relationship-path level: entry, value, main, premium or empty")
    created_at: datetime
    updated_at: datetime


class ProductPage(Schema):
    items: list[ProductOut]
    next: str | None = Field(description="Cursor of the next page; null on the last page")


class _ProductFields(Schema):
    model_config = ConfigDict(extra="forbid")

    # Fields that may be left out but not sent as null: typed without None (the default is
    # never validated), so the document does not call them nullable.
    name: str = Field(None, min_length=1, max_length=200)  # type: ignore[assignment]
    category: str | None = Field(None, max_length=500,
                                 description='Category path, levels separated by ">" (created if missing); null for none')
    list_price: MoneyIn = None
    unit_cost: MoneyIn | None = None
    currency: CurrencyIn = None  # type: ignore[assignment]  # may be left out, not null
    is_active: StrictBool = None  # type: ignore[assignment]  # JSON true/false only, not 0/1/"yes"
    path_level: Literal["", "entry", "value", "main", "premium"] | None = Field(
        None, description="Relationship-path level; empty for none")


class ProductCreateIn(_ProductFields):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    list_price: MoneyIn


class ProductPatchIn(_ProductFields):
    sku: str = Field(None, min_length=1, max_length=64)  # type: ignore[assignment]


class ProductFilters(Schema):
    sku: str | None = Field(None, max_length=64)
    q: str | None = Field(None, max_length=200, description="Searched in the name and SKU")
    category: DbId | None = Field(None, description="Category id; includes its subcategories")
    active: bool | None = None
    sort: ProductSort = "id"
    cursor: str | None = Field(None, pattern=cursor_pattern(SORTS), description=CURSOR_DOC)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


def _category_and_descendants(category_id: int) -> list[int]:
    children: dict[int | None, list[int]] = {}
    for pk, parent in Category.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, stack = [], [category_id]
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.append(node)
        stack.extend(children.get(node, []))
    return found


def _product_data(payload: Schema, *, partial: bool) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=partial)
    if not partial:
        data = {k: v for k, v in data.items() if v is not None}
    for key, value in list(data.items()):
        if hasattr(value, "value"):
            data[key] = value.value
        if key == "path_level" and value is None:
            data[key] = ""
        if key in ("name", "sku", "list_price", "is_active", "currency") and value is None:
            raise api_validation_error([(("body", key), _("Este campo no puede ser nulo."), "null")])
    if data.get("category") == "":
        data["category"] = None
    if "currency" in data:
        data["currency"] = data["currency"].strip().upper()
        if data["currency"] not in ISO_4217:
            raise api_validation_error([(("body", "currency"),
                                         _("«%(value)s» no es un código de moneda ISO 4217 (por ejemplo EUR).")
                                         % {"value": data["currency"]}, "currency")])
    return data


def _sku_taken(sku: str) -> Exception:
    return api_validation_error([(("body", "sku"), _("Ya existe un producto con el SKU «%(sku)s».") % {"sku": sku},
                                  "unique")])


def _with_relations(qs: QuerySet[Product]) -> QuerySet[Product]:
    return qs.select_related("category__parent__parent")


@router.get("", response={200: ProductPage, **ERRORS_READ}, url_name="product_list")
def list_products(request: HttpRequest, filters: Query[ProductFilters]) -> dict[str, Any]:
    qs = Product.objects.all()
    if filters.sku:
        qs = qs.filter(sku=filters.sku.strip())
    if filters.q:
        for word in filters.q.split()[:8]:
            qs = qs.filter(Q(name__icontains=word) | Q(sku__icontains=word))
    if filters.category is not None:
        qs = qs.filter(category_id__in=_category_and_descendants(filters.category))
    if filters.active is not None:
        qs = qs.filter(is_active=filters.active)
    return paginate(_with_relations(qs), sort=sort_key(SORTS, filters.sort), sorts=SORTS, cursor=filters.cursor,
                    limit=filters.limit)


@router.post("", response={201: ProductOut, **ERRORS_WRITE}, url_name="product_create", openapi_extra=replay_header_doc())
def create_product(
    request: HttpRequest,
    payload: ProductCreateIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DOC,
                                 pattern=IDEMPOTENCY_KEY_PATTERN),
) -> HttpResponse:
    """Create a product (owner and marketing). The SKU is unique."""
    require_write(request, "catalog")

    def write() -> tuple[int, Any]:
        data = _product_data(payload, partial=False)
        try:
            with transaction.atomic():
                product = product_create(data=data)
        except IntegrityError:
            # Two creates of one SKU raced past full_clean's uniqueness check.
            raise _sku_taken(data["sku"]) from None
        return 201, dump(ProductOut, _with_relations(Product.objects.filter(pk=product.pk)).get())

    return idempotent_response(request, scope="products.create", key=idempotency_key, write=write)


@router.get("/{int:product_id}", response={200: ProductOut, **ERRORS_READ}, url_name="product_get")
def get_product(request: HttpRequest, product_id: DbId) -> Product:
    return get_object_or_404(_with_relations(Product.objects.all()), pk=product_id)


@router.patch("/{int:product_id}", response={200: ProductOut, **ERRORS_WRITE}, url_name="product_update")
def update_product(request: HttpRequest, product_id: DbId, payload: ProductPatchIn) -> Product:
    """Change the fields sent (owner and marketing)."""
    require_write(request, "catalog")
    data = _product_data(payload, partial=True)
    try:
        with transaction.atomic():
            product = get_object_or_404(Product.objects.select_for_update(), pk=product_id)
            product_update(product=product, data=data)
    except IntegrityError:
        raise _sku_taken(data.get("sku", "")) from None
    return _with_relations(Product.objects.filter(pk=product_id)).get()
