"""A contacts file linked to the companies by their id in the source (issue 15 part 4): CSV
and XLSX like the other kinds, row-level errors in Spanish, all or nothing, and a re-import
that changes nothing."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from fideliza.customers.models import Contact, ContactConsentRecord, Customer
from fideliza.customers.selectors import contact_consents_current
from fideliza.imports.services import import_file

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 4, 7, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))

CUSTOMERS = """Id;Tipo;Nombre;Razón social;E-mail;Número de empleados
E-1;empresa;;Reformas Sur S.L.;info@reformassur.example;12
E-2;empresa;;Hotel Vega Playa S.A.;info@vegaplaya.example;60
P-1;persona;Lucía;;lucia@example.com;
"""

CONTACTS = """Id empresa;Nombre;Cargo;E-mail;Teléfono;Principal;Acepta e-mail;Acepta SMS
E-1;Ana García;Compras;ana@reformassur.example;611 22 33 44;no;sí;no
E-1;Luis Ortega;Gerencia;luis@reformassur.example;;sí;sí;
E-2;Marta Vega;Recepción;;954 12 34 57;;no;sí
"""


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def companies(write_csv, actor):
    run = import_file(path=write_csv(CUSTOMERS, name="clientes.csv"), kind="customers", source="erp", actor=actor)
    assert run.status == "done", run.errors
    return {c.company_name or c.first_name: c for c in Customer.objects.all()}


def test_a_contacts_file_links_people_to_their_companies(companies, write_csv, actor):
    run = import_file(path=write_csv(CONTACTS, name="contactos.csv"), kind="contacts", source="erp", actor=actor)
    assert run.status == "done", run.errors
    assert (run.rows_created, run.rows_updated, run.rows_unchanged) == (3, 0, 0)
    sur, hotel = companies["Reformas Sur S.L."], companies["Hotel Vega Playa S.A."]
    people = {c.name: c for c in Contact.objects.all()}
    assert {n: (c.customer_id, c.role, c.email, c.phone, c.is_primary) for n, c in people.items()} == {
        "Ana García": (sur.pk, "Compras", "ana@reformassur.example", "+34611223344", False),
        "Luis Ortega": (sur.pk, "Gerencia", "luis@reformassur.example", "", True),
        # Nobody marked primary at the hotel: its first contact becomes it.
        "Marta Vega": (hotel.pk, "Recepción", "", "+34954123457", True),
    }
    assert contact_consents_current(c.pk for c in people.values()) == {
        people["Ana García"].pk: {"email": True, "sms": False},
        people["Luis Ortega"].pk: {"email": True},
        people["Marta Vega"].pk: {"email": False, "sms": True},
    }
    record = ContactConsentRecord.objects.filter(contact=people["Ana García"]).first()
    assert record.source == "import:contactos.csv" and "contactos.csv" in record.wording

    # The same file again: nothing changes, nothing is appended.
    again = import_file(path=write_csv(CONTACTS, name="contactos.csv"), kind="contacts", source="erp", actor=actor)
    assert (again.status, again.rows_created, again.rows_updated, again.rows_unchanged) == ("done", 0, 0, 3)
    assert ContactConsentRecord.objects.count() == 5 and Contact.objects.count() == 3

    # A later file changes a role, withdraws a consent and moves the primary mark.
    later = ("Id empresa;Nombre;Cargo;E-mail;Principal;Acepta e-mail\n"
             "E-1;Ana García;Jefa de compras;ANA@reformassur.example;sí;no\n")
    run = import_file(path=write_csv(later, name="contactos2.csv"), kind="contacts", source="erp", actor=actor)
    assert (run.status, run.rows_updated) == ("done", 1), run.errors
    ana = Contact.objects.get(name="Ana García")
    assert (ana.role, ana.is_primary, ana.phone) == ("Jefa de compras", True, "+34611223344")  # empty cells keep
    assert not Contact.objects.get(name="Luis Ortega").is_primary
    assert contact_consents_current([ana.pk])[ana.pk]["email"] is False


def test_bad_rows_are_reported_in_spanish_and_nothing_is_written(companies, write_csv, actor):
    bad = ("Id empresa;Nombre;E-mail;Teléfono;Principal\n"
           "E-1;Ana García;ana@reformassur.example;;sí\n"           # fine
           "E-9;Pedro Nadie;;;\n"                                   # no such company
           "P-1;Su hermano;;;\n"                                    # a person, not a company
           "E-1;Ana G.;ana@reformassur.example;;\n"                 # the same person twice
           "E-1;Luis Ortega;luis@;12;sí\n"                          # bad e-mail, phone; a second primary
           "E-2;;;;\n")                                             # no name
    run = import_file(path=write_csv(bad, name="malo.csv"), kind="contacts", source="erp", actor=actor)
    assert run.status == "invalid"
    errors = {(e["row"], e["column"]): e["message"] for e in run.errors}
    assert errors[(3, "Id empresa")] == ('No hay ninguna empresa con el id "E-9" en este origen: importe antes su '
                                         'archivo de clientes.')
    assert errors[(4, "Id empresa")] == 'El cliente "P-1" es una persona, no una empresa.'
    assert errors[(5, "Nombre")] == '"Ana G." ya aparece en la fila 2 para la misma empresa.'
    assert errors[(6, "E-mail")] == '"luis@" no es un e-mail válido.'
    assert errors[(6, "Teléfono")] == '"12" no es un número de teléfono válido.'
    assert errors[(6, "Principal")] == 'La empresa "E-1" ya tiene otro contacto principal en la fila 2.'
    assert errors[(7, "Nombre")] == "Falta el valor (obligatorio)."
    assert not Contact.objects.exists() and not ContactConsentRecord.objects.exists()


def test_an_xlsx_contacts_file_imports_like_a_csv(companies, tmp_path, actor):
    book = Workbook()
    sheet = book.active
    for row in (["Company ID", "Full name", "Job title", "Email", "Mobile", "Primary contact", "Accepts SMS"],
                ["E-2", "Marta Vega", "Front desk", "marta@vegaplaya.example", "+34 699 88 77 66", "yes", "yes"]):
        sheet.append(row)
    path = tmp_path / "contacts.xlsx"
    book.save(path)
    run = import_file(path=path, kind="contacts", source="erp", actor=actor)
    assert run.status == "done", run.errors
    marta = Contact.objects.get()
    assert (marta.customer, marta.role, marta.phone, marta.is_primary) == (
        companies["Hotel Vega Playa S.A."], "Front desk", "+34699887766", True)
    assert contact_consents_current([marta.pk]) == {marta.pk: {"sms": True}}


def test_a_dry_run_counts_without_writing(companies, write_csv, actor):
    run = import_file(path=write_csv(CONTACTS), kind="contacts", source="erp", actor=actor, dry_run=True)
    assert (run.status, run.rows_created) == ("validated", 3)
    assert not Contact.objects.exists()
