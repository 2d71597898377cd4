"""A price list imported over products made by hand: the importer's file path (Spanish
headers, decimal comma, level names in words) changes only the columns the file has."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fideliza.accounts.services import Actor
from fideliza.catalog.models import Product
from fideliza.catalog.services import product_create
from fideliza.imports.services import import_file
from tests.clock import MIDSUMMER

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(MIDSUMMER, tick=False)


def test_a_price_list_updates_price_cost_and_level_and_leaves_the_rest(tmp_path, owner):
    drill = product_create(data={"sku": "TAL-1", "name": "Taladro percutor", "list_price": Decimal("100"),
                                 "unit_cost": Decimal("60"), "category": "Herramientas > Eléctricas"})
    hammer = product_create(data={"sku": "MAR-1", "name": "Martillo", "list_price": Decimal("20"),
                                  "path_level": "entry"})
    path = tmp_path / "tarifa.csv"
    path.write_text("SKU;PVP;Coste;Nivel\n"
                    "TAL-1;1.099,90;612,5;principal\n"
                    "MAR-1;20,00;;\n"
                    "PIN-1;30,00;12;valor\n", encoding="utf-8")
    run = import_file(path=path, kind="products", source="erp", actor=Actor.of(owner, via="import"))
    # PIN-1 is new and the file has no name column: the whole file is refused, nothing written.
    assert run.status == "invalid"
    assert [(e["row"], e["column"], e["message"]) for e in run.errors] == [
        (4, "Nombre del producto", "Falta el nombre (obligatorio para un producto nuevo).")]
    assert Product.objects.get(pk=drill.pk).list_price == Decimal("100.00")

    path.write_text("SKU;PVP;Coste;Nivel\nTAL-1;1.099,90;612,5;principal\nMAR-1;20,00;;\n", encoding="utf-8")
    run = import_file(path=path, kind="products", source="erp", actor=Actor.of(owner, via="import"))
    assert run.status == "done", run.errors
    assert (run.rows_updated, run.rows_unchanged) == (1, 1)
    drill.refresh_from_db()
    assert (drill.name, drill.category.full_path) == ("Taladro percutor", "Herramientas › Eléctricas")
    assert (drill.list_price, drill.unit_cost, drill.unit_margin, drill.path_level) == (
        Decimal("1099.90"), Decimal("612.50"), Decimal("487.40"), "main")
    hammer.refresh_from_db()
    # Empty cells leave the stored values: the hammer keeps its level and has no cost.
    assert (hammer.list_price, hammer.unit_cost, hammer.path_level) == (Decimal("20.00"), None, "entry")
