"""Products and categories through `catalog.services` (validation, money in cents, paths)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from fideliza.catalog.models import Product
from fideliza.catalog.services import product_create

_seq = itertools.count(1)


def product_make(*, sku: str | None = None, name: str | None = None, list_price: Decimal | str = "10.00",
                 **data: Any) -> Product:
    """A product; `category` may be a path ("Herramientas > Eléctricas"), created if missing."""
    n = next(_seq)
    return product_create(data={"sku": sku or f"SKU-{n}", "name": name or f"Producto {n}",
                                "list_price": Decimal(list_price), **data})


def hardware_catalog() -> dict[str, Product]:
    """A small hardware shop: a drill under Herramientas › Eléctricas, a hammer under
    Herramientas, white paint under Pintura and nails under Varios (each with its cost)."""
    return {
        "drill": product_make(sku="TAL-1", name="Taladro", list_price="100.00", unit_cost=Decimal("60.00"),
                              category="Herramientas > Eléctricas", path_level="main"),
        "hammer": product_make(sku="MAR-1", name="Martillo", list_price="20.00", unit_cost=Decimal("8.00"),
                               category="Herramientas", path_level="entry"),
        "paint": product_make(sku="PIN-1", name="Pintura blanca", list_price="30.00",
                              unit_cost=Decimal("12.50"), category="Pintura", path_level="value"),
        "nails": product_make(sku="CLA-1", name="Clavos", list_price="5.00", category="Varios"),
    }
