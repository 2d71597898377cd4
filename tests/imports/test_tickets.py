"""Issue 11: a till export with only customer, date and amount imports as orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from fideliza.customers.models import Customer
from fideliza.imports.services import import_file
from fideliza.loyalty.models import EarningRule, LedgerEntry, Program, RuleKind
from fideliza.sales.models import Order, OrderLine

pytestmark = pytest.mark.django_db

CUSTOMERS = ("Código cliente;Nombre;Apellidos\n"
             "00001;Lucía;García Pérez\n"
             "00002;José;Núñez\n")
# A till's export: no ticket number, no products. Two identical purchases on the same day
# are two tickets; a negative line would be a return (not in this file).
TILL = ("Cliente;Fecha;Importe\n"
        "00001;05/01/2024;23,40\n"
        "00002;05/01/2024 18:10;150,00\n"
        "00001;07/01/2024;9,95\n"
        "00001;07/01/2024;9,95\n")


@pytest.fixture
def customers(write_csv, actor):
    run = import_file(path=write_csv(CUSTOMERS, name="clientes.csv"), kind="customers",
                      source="tpv", actor=actor)
    assert run.status == "done", run.errors


def _tickets(write_csv, actor, text=TILL, **kw):
    return import_file(path=write_csv(text, name=kw.pop("name", "caja.csv")), kind="tickets",
                       source=kw.pop("source", "tpv"), actor=actor, **kw)


def test_till_export_with_customer_date_and_amount_imports(customers, write_csv, actor):
    run = _tickets(write_csv, actor)
    assert run.status == "done", run.errors
    assert run.rows_created == 4 and run.options["mapping"] == {
        "Cliente": "customer_id", "Fecha": "placed_at", "Importe": "amount"}
    summary = run.options["summary"]
    assert summary["orders_created"] == 4 and summary["order_ids_derived"] == 4
    lucia = Customer.objects.get(source_ids__source="tpv", source_ids__external_id="00001")
    orders = list(Order.objects.filter(customer=lucia).order_by("placed_at", "external_id"))
    assert [o.total for o in orders] == [Decimal("23.40"), Decimal("9.95"), Decimal("9.95")]
    # Derived ids are stable and distinct: the second identical ticket gets "-2".
    ids = sorted(o.external_id for o in orders)
    assert all(i.startswith("auto-") for i in ids)
    assert ids[1] + "-2" == ids[2] or ids[0] + "-2" in ids
    # One line per ticket, without product, consistent with the sales models.
    line = OrderLine.objects.get(order=orders[0])
    assert (line.product_id, line.sku, line.quantity, line.unit_price, line.line_total) == (
        None, "", Decimal("1.000"), Decimal("23.40"), Decimal("23.40"))
    assert line.description == "Ticket sin detalle de artículos"
    assert orders[0].subtotal == orders[0].total and orders[0].channel == "store"


def test_same_till_file_twice_adds_nothing(customers, write_csv, actor, table_counts):
    _tickets(write_csv, actor)
    before = table_counts()
    again = _tickets(write_csv, actor)
    assert (again.status, again.rows_created, again.rows_unchanged) == ("done", 0, 4)
    assert table_counts() == before
    # The next export overlaps the previous one: only the new ticket is added.
    more = _tickets(write_csv, actor, TILL + "00002;08/01/2024;12,00\n")
    assert (more.rows_created, more.rows_unchanged) == (1, 4)


def test_ticket_numbers_when_the_file_has_them(customers, write_csv, actor):
    text = ("Nº ticket;Cliente;Fecha;Total;Descuento;Tienda\n"
            "T-1;00001;05/01/2024 10:00;45,00;5,00;CEN\n"
            "T-2;00002;05/01/2024 11:00;10,00;;CEN\n"
            "T-1;00002;06/01/2024;3,00;;CEN\n")
    bad = _tickets(write_csv, actor, text)
    assert bad.status == "invalid"
    assert bad.errors[0]["row"] == 4 and "repetido" in bad.errors[0]["message"]
    run = _tickets(write_csv, actor, text.replace("T-1;00002", "T-3;00002"))
    assert run.status == "done", run.errors
    assert run.options["summary"]["order_ids_derived"] == 0
    t1 = Order.objects.get(source="tpv", external_id="T-1")
    assert (t1.subtotal, t1.discount_total, t1.total, t1.store.code) == (
        Decimal("50.00"), Decimal("5.00"), Decimal("45.00"), "CEN")


def test_negative_amount_is_a_clear_error(customers, write_csv, actor):
    run = _tickets(write_csv, actor, "Cliente;Fecha;Importe\n00001;05/01/2024;-5,00\n")
    assert run.status == "invalid"
    assert "devolución" in run.errors[0]["message"] and run.errors[0]["column"] == "Importe"
    assert not Order.objects.exists()


def test_tickets_go_through_the_order_recorded_reactions(customers, write_csv, actor):
    """Loyalty accrues points on imported tickets as on any other order."""
    program = Program.objects.create(name="Club", join_points=0)
    EarningRule.objects.create(program=program, name="Base", kind=RuleKind.PER_AMOUNT, points=1)
    with time_machine.travel("2024-02-01 12:00 +01:00", tick=False):
        run = _tickets(write_csv, actor)
    assert run.status == "done", run.errors
    lucia = Customer.objects.get(source_ids__external_id="00001")
    earned = sum(e.points for e in LedgerEntry.objects.filter(member__customer=lucia))
    assert earned == 23 + 9 + 9


def test_tickets_from_the_command_line(customers, write_csv, capsys):
    path = write_csv(TILL, name="caja.csv")
    call_command("import", "tickets", str(path), "--source", "tpv")
    out = capsys.readouterr().out
    assert "4 were created" in out and "order ids derived: 4" in out
    assert Order.objects.count() == 4


def test_the_validation_report_states_the_derived_ids(customers, client, owner, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from fideliza.imports.models import ImportRun

    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(owner)
    client.post(reverse("imports:new"), {"kind": "tickets", "source": "tpv",
                                         "file": SimpleUploadedFile("caja.csv", TILL.encode())})
    run = ImportRun.objects.get(kind="tickets")
    response = client.post(reverse("imports:mapping", args=[run.pk]), {
        "action": "validate", "create_missing_stores": "on",
        "col_0": "customer_id", "col_1": "placed_at", "col_2": "amount"})
    page = client.get(response.url).content.decode()
    assert 'id="order-ids-derived"' in page and "cliente, fecha e importe" in page
    client.post(reverse("imports:commit", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == "done" and run.options["summary"]["order_ids_derived"] == 4
    assert 'id="order-ids-derived"' in client.get(reverse("imports:detail", args=[run.pk])).content.decode()
