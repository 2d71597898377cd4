"""Reads over the catalog for the other apps: the category tree, products by SKU, and the
catalog's columns as SQL for the analytics adapter."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet

from .models import Category, Product


def category_parents() -> dict[int, int | None]:
    """{category id: parent id} for the whole tree (one query on a small table)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, parent_id FROM {Category._meta.db_table}")
        return dict(cursor.fetchall())


def categories_all() -> QuerySet[Category]:
    """Every category, for choice fields."""
    return Category.objects.all()


def category_roots() -> QuerySet[Category]:
    """The top-level categories."""
    return Category.objects.filter(parent__isnull=True)


def category_ids_named(name: str) -> list[int]:
    """The ids of the categories called `name` (case-insensitive)."""
    return list(Category.objects.filter(name__iexact=name).values_list("pk", flat=True))


def category_names(ids: Iterable[int]) -> dict[int, str]:
    """{category id: name} for `ids`."""
    return dict(Category.objects.filter(pk__in=list(ids)).values_list("pk", "name"))


def products_all() -> QuerySet[Product]:
    """Every product, for choice fields."""
    return Product.objects.all()


def products_by_sku(skus: Iterable[str]) -> dict[str, Product]:
    """{sku: product} for the SKUs that exist."""
    return {p.sku: p for p in Product.objects.filter(sku__in=list(skus))}


def products_sql() -> str:
    """SQL for the catalog as the analytics adapter reads it: ``product_id, sku, name,
    category`` (the category's own name) ``, path_level``."""
    return f"""SELECT p.id AS product_id, p.sku AS sku, p.name AS name, cat.name AS category,
                  p.path_level AS path_level
           FROM {Product._meta.db_table} p LEFT JOIN {Category._meta.db_table} cat ON cat.id = p.category_id"""


def category_roots_by_products() -> list[Category]:
    """The top-level categories, those with most products (directly in them) first."""
    return list(Category.objects.filter(parent__isnull=True).annotate(n=Count("products")).order_by("-n", "name"))


def product_ids_with_skus(skus: Iterable[str]) -> QuerySet[Product, Any]:
    """A query of the ids of the products with these SKUs (for a subquery)."""
    return Product.objects.filter(sku__in=list(skus)).values("pk")


def product_ids_in_categories(category_ids: Iterable[int]) -> QuerySet[Product, Any]:
    """A query of the ids of the products directly in these categories (for a subquery)."""
    return Product.objects.filter(category_id__in=list(category_ids)).values("pk")


def products_count() -> int:
    """How many products the catalog has."""
    return Product.objects.count()


def skus_known(skus: Iterable[str]) -> set[str]:
    """The SKUs among `skus` that the catalog has."""
    return set(Product.objects.filter(sku__in=list(skus)).values_list("sku", flat=True))


def product_ids_by_sku(skus: Iterable[str] | None = None) -> dict[str, int]:
    """{sku: product id} for `skus` (every product without `skus`)."""
    qs = Product.objects.all() if skus is None else Product.objects.filter(sku__in=list(skus))
    return dict(qs.values_list("sku", "pk"))


def product_costs_all() -> list[tuple[str, int, Decimal | None]]:
    """(sku, id, unit cost) of every product (the order importer joins its lines to them)."""
    return list(Product.objects.values_list("sku", "pk", "unit_cost"))
