from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from fideliza.catalog.models import Category, Product
from fideliza.catalog.services import (
    category_ensure_path,
    category_path_split,
    product_create,
    product_update,
    product_upsert_many,
)

pytestmark = pytest.mark.django_db


def test_category_paths_are_created_once_case_insensitively():
    assert category_path_split(" Herramientas >  Eléctricas / Taladros ") == ["Herramientas", "Eléctricas", "Taladros"]
    leaf = category_ensure_path(path="Herramientas > Eléctricas")
    same = category_ensure_path(path=["herramientas", "ELÉCTRICAS"])
    assert leaf == same and leaf.parent.name == "Herramientas" and Category.objects.count() == 2
    assert category_ensure_path(path="  ") is None


def test_product_create_and_update_validate_and_quantize():
    p = product_create(data={"sku": " T-1 ", "name": "Taladro  percutor", "list_price": "89.9",
                             "unit_cost": Decimal("45.125"), "category": "Herramientas > Eléctricas"})
    assert (p.sku, p.name, p.list_price, p.unit_cost) == ("T-1", "Taladro percutor", Decimal("89.90"),
                                                         Decimal("45.13"))
    assert p.category.full_path == "Herramientas › Eléctricas"
    product_update(product=p, data={"list_price": Decimal("79.90")})
    p.refresh_from_db()
    assert p.list_price == Decimal("79.90")
    with pytest.raises(ValidationError) as err:
        product_create(data={"sku": "T-1", "name": "Otro"})
    assert "sku" in err.value.message_dict
    with pytest.raises(ValidationError):
        product_create(data={"sku": "X", "name": "Y", "list_price": "gratis"})


def test_upsert_many_counts_and_dry_run():
    product_create(data={"sku": "A", "name": "Uno", "list_price": Decimal("1.00")})
    rows = [{"sku": "A", "name": "Uno", "list_price": Decimal("1.00")},
            {"sku": "B", "name": "Dos", "category": ["Nueva"]},
            {"sku": "A2", "name": "Tres"}]
    planned = product_upsert_many(rows=rows, dry_run=True)
    assert (planned.created, planned.updated, planned.unchanged) == (["B", "A2"], [], ["A"])
    assert Product.objects.count() == 1 and Category.objects.count() == 0
    done = product_upsert_many(rows=[*rows, {"sku": "A", "list_price": Decimal("2.00")}])
    assert done.categories_created == 1 and Product.objects.get(sku="A").list_price == Decimal("2.00")
    assert Product.objects.get(sku="B").category.name == "Nueva"
