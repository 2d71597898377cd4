"""Writes for the catalog: categories and products.

The API, the web, the importer and the demo call these. Single-product writes validate
with `full_clean()`; `product_upsert_many` is the set-based path for imports (thousands of
rows, a handful of queries) and expects values already validated by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.core.money import ISO_4217, quantize_money

from .models import Category, Product

PRODUCT_EDITABLE_FIELDS = (
    "sku", "name", "category", "list_price", "unit_cost", "currency", "is_active", "path_level",
)
# Separators people use to write a category path: "Herramientas > Eléctricas".
CATEGORY_PATH_SEPARATORS = re.compile(r"\s*(?:>|›|»|/|\\|\|)\s*")


def category_path_split(path: str) -> list[str]:
    """'Herramientas > Eléctricas' -> ['Herramientas', 'Eléctricas'] (blank parts dropped)."""
    return [" ".join(p.split()) for p in CATEGORY_PATH_SEPARATORS.split(path or "") if p.strip()]


class CategoryResolver:
    """Finds or creates categories by path, with one query per new node and a cache.

    Call inside the transaction that uses the categories. `created` counts new nodes.
    Names match case-insensitively within the same parent, so "herramientas" and
    "Herramientas" are one category.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[int | None, str], Category] = {}
        self.created = 0
        for cat in Category.objects.all():
            self._cache[(cat.parent_id, cat.name.casefold())] = cat

    def resolve(self, names: Sequence[str], *, create: bool = True) -> Category | None:
        """The category at `names`; without `create`, None when some level is missing."""
        parent: Category | None = None
        for name in names:
            key = (parent.pk if parent else None, name.casefold())
            node = self._cache.get(key)
            if node is None:
                if not create:
                    return None
                node = Category(name=name[:120], parent=parent)
                node.full_clean(validate_constraints=False)
                node.save()
                self._cache[key] = node
                self.created += 1
            parent = node
        return parent


@transaction.atomic
def category_ensure_path(*, path: str | Sequence[str]) -> Category | None:
    """The category at `path` ("A > B" or ["A", "B"]), creating missing levels; None if empty."""
    names = category_path_split(path) if isinstance(path, str) else [n for n in path if n.strip()]
    return CategoryResolver().resolve(names) if names else None


def _product_clean(data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(PRODUCT_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({f: _("Campo desconocido.") for f in sorted(unknown)})
    clean = dict(data)
    if "sku" in clean:
        clean["sku"] = str(clean["sku"] or "").strip()
    if "name" in clean:
        clean["name"] = " ".join(str(clean["name"] or "").split())
    if isinstance(clean.get("category"), str | list | tuple):
        clean["category"] = category_ensure_path(path=clean["category"])
    for key in ("list_price", "unit_cost"):
        if clean.get(key) is not None:
            try:
                clean[key] = quantize_money(clean[key])
            except ValueError as exc:
                raise ValidationError({key: _("No es un importe válido.")}) from exc
            if clean[key] < 0:
                # Here, on the field: the database constraint's error would name the constraint.
                raise ValidationError({key: _("El precio no puede ser negativo.") if key == "list_price"
                                       else _("El coste no puede ser negativo.")})
    if clean.get("currency"):
        raw = str(clean["currency"]).strip()
        clean["currency"] = raw.upper()
        if clean["currency"] not in ISO_4217:
            raise ValidationError({"currency": _(
                "«%(value)s» no es un código de moneda ISO 4217 (por ejemplo EUR).") % {"value": raw}})
    return clean


@transaction.atomic
def product_create(*, data: Mapping[str, Any]) -> Product:
    """Create a product. `category` may be a Category, a path string ("A > B") or None."""
    product = Product(**_product_clean(data))
    product.full_clean()
    product.save()
    return product


@transaction.atomic
def product_update(*, product: Product, data: Mapping[str, Any]) -> Product:
    """Apply `data`; saves only when something changed. Returns the product."""
    clean = _product_clean(data)
    changed = False
    for key, value in clean.items():
        if getattr(product, key) != value:
            setattr(product, key, value)
            changed = True
    if changed:
        product.full_clean()
        product.save()
    return product


@dataclass
class ProductUpsertResult:
    created: list[str] = field(default_factory=list)    # SKUs
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    categories_created: int = 0


PRODUCT_BULK_FIELDS = ("name", "category_id", "list_price", "unit_cost", "currency", "is_active",
                       "path_level", "updated_at")


def product_upsert_many(
    *, rows: Iterable[Mapping[str, Any]], dry_run: bool = False, batch_size: int = 1000
) -> ProductUpsertResult:
    """Create or update products matched by SKU, set-based.

    Each row has "sku" and any of: name, category (list of names, outermost first),
    list_price, unit_cost (Decimal), currency, is_active, path_level. Keys absent from a row
    leave the stored value alone. Values must already be validated (the importer does it
    column by column). With `dry_run` nothing is written (categories are not created
    either) and the result says what would happen. Call inside a transaction.
    """
    rows = list(rows)
    skus = [r["sku"] for r in rows]
    existing: dict[str, Product] = {}
    for start in range(0, len(skus), 5000):  # stay under SQLite's bound-parameter limit
        existing.update((p.sku, p) for p in Product.objects.filter(sku__in=skus[start:start + 5000]))
    resolver = CategoryResolver()
    result = ProductUpsertResult()
    now = timezone.now()
    to_create: list[Product] = []
    to_update: list[Product] = []
    for row in rows:
        values: dict[str, Any] = {k: v for k, v in row.items() if k not in ("sku", "category")}
        if "category" in row:
            cat = resolver.resolve(row["category"], create=not dry_run) if row["category"] else None
            # In a dry run a category that does not exist yet would be created: a change.
            values["category_id"] = cat.pk if cat else (-1 if row["category"] else None)
        product = existing.get(row["sku"])
        if product is None:
            product = Product(sku=row["sku"], **values)
            to_create.append(product)
            existing[row["sku"]] = product  # a repeated SKU later in the file updates this one
            result.created.append(row["sku"])
            continue
        changed = False
        for key, value in values.items():
            if getattr(product, key) != value:
                setattr(product, key, value)
                changed = True
        if product.pk is None:
            continue
        if changed:
            product.updated_at = now  # bulk_update skips auto_now
            to_update.append(product)
            result.updated.append(row["sku"])
        else:
            result.unchanged.append(row["sku"])
    if not dry_run:
        Product.objects.bulk_create(to_create, batch_size=batch_size)
        if to_update:
            Product.objects.bulk_update(to_update, PRODUCT_BULK_FIELDS, batch_size=batch_size)
        result.categories_created = resolver.created
    return result


def product_costs(skus: Iterable[str]) -> dict[str, tuple[int, Decimal | None]]:
    """{sku: (product id, unit cost)} for the SKUs that exist."""
    return {
        sku: (pk, cost)
        for pk, sku, cost in Product.objects.filter(sku__in=list(skus)).values_list("pk", "sku", "unit_cost")
    }
