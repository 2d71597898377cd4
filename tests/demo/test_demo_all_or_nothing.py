"""The demo loads whole or not at all: a failure stops `fideliza run --demo` with the reason,
and the next run never serves the half that was loaded (it reloads it from scratch)."""

from __future__ import annotations

from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from fideliza.customers.models import Customer
from fideliza.demo import files as demo_files
from fideliza.demo.models import DemoLoad
from fideliza.demo.selectors import data_not_from_demo, demo_load_unfinished
from fideliza.imports.models import ImportRun
from fideliza.sales.models import Order

TODAY = date(2026, 11, 23)
ARGS = {"customers": 60, "seed": 1, "years": 1, "today": TODAY}


@pytest.fixture
def broken_web_orders(monkeypatch):
    """The web shop's orders file written with empty created_at cells, as the DST bug did."""
    real = demo_files.web_orders_export

    def export(lines: pl.DataFrame) -> pl.DataFrame:
        frame = real(lines)
        return frame.with_columns(created_at=pl.when(pl.int_range(pl.len()) < 3).then(None)
                                  .otherwise(pl.col("created_at")))

    monkeypatch.setattr(demo_files, "web_orders_export", export)
    return monkeypatch


def _demo(tmp_path, **kwargs) -> str:
    out = StringIO()
    call_command("demo", if_needed=True, out_dir=tmp_path, stdout=out, **ARGS, **kwargs)
    return out.getvalue()


@pytest.mark.django_db
def test_a_refused_import_is_recorded_and_the_rerun_reloads_from_scratch(tmp_path, broken_web_orders):
    with pytest.raises(CommandError, match=r"tienda_online_pedidos\.csv.*created_at"):
        _demo(tmp_path)
    load = DemoLoad.objects.get()
    assert load.status == "failed" and "created_at" in load.error and load.finished_at
    assert demo_load_unfinished() == load
    half = Customer.objects.count()
    assert half > 0  # half a business is in the database: the till's and web's customers
    assert ImportRun.objects.filter(status="invalid").exists()

    broken_web_orders.undo()
    text = _demo(tmp_path)
    assert "no terminó" in text and "se carga de nuevo" in text and "Demostración creada" in text
    assert demo_load_unfinished() is None
    assert DemoLoad.objects.latest("started_at").status == "complete"
    # From scratch: one run per file, all done, and the customers once (not twice).
    assert sorted(ImportRun.objects.values_list("status", flat=True)) == ["done"] * 5
    assert Customer.objects.count() == half
    assert Order.objects.filter(source="tienda_online").exists()

    # A complete demo is left alone.
    orders = Order.objects.count()
    assert "ya tiene datos" in _demo(tmp_path)
    assert Order.objects.count() == orders and DemoLoad.objects.count() == 2


@pytest.mark.django_db
def test_a_load_killed_half_way_is_reloaded(tmp_path):
    """A process killed mid-load leaves its attempt `loading`: that is not complete either."""
    DemoLoad.objects.create(customers=60, seed=1, years=1, today=TODAY, stage="ventas del TPV")
    text = _demo(tmp_path)
    assert "se interrumpió durante «ventas del TPV»" in text
    assert DemoLoad.objects.latest("started_at").status == "complete"
    assert demo_load_unfinished() is None


@pytest.mark.django_db
def test_an_unfinished_demo_beside_other_data_is_not_deleted(tmp_path):
    DemoLoad.objects.create(customers=60, seed=1, years=1, today=TODAY, status="failed", error="fila 6484")
    Customer.objects.create(first_name="Ana", last_name="Pons")  # typed by hand: not the demo's
    assert data_not_from_demo() == {"clientes": 1}
    with pytest.raises(CommandError, match=r"no se borra nada.*fideliza demo --reset"):
        _demo(tmp_path)
    assert Customer.objects.filter(first_name="Ana").exists()


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Europe/Madrid")), tick=False)
def test_run_stops_with_the_reason_when_the_demo_fails(tmp_path, settings, broken_web_orders):
    """`fideliza run --demo` exits non-zero with a Spanish explanation, before serving."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.VAR_DIR = tmp_path
    served = []
    from fideliza.core.management.commands import run as run_module

    broken_web_orders.setattr(run_module.Command, "_supervise", lambda self, children: served.append(1) or 0)
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("run", demo=True, demo_customers=60, stdout=out, stderr=err)
    assert exit_info.value.code == 1
    assert served == []
    message = err.getvalue()
    assert "No se pudo cargar la demostración" in message and "tienda_online_pedidos.csv" in message
    assert "se borra lo cargado y se carga de nuevo" in message


@pytest.mark.django_db
def test_a_half_loaded_demo_of_an_older_version_is_recognised_at_upgrade():
    """Databases loaded before DemoLoad existed: the demo's own import runs tell."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("fideliza.demo.migrations.0002_demo_load_of_older_versions")
    for name in ("catalogo_productos.csv", "tpv_clientes.csv", "tienda_online_clientes.csv", "tpv_ventas.csv"):
        ImportRun.objects.create(kind="orders", source="x", file_name=name, status="done")
    ImportRun.objects.create(kind="orders", source="tienda_online", file_name="tienda_online_pedidos.csv",
                             status="invalid")
    migration.record_half_loaded_demo(apps, None)
    load = demo_load_unfinished()
    assert load is not None and load.status == "failed" and "tienda_online_pedidos.csv" in load.error

    # A whole old demo, or a database without the demo's files, gets no record.
    DemoLoad.objects.all().delete()
    ImportRun.objects.filter(status="invalid").update(status="done")
    migration.record_half_loaded_demo(apps, None)
    assert not DemoLoad.objects.exists()
