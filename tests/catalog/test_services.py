"""`catalog.services`: category paths, product create/update with money in cents and
field-level errors, the set-based upsert the importer uses, and how they meet."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from fideliza.accounts.services import Actor
from fideliza.catalog.models import Category, PathLevel, Product
from fideliza.catalog.services import (
    CategoryResolver,
    category_ensure_path,
    category_path_split,
    product_costs,
    product_create,
    product_update,
    product_upsert_many,
)
from tests.clock import MIDSUMMER
from tests.factories.catalog import product_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(MIDSUMMER, tick=False)


def errors_of(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        call()
    return raised.value.message_dict


# --- categories ------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    " Herramientas >  Eléctricas / Taladros ", "Herramientas › Eléctricas » Taladros",
    "Herramientas|Eléctricas\\Taladros", "Herramientas >> Eléctricas > > Taladros",
])
def test_category_paths_in_the_ways_people_write_them(path):
    assert category_path_split(path) == ["Herramientas", "Eléctricas", "Taladros"]


def test_category_paths_are_created_once_case_insensitively():
    leaf = category_ensure_path(path="Herramientas > Eléctricas")
    same = category_ensure_path(path=["herramientas", "ELÉCTRICAS"])
    assert leaf == same and leaf.parent.name == "Herramientas" and Category.objects.count() == 2
    assert leaf.full_path == "Herramientas › Eléctricas"
    assert category_ensure_path(path="  ") is None
    # The same name under another parent is another category.
    garden = category_ensure_path(path="Jardín > Eléctricas")
    assert garden != leaf and Category.objects.filter(name="Eléctricas").count() == 2


def test_the_resolver_looks_up_without_creating_when_asked():
    category_ensure_path(path="Herramientas > Eléctricas")
    resolver = CategoryResolver()
    assert resolver.resolve(["Herramientas", "Manuales"], create=False) is None
    assert resolver.resolve(["HERRAMIENTAS", "eléctricas"], create=False).full_path == "Herramientas › Eléctricas"
    assert resolver.created == 0 and Category.objects.count() == 2
    assert resolver.resolve(["Herramientas", "Manuales"]).parent.name == "Herramientas"
    assert resolver.created == 1


# --- create and update ---------------------------------------------------------------------

def test_product_create_normalises_and_quantizes_half_up():
    p = product_create(data={"sku": " T-1 ", "name": "Taladro  percutor", "list_price": "89.9",
                             "unit_cost": Decimal("45.125"), "category": "Herramientas > Eléctricas",
                             "currency": "eur", "path_level": PathLevel.MAIN})
    p.refresh_from_db()
    assert (p.sku, p.name, p.list_price, p.unit_cost, p.currency, p.path_level) == (
        "T-1", "Taladro percutor", Decimal("89.90"), Decimal("45.13"), "EUR", "main")
    assert p.category.full_path == "Herramientas › Eléctricas"
    assert (p.created_at, p.updated_at) == (MIDSUMMER, MIDSUMMER)


def test_unit_margin_follows_price_and_cost():
    p = product_make(list_price="30.00", unit_cost=Decimal("12.50"))
    assert p.unit_margin == Decimal("17.50")
    product_update(product=p, data={"list_price": Decimal("25"), "unit_cost": Decimal("14.99")})
    p.refresh_from_db()
    assert p.unit_margin == Decimal("10.01")
    product_update(product=p, data={"unit_cost": None})
    p.refresh_from_db()
    assert p.unit_margin is None  # unknown cost, unknown margin (never "all margin")


@pytest.mark.parametrize("data, expected", [
    ({"sku": "T-1", "name": "Otro"}, {"sku": ["Ya existe Producto con este SKU."]}),
    ({"sku": "X", "name": "Y", "list_price": "gratis"}, {"list_price": ["No es un importe válido."]}),
    ({"sku": "X", "name": "Y", "list_price": "-1"}, {"list_price": ["El precio no puede ser negativo."]}),
    ({"sku": "X", "name": "Y", "unit_cost": "-0.01"}, {"unit_cost": ["El coste no puede ser negativo."]}),
    ({"sku": "X", "name": "Y", "stock": 3}, {"stock": ["Campo desconocido."]}),
    ({"sku": "X", "name": "  "}, {"name": ["Este campo no puede estar vacío."]}),
    ({"sku": "X", "name": "Y", "path_level": "vip"}, {"path_level": ["Valor 'vip' no es una opción válida."]}),
])
def test_bad_products_get_field_level_errors_and_are_not_written(data, expected):
    product_create(data={"sku": "T-1", "name": "Taladro"})
    assert errors_of(lambda: product_create(data=data)) == expected
    assert Product.objects.count() == 1


def test_errors_in_english():
    with translation.override("en"):
        assert errors_of(lambda: product_create(data={"sku": "X", "name": "Y", "list_price": "-1"})) == {
            "list_price": ["The price cannot be negative."]}


def test_an_unknown_currency_is_refused_by_the_service_itself():
    assert errors_of(lambda: product_create(data={"sku": "X", "name": "Y", "currency": "zzz"})) == {
        "currency": ["«zzz» no es un código de moneda ISO 4217 (por ejemplo EUR)."]}


def test_update_saves_only_real_changes(time_machine):
    p = product_make(sku="MAR-1", name="Martillo", list_price="20.00", category="Herramientas")
    time_machine.move_to("2025-06-12 09:00 +02:00", tick=False)
    product_update(product=p, data={"name": " Martillo ", "list_price": "20", "category": "herramientas"})
    p.refresh_from_db()
    assert p.updated_at == MIDSUMMER  # same values after normalising: nothing saved
    product_update(product=p, data={"category": "Herramientas > Manuales", "path_level": "entry"})
    p.refresh_from_db()
    assert (p.category.full_path, p.path_level, p.updated_at.isoformat()) == (
        "Herramientas › Manuales", "entry", "2025-06-12T07:00:00+00:00")


def test_update_to_a_taken_sku_is_a_field_error():
    product_make(sku="A")
    b = product_make(sku="B")
    assert errors_of(lambda: product_update(product=b, data={"sku": "A"})) == {
        "sku": ["Ya existe Producto con este SKU."]}
    assert Product.objects.get(pk=b.pk).sku == "B"


# --- the importer's set-based path ----------------------------------------------------------

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


def test_a_dry_run_counts_a_missing_category_as_a_change():
    product_create(data={"sku": "A", "name": "Uno"})
    planned = product_upsert_many(rows=[{"sku": "A", "category": ["Nueva"]}], dry_run=True)
    assert planned.updated == ["A"] and not Category.objects.exists()


def test_a_repeated_sku_in_one_file_updates_the_row_created_before_it():
    result = product_upsert_many(rows=[{"sku": "N", "name": "Nuevo", "list_price": Decimal("5")},
                                       {"sku": "N", "list_price": Decimal("6")}])
    assert result.created == ["N"] and Product.objects.get(sku="N").list_price == Decimal("6")


def test_an_import_changes_only_its_columns_of_a_product_made_by_hand(time_machine):
    """The API made the product; a price list with SKU, price and level updates those three."""
    made = product_create(data={"sku": "TAL-1", "name": "Taladro", "list_price": Decimal("100"),
                                "unit_cost": Decimal("60"), "category": "Herramientas > Eléctricas"})
    untouched = product_create(data={"sku": "MAR-1", "name": "Martillo", "list_price": Decimal("20")})
    time_machine.move_to("2025-06-12 09:00 +02:00", tick=False)
    result = product_upsert_many(rows=[{"sku": "TAL-1", "list_price": Decimal("110"), "path_level": "premium"},
                                       {"sku": "MAR-1", "list_price": Decimal("20.00")}])
    assert (result.updated, result.unchanged) == (["TAL-1"], ["MAR-1"])
    made.refresh_from_db()
    assert (made.name, made.unit_cost, made.category.full_path) == (
        "Taladro", Decimal("60.00"), "Herramientas › Eléctricas")
    assert (made.list_price, made.path_level, made.unit_margin) == (Decimal("110.00"), "premium", Decimal("50.00"))
    assert made.created_at == MIDSUMMER and made.updated_at.isoformat() == "2025-06-12T07:00:00+00:00"
    assert Product.objects.get(pk=untouched.pk).updated_at == MIDSUMMER


def test_an_order_after_the_import_is_priced_and_costed_from_the_new_values(customer_for_orders):
    from fideliza.sales.services import order_record

    product_create(data={"sku": "PIN-1", "name": "Pintura", "list_price": Decimal("30"),
                         "unit_cost": Decimal("12")})
    product_upsert_many(rows=[{"sku": "PIN-1", "list_price": Decimal("27.50"), "unit_cost": Decimal("13.10")}])
    order = order_record(actor=Actor.system("tests"), customer=customer_for_orders, source="tpv",
                         external_id="1", placed_at=MIDSUMMER, lines=[{"sku": "PIN-1", "quantity": 2}])
    assert (order.total, order.cost_total, order.margin) == (Decimal("55.00"), Decimal("26.20"), Decimal("28.80"))


def test_product_costs_by_sku():
    a = product_make(sku="A", unit_cost=Decimal("1.50"))
    b = product_make(sku="B")
    assert product_costs(["A", "B", "NOPE"]) == {"A": (a.pk, Decimal("1.50")), "B": (b.pk, None)}


@pytest.fixture
def customer_for_orders(db):
    from tests.factories.customers import customer_make

    return customer_make(first_name="Ana")
