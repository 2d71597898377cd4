"""The demo loaded end to end through the real import service, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from io import StringIO

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fideliza.accounts.models import AuditLog, User
from fideliza.catalog.models import Category, Product
from fideliza.customers.models import ConsentRecord, Customer, CustomerSourceId
from fideliza.customers.selectors import customers_visible_to
from fideliza.demo.generator import DemoSpec, generate
from fideliza.demo.services import (
    DEMO_PASSWORD,
    DemoError,
    database_is_empty,
    demo_populate,
)
from fideliza.imports.models import ImportRun
from fideliza.sales.models import Order, OrderLine, Return, Store

TODAY = date(2026, 11, 23)


@pytest.mark.django_db
def test_demo_loads_through_the_import_service(tmp_path):
    summary = demo_populate(customers=300, seed=5, years=2, today=TODAY, out_dir=tmp_path)
    data = generate(DemoSpec(customers=300, seed=5, years=2, today=TODAY))

    # Every file went through import_file and landed whole.
    runs = ImportRun.objects.order_by("id")
    assert [(r.kind, r.source, r.status) for r in runs] == [
        ("products", "catalogo", "done"), ("customers", "tpv", "done"),
        ("customers", "tienda_online", "done"), ("orders", "tpv", "done"),
        ("orders", "tienda_online", "done")]
    assert sorted(summary.import_runs) == [r.pk for r in runs]
    # Every step the summary times has a name in the reader's language (no step code printed).
    from fideliza.demo.management.commands.demo import TIMING_LABELS

    assert set(summary.timings) <= set(TIMING_LABELS)
    assert {r.file_name for r in runs} == {"catalogo_productos.csv", "tpv_clientes.csv",
                                           "tienda_online_clientes.csv", "tpv_ventas.csv",
                                           "tienda_online_pedidos.csv"}
    assert runs[1].options["delimiter"] == ";" and runs[2].options["delimiter"] == ","

    # One card per row of each list (merging the overlap is a later issue).
    n_tpv, n_web = data.tpv_customers.height, data.web_customers.height
    assert Customer.objects.count() == n_tpv + n_web
    assert CustomerSourceId.objects.filter(source="tpv").count() == n_tpv
    assert CustomerSourceId.objects.filter(source="tienda_online").count() == n_web
    assert summary.customers_by_source == {"tpv": n_tpv, "tienda_online": n_web}
    assert summary.overlapping_people == data.people.filter(pl.col("lists") == "both").height
    assert Customer.objects.filter(kind="company", wallet_potential__gt=0, employees__isnull=False).exists()
    assert Customer.objects.exclude(notes="").exists()
    assert Customer.objects.filter(interests__isnull=False).distinct().count() > Customer.objects.count() / 2
    assert ConsentRecord.objects.filter(channel="email", status="granted").exists()
    assert AuditLog.objects.filter(entity="customers.customer").count() >= Customer.objects.count()

    # Phones in every format became E.164; the old till's capitals are kept as written.
    phones = list(Customer.objects.exclude(phone="").values_list("phone", flat=True))
    assert phones and all(p.startswith("+34") and len(p) == 12 for p in phones)

    # Catalog and sales, with the right totals.
    assert Product.objects.count() == data.products.height == summary.products
    assert Category.objects.filter(parent__isnull=False).exists()
    assert Order.objects.count() == data.lines["order_key"].n_unique() == summary.orders
    assert OrderLine.objects.count() == data.lines.height == summary.order_lines
    cents = data.lines["line_total_c"].sum()
    assert summary.revenue * 100 == cents
    assert set(Order.objects.values_list("channel", flat=True).distinct()) == {"store", "web"}
    assert dict(Store.objects.values_list("code", "name"))["VLC"].startswith("El Martillo")
    line = OrderLine.objects.select_related("order").filter(order__source="tpv").first()
    assert line.unit_cost is not None and line.product_id is not None
    assert Return.objects.count() == summary.returns == data.returns.height > 0

    # Users for every role, with the demo password; company accounts assigned to reps.
    roles = dict(User.objects.values_list("username", "role"))
    assert roles == {"duena": "owner", "marketing": "marketing", "comercial1": "sales_rep",
                     "comercial2": "sales_rep", "soporte": "support"}
    assert all(u.check_password(DEMO_PASSWORD) for u in User.objects.all())
    rep1 = User.objects.get(username="comercial1")
    rep2 = User.objects.get(username="comercial2")
    mine = customers_visible_to(rep1)
    assert mine.exists() and not mine.filter(kind="person").exists()
    assert not mine.filter(pk__in=customers_visible_to(rep2)).exists()
    assert AuditLog.objects.filter(entity="customers.customer", action="update",
                                   changes__has_key="account_executive").exists()

    # Brought to life: points for past orders, saved segments filled by a current snapshot.
    from fideliza.insights.models import AnalyticsState, CustomerMetrics
    from fideliza.loyalty.models import LedgerEntry, Program
    from fideliza.loyalty.selectors import ledger_check
    from fideliza.segments.models import Segment, SegmentMember

    assert Program.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="earn", cause_type="order").exists()
    assert ledger_check() == []
    state = AnalyticsState.objects.get()
    assert state.current_run is not None and state.current_run.as_of == TODAY
    assert CustomerMetrics.objects.count() > 0
    names = set(Segment.objects.values_list("name", flat=True))
    assert "Cumpleaños este mes" in names and len(names) == 3
    assert SegmentMember.objects.exists()
    from fideliza.automations.models import Automation

    assert Automation.objects.filter(is_active=True).count() == 4

    # The demo refuses to run twice on the same data.
    with pytest.raises(DemoError):
        demo_populate(customers=300, seed=5, years=2, today=TODAY, out_dir=tmp_path)


@pytest.mark.django_db(transaction=True)
def test_command_refuses_a_non_empty_database_and_resets_on_request(tmp_path):
    out = StringIO()
    args = {"customers": 60, "seed": 1, "years": 1, "today": TODAY, "out_dir": tmp_path,
            "stdout": out}
    call_command("demo", **args)
    text = out.getvalue()
    assert "Demostración creada" in text and "comercial1" in text and DEMO_PASSWORD in text
    first = (Customer.objects.count(), Order.objects.count(), OrderLine.objects.count())
    first_orders = set(Order.objects.values_list("source", "external_id", "total"))

    with pytest.raises(CommandError, match="--reset"):
        call_command("demo", **args)
    assert not database_is_empty()

    # --reset wipes business data (keeps users) and the same seed loads the same business.
    users = set(User.objects.values_list("pk", flat=True))
    call_command("demo", reset=True, interactive=False, **args)
    assert (Customer.objects.count(), Order.objects.count(), OrderLine.objects.count()) == first
    assert set(Order.objects.values_list("source", "external_id", "total")) == first_orders
    assert set(User.objects.values_list("pk", flat=True)) == users
    assert AuditLog.objects.filter(entity="demo.reset").count() == 1
    assert ImportRun.objects.count() == 5
