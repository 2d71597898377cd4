"""The company card's «Personas de contacto»: shown, added, edited, made primary, deactivated,
their consent recorded; the log-interaction form offers them; a representative reaches only
their own customers' contacts. Through the whole Django stack (client test)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from fideliza.accounts.services import Actor
from fideliza.customers.contacts import contact_create
from fideliza.customers.models import Contact, ContactConsentRecord
from fideliza.customers.selectors import contact_consents_current
from fideliza.customers.services import customer_create
from fideliza.interactions.models import Interaction

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 11, 0, tzinfo=ZoneInfo("Europe/Madrid"))


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def rep(django_user_model):
    return django_user_model.objects.create_user(username="comercial1", password="clave-segura-1", role="sales_rep")


@pytest.fixture
def company(owner, rep):
    return customer_create(actor=Actor.of(owner), data={"kind": "company", "company_name": "Construcciones Vega S.L.",
                                                        "employees": 40, "account_executive": rep})


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _card(client, company) -> str:
    response = client.get(f"/clientes/{company.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_add_edit_make_primary_and_deactivate_contacts_from_the_card(rep, company):
    client = _client(rep)
    page = _card(client, company)
    assert "Personas de contacto" in page and "Ninguna persona de contacto." in page

    added = client.post(f"/clientes/{company.pk}/contactos/", {
        "nuevo-name": "Ana García", "nuevo-role": "Compras", "nuevo-email": "ana@vega.example",
        "nuevo-phone": "611 22 33 44"}, follow=True)
    assert added.status_code == 200
    ana = Contact.objects.get()
    assert (ana.customer, ana.phone, ana.is_primary) == (company, "+34611223344", True)
    text = added.content.decode()
    assert "Persona de contacto añadida." in text and "ana@vega.example" in text and "Principal" in text

    client.post(f"/clientes/{company.pk}/contactos/", {"nuevo-name": "Luis Romero", "nuevo-email": "luis@vega.example"})
    luis = Contact.objects.get(name="Luis Romero")
    edited = client.post(f"/clientes/{company.pk}/contactos/{luis.pk}/", {
        f"c{luis.pk}-name": "Luis Romero Gil", f"c{luis.pk}-role": "Jefe de obra",
        f"c{luis.pk}-email": "luis@vega.example", f"c{luis.pk}-phone": ""}, follow=True)
    assert "Persona de contacto guardada." in edited.content.decode()
    luis.refresh_from_db()
    assert (luis.name, luis.role, luis.is_primary) == ("Luis Romero Gil", "Jefe de obra", False)

    made = client.post(f"/clientes/{company.pk}/contactos/{luis.pk}/principal/", follow=True)
    assert "Luis Romero Gil es ahora el contacto principal." in made.content.decode()
    assert list(Contact.objects.filter(is_primary=True)) == [luis]

    left = client.post(f"/clientes/{company.pk}/contactos/{luis.pk}/baja/", follow=True)
    text = left.content.decode()
    assert "La empresa se queda sin contacto principal" in text
    assert 'id="no-primary-contact"' in text  # the card says the company gets no messages
    luis.refresh_from_db()
    assert (luis.is_active, luis.is_primary) == (False, False)


def test_an_invalid_contact_is_shown_again_with_its_errors_in_spanish(rep, company):
    response = _client(rep).post(f"/clientes/{company.pk}/contactos/", {
        "nuevo-name": "Ana García", "nuevo-phone": "12"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "«12» no es un número de teléfono válido." in text and 'value="Ana García"' in text
    assert not Contact.objects.exists()


def test_a_contacts_consent_is_recorded_append_only_from_the_card(rep, company, owner):
    ana = contact_create(actor=Actor.of(owner), customer=company, data={"name": "Ana García",
                                                                         "email": "ana@vega.example"})
    client = _client(rep)
    for granted in ("1", "0"):
        response = client.post(f"/clientes/{company.pk}/contactos/consentimiento/", {
            "cc-contact": str(ana.pk), "cc-channel": "email", "cc-granted": granted, "cc-source": "por teléfono"},
            follow=True)
        assert "Consentimiento de Ana García registrado." in response.content.decode()
    assert ContactConsentRecord.objects.filter(contact=ana).count() == 2
    assert contact_consents_current([ana.pk]) == {ana.pk: {"email": False}}
    page = _card(client, company)
    assert "Historial de consentimientos (2 registros)" in page and "retirado" in page


def test_the_log_interaction_form_offers_the_companys_contacts(rep, company, owner):
    ana = contact_create(actor=Actor.of(owner), customer=company, data={"name": "Ana García", "role": "Compras"})
    client = _client(rep)
    page = _card(client, company)
    assert "Con quién de la empresa" in page and "Ana García (Compras)" in page
    client.post(f"/clientes/{company.pk}/interaccion/", {"kind": "call", "contact": str(ana.pk),
                                                        "text": "Pide presupuesto", "next_priority": "2"})
    call = Interaction.objects.get()
    assert call.contact == ana
    assert "con Ana García (Compras)" in _card(client, company)


def test_a_representative_cannot_touch_another_representatives_contacts(django_user_model, company, owner):
    other = django_user_model.objects.create_user(username="comercial2", password="clave-segura-1", role="sales_rep")
    ana = contact_create(actor=Actor.of(owner), customer=company, data={"name": "Ana García"})
    client = _client(other)
    assert client.get(f"/clientes/{company.pk}/").status_code == 404
    for url, data in ((f"/clientes/{company.pk}/contactos/", {"nuevo-name": "Intruso"}),
                      (f"/clientes/{company.pk}/contactos/{ana.pk}/", {f"c{ana.pk}-name": "Cambiado"}),
                      (f"/clientes/{company.pk}/contactos/{ana.pk}/principal/", {}),
                      (f"/clientes/{company.pk}/contactos/{ana.pk}/baja/", {}),
                      (f"/clientes/{company.pk}/contactos/consentimiento/", {"cc-contact": str(ana.pk)})):
        assert client.post(url, data).status_code == 404, url
    ana.refresh_from_db()
    assert (ana.name, ana.is_active, Contact.objects.count()) == ("Ana García", True, 1)


def test_a_person_card_without_contacts_shows_no_contacts_section(rep, owner):
    person = customer_create(actor=Actor.of(owner), data={"first_name": "Lucía", "account_executive": rep})
    assert 'id="contactos"' not in _card(_client(rep), person)


def test_the_owner_erases_one_contacts_data_from_the_card_and_a_representative_cannot(rep, company, owner):
    ana = contact_create(actor=Actor.of(owner), customer=company, data={"name": "Ana García",
                                                                         "email": "ana@vega.example"})
    luis = contact_create(actor=Actor.of(owner), customer=company, data={"name": "Luis Romero"})
    url = f"/clientes/{company.pk}/contactos/{ana.pk}/suprimir/"
    rep_client = _client(rep)
    assert "Suprimir sus datos" not in _card(rep_client, company)
    assert rep_client.post(url, {f"s{ana.pk}-confirm": "on"}).status_code == 403
    client = _client(owner)
    assert "Suprimir sus datos" in _card(client, company)
    unconfirmed = client.post(url, {}, follow=True)
    assert "Marque la confirmación para suprimir." in unconfirmed.content.decode()
    ana.refresh_from_db()
    assert ana.name == "Ana García"
    done = client.post(url, {f"s{ana.pk}-confirm": "on"}, follow=True)
    text = done.content.decode()
    assert "Datos de la persona de contacto suprimidos." in text and "ana@vega.example" not in text
    ana.refresh_from_db()
    assert (ana.name, ana.email, ana.is_active) == ("[suprimido]", "", False)
    luis.refresh_from_db()
    assert luis.name == "Luis Romero"
