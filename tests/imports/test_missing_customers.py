"""Issue 11: orders of customers the base does not know yet get minimal cards on request,
a customers file with ids only is accepted, and a later customers file fills those cards."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from fideliza.accounts.models import AuditLog
from fideliza.customers.models import Customer, CustomerSourceId
from fideliza.imports.importers import is_identifier_only
from fideliza.imports.models import ImportRun
from fideliza.imports.reader import ImportOptions
from fideliza.imports.services import import_file
from fideliza.sales.models import Order

pytestmark = pytest.mark.django_db

TILL = ("Cliente;Fecha;Importe\n"
        "00001;05/01/2024;23,40\n"
        "00002;06/01/2024;10,00\n"
        "00001;07/01/2024;9,95\n")
NAMES = ("Código cliente;Nombre;Apellidos;E-mail\n"
         "00001;Lucía;García Pérez;lucia@example.com\n"
         "00002;José;Núñez;\n")


def _run(write_csv, actor, text, kind, *, create=False, name="f.csv", **kw):
    return import_file(path=write_csv(text, name=name), kind=kind, source=kw.pop("source", "tpv"),
                       actor=actor, options=ImportOptions(create_missing_customers=create), **kw)


def test_unknown_customers_are_refused_without_the_option(write_csv, actor):
    run = _run(write_csv, actor, TILL, "tickets")
    assert run.status == "invalid"
    assert "Crear fichas para los clientes que falten" in run.errors[0]["message"]
    assert not Customer.objects.exists()


def test_minimal_cards_then_a_customers_file_fills_them(write_csv, actor):
    run = _run(write_csv, actor, TILL, "tickets", create=True)
    assert run.status == "done", run.errors
    assert run.options["summary"]["customers_created"] == 2
    assert run.options["summary"]["identifier_only"] == 2
    cards = {s.external_id: s.customer for s in CustomerSourceId.objects.select_related("customer")}
    assert set(cards) == {"00001", "00002"}
    assert all(is_identifier_only(c) for c in cards.values())
    assert str(cards["00001"].acquisition_date) == "2024-01-05"  # the first purchase in the file
    assert Order.objects.filter(customer=cards["00001"]).count() == 2
    audit = AuditLog.objects.get(entity_id=str(cards["00001"].pk))
    assert audit.changes["source_id"] == [None, "00001"] and audit.context["created_for"] == "tickets"

    # The same file again: no new card, no new order.
    again = _run(write_csv, actor, TILL, "tickets", create=True)
    assert (again.rows_created, again.options["summary"]["customers_created"]) == (0, 0)

    # The customers file of the same source brings the names: it fills the same cards.
    named = _run(write_csv, actor, NAMES, "customers", name="clientes.csv")
    assert named.status == "done", named.errors
    assert (named.rows_created, named.rows_updated) == (0, 2)
    assert named.options["summary"]["identifier_only_filled"] == 2
    lucia = Customer.objects.get(pk=cards["00001"].pk)
    assert (lucia.first_name, lucia.last_name, lucia.email) == ("Lucía", "García Pérez", "lucia@example.com")
    assert not is_identifier_only(lucia)
    assert Customer.objects.count() == 2


def test_filled_cards_are_matched_for_duplicates(write_csv, actor, django_capture_on_commit_callbacks):
    """A card that only had an id is matched against the base once it has a name and contact."""
    web = ("id,first_name,last_name,email\nW1,Lucia,Garcia Perez,lucia@example.com\n")
    _run(write_csv, actor, web, "customers", source="web", name="web.csv", match_duplicates=False)
    _run(write_csv, actor, TILL, "tickets", create=True, match_duplicates=False)
    with django_capture_on_commit_callbacks(execute=True):
        named = _run(write_csv, actor, NAMES, "customers", name="clientes.csv", match_duplicates=True)
    assert "dedup_job" in named.options
    from fideliza.core.models import JobProgress

    assert JobProgress.objects.get(pk=named.options["dedup_job"]).result["merged"] == 1
    survivor = Customer.objects.get(source_ids__source="web", source_ids__external_id="W1")
    assert sorted(survivor.source_ids.values_list("source", "external_id")) == [("tpv", "00001"), ("web", "W1")]


def test_a_customers_file_with_ids_only_is_accepted(write_csv, actor):
    run = _run(write_csv, actor, "Código cliente\n00001\n00002\n", "customers")
    assert run.status == "done", run.errors
    assert run.rows_created == 2 and run.options["summary"]["identifier_only"] == 2
    assert all(is_identifier_only(c) for c in Customer.objects.all())
    tickets = _run(write_csv, actor, TILL, "tickets")  # now every customer exists
    assert tickets.status == "done", tickets.errors


def test_line_orders_create_cards_with_the_email_and_name_they_carry(write_csv, actor):
    text = ("Pedido;E-mail;Nombre cliente;Fecha;Descripción;Cantidad;Precio\n"
            "W-1;ana@example.com;Ana Ruiz;2024-02-01;Caja;1;3,50\n"
            "W-2;;Pedro Gil Sanz;2024-02-02;Tornillos;2;1,00\n")
    run = _run(write_csv, actor, text, "orders", create=True, source="web")
    assert run.status == "done", run.errors
    ana = Customer.objects.get(email="ana@example.com")
    assert (ana.first_name, ana.last_name) == ("Ana", "Ruiz") and not is_identifier_only(ana)
    assert ana.source_ids.get().external_id == "email:ana@example.com"
    pedro = Customer.objects.get(source_ids__external_id="name:pedro gil sanz")
    assert (pedro.first_name, pedro.last_name) == ("Pedro", "Gil Sanz")
    # Names are found again in the same source.
    more = _run(write_csv, actor, text.replace("W-1", "W-3").replace("W-2", "W-4"), "orders", source="web")
    assert more.status == "done", more.errors
    assert Customer.objects.count() == 2


def test_option_in_the_web_and_the_command_line(client, owner, write_csv, settings, tmp_path, capsys):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(owner)
    client.post(reverse("imports:new"), {"kind": "tickets", "source": "tpv",
                                         "file": SimpleUploadedFile("caja.csv", TILL.encode())})
    run = ImportRun.objects.get()
    page = client.get(reverse("imports:mapping", args=[run.pk])).content.decode()
    assert 'name="create_missing_customers"' in page
    client.post(reverse("imports:mapping", args=[run.pk]), {
        "action": "validate", "create_missing_customers": "on", "create_missing_stores": "on",
        "col_0": "customer_id", "col_1": "placed_at", "col_2": "amount"})
    run.refresh_from_db()
    assert run.status == "validated", run.errors
    detail = client.get(reverse("imports:detail", args=[run.pk])).content.decode()
    assert 'id="customers-created"' in detail and "solo identificador" in detail
    client.post(reverse("imports:commit", args=[run.pk]))
    assert Customer.objects.count() == 2

    path = write_csv(TILL.replace("0000", "9000"), name="caja2.csv")
    call_command("import", "tickets", str(path), "--source", "tpv", "--create-missing-customers")
    assert "customers created: 2" in capsys.readouterr().out
    assert Customer.objects.count() == 4


def test_the_card_says_solo_identificador_until_it_is_filled(client, owner, write_csv, actor):
    _run(write_csv, actor, TILL, "tickets", create=True)
    card = Customer.objects.get(source_ids__external_id="00002")
    client.force_login(owner)
    url = reverse("customers:detail", args=[card.pk])
    assert 'id="identifier-only"' in client.get(url).content.decode()
    assert "Solo identificador" in client.get(reverse("customers:list")).content.decode()
    _run(write_csv, actor, NAMES, "customers", name="clientes.csv")
    assert 'id="identifier-only"' not in client.get(url).content.decode()
