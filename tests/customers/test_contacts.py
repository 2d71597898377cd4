"""Contact persons of a company card: the primary mark, validation, merging two companies
(moves and dedups contacts, undo restores them) and erasure (with the company, or one alone)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from fideliza.accounts.models import AuditLog
from fideliza.accounts.services import Actor
from fideliza.customers.contacts import (
    contact_consent_record,
    contact_create,
    contact_deactivate,
    contact_erase,
    contact_set_primary,
    contact_update,
)
from fideliza.customers.merging import customer_merge, customer_merge_undo
from fideliza.customers.models import Contact, ContactConsentRecord
from fideliza.customers.privacy import customer_erase
from fideliza.customers.selectors import contact_consents_current
from fideliza.customers.services import customer_create
from fideliza.interactions.models import Interaction
from fideliza.interactions.services import interaction_log

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 12, 10, 30, tzinfo=ZoneInfo("Europe/Madrid"))


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def actor(owner) -> Actor:
    return Actor.of(owner)


def _company(actor, name="Construcciones Vega S.L.", **data):
    return customer_create(actor=actor, data={"kind": "company", "company_name": name, **data})


def _add(actor, company, name, **data):
    return contact_create(actor=actor, customer=company, data={"name": name, **data})


def test_the_first_contact_is_primary_and_the_mark_moves(actor):
    company = _company(actor)
    ana = _add(actor, company, "Ana García", email="Ana@Vega.example", phone="611 22 33 44", role="Compras")
    assert (ana.is_primary, ana.email, ana.phone) == (True, "ana@vega.example", "+34611223344")
    luis = _add(actor, company, "Luis Romero")
    assert not luis.is_primary
    contact_set_primary(actor=actor, contact=luis)
    assert list(Contact.objects.filter(customer=company, is_primary=True).values_list("name", flat=True)) == [
        "Luis Romero"]
    eva = _add(actor, company, "Eva Ruiz", is_primary=True)
    assert list(Contact.objects.filter(customer=company, is_primary=True)) == [eva]
    # Deactivating the primary leaves the card without one (the card says so).
    contact_deactivate(actor=actor, contact=eva)
    eva.refresh_from_db()
    assert (eva.is_active, eva.is_primary) == (False, False)
    assert not Contact.objects.filter(customer=company, is_primary=True).exists()
    with pytest.raises(ValidationError) as err:
        contact_set_primary(actor=actor, contact=eva)
    assert "is_primary" in err.value.message_dict
    # Every change is audited under the contact (creation, deactivation; the refusal is not).
    assert AuditLog.objects.filter(entity="customers.contact", entity_id=str(eva.pk)).count() == 2


def test_the_database_keeps_one_primary_per_card(actor):
    company = _company(actor)
    ana = _add(actor, company, "Ana García")
    luis = _add(actor, company, "Luis Romero")
    assert ana.is_primary
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(pk=luis.pk).update(is_primary=True)


def test_fields_are_validated_in_spanish(actor):
    company = _company(actor)
    with pytest.raises(ValidationError) as err:
        _add(actor, company, "Ana", phone="12")
    assert err.value.message_dict["phone"] == ["«12» no es un número de teléfono válido."]
    with pytest.raises(ValidationError) as err:
        _add(actor, company, "   ")
    assert err.value.message_dict["name"] == ["Escriba el nombre de la persona de contacto."]
    with pytest.raises(ValidationError) as err:
        _add(actor, company, "Ana", email="no-es-un-email")
    assert "email" in err.value.message_dict
    with pytest.raises(ValidationError):
        contact_create(actor=actor, customer=company, data={"name": "Ana", "salario": 3})


def test_consent_is_append_only_and_the_latest_wins(actor):
    ana = _add(actor, _company(actor), "Ana García", email="ana@vega.example")
    contact_consent_record(contact=ana, channel="email", granted=True, source="feria")
    contact_consent_record(contact=ana, channel="email", granted=False, source="teléfono")
    contact_consent_record(contact=ana, channel="sms", granted=True, source="feria")
    assert contact_consents_current([ana.pk]) == {ana.pk: {"email": False, "sms": True}}
    assert ContactConsentRecord.objects.filter(contact=ana).count() == 3
    with pytest.raises(ValidationError):
        contact_consent_record(contact=ana, channel="paloma", granted=True, source="x")


def test_merging_two_companies_moves_and_dedups_their_contacts_and_undo_restores(actor):
    survivor = _company(actor, "Vega S.L.", email="info@vega.example")
    duplicate = _company(actor, "VEGA SL", email="vega@antiguo.example")
    ana = _add(actor, survivor, "Ana García", email="ana@vega.example")
    _add(actor, survivor, "Luis Romero", phone="+34611000002")
    ana_twin = _add(actor, duplicate, "Ana García López", email="ANA@vega.example", phone="+34611000001",
                    role="Compras")
    luis_twin = _add(actor, duplicate, "L. Romero", phone="+34611000002")
    eva = _add(actor, duplicate, "Eva Ruiz", email="eva@vega.example")
    gone = _add(actor, duplicate, "Pedro Antiguo", email="ana@vega.example")
    contact_deactivate(actor=actor, contact=gone)  # inactive: moved as it is, never folded
    contact_consent_record(contact=ana_twin, channel="sms", granted=True, source="feria")
    call = interaction_log(actor=actor, customer=duplicate, kind="call", contact=eva, text="Pedido grande")
    visit = interaction_log(actor=actor, customer=duplicate, kind="visit", contact=ana_twin, text="Obra nueva")
    assert ana_twin.is_primary

    merge = customer_merge(actor=actor, survivor=survivor, duplicate=duplicate)

    active = Contact.objects.filter(customer=survivor, is_active=True).order_by("pk")
    assert [c.name for c in active] == ["Ana García", "Luis Romero", "Eva Ruiz"]
    ana.refresh_from_db()
    # Blank fields filled from the twin; the survivor's primary stays the only one.
    assert (ana.phone, ana.role, ana.is_primary) == ("+34611000001", "Compras", True)
    assert Contact.objects.filter(customer=survivor, is_primary=True).count() == 1
    assert contact_consents_current([ana.pk])[ana.pk] == {"sms": True}
    assert set(Contact.objects.filter(customer=duplicate).values_list("name", "is_active")) == {
        ("Ana García López", False), ("L. Romero", False)}
    assert Contact.objects.get(pk=gone.pk).customer_id == survivor.pk
    assert Interaction.objects.get(pk=call.pk).contact_id == eva.pk
    # A call with the folded person names the survivor's same person now.
    assert Interaction.objects.get(pk=visit.pk).contact_id == ana.pk

    customer_merge_undo(actor=actor, merge=merge)
    ana.refresh_from_db()
    assert (ana.phone, ana.role, ana.is_primary) == ("", "", True)
    assert not contact_consents_current([ana.pk])
    restored = {c.name: (c.customer_id, c.is_active, c.is_primary) for c in Contact.objects.all()}
    assert restored == {
        "Ana García": (survivor.pk, True, True), "Luis Romero": (survivor.pk, True, False),
        "Ana García López": (duplicate.pk, True, True), "L. Romero": (duplicate.pk, True, False),
        "Eva Ruiz": (duplicate.pk, True, False), "Pedro Antiguo": (duplicate.pk, False, False)}
    assert contact_consents_current([ana_twin.pk]) == {ana_twin.pk: {"sms": True}}
    assert luis_twin.pk in Contact.objects.filter(customer=duplicate).values_list("pk", flat=True)
    assert (Interaction.objects.get(pk=visit.pk).contact_id, Interaction.objects.get(pk=visit.pk).customer_id) == (
        ana_twin.pk, duplicate.pk)


def test_a_survivor_without_contacts_takes_the_duplicates_primary(actor):
    survivor = _company(actor, "Vega S.L.")
    duplicate = _company(actor, "VEGA SL")
    ana = _add(actor, duplicate, "Ana García", email="ana@vega.example")
    customer_merge(actor=actor, survivor=survivor, duplicate=duplicate)
    ana.refresh_from_db()
    assert (ana.customer_id, ana.is_primary) == (survivor.pk, True)


def test_erasing_one_contact_blanks_them_and_what_names_them(actor):
    company = _company(actor)
    ana = _add(actor, company, "Ana García", email="ana@vega.example", phone="+34611000001", notes="Su móvil")
    luis = _add(actor, company, "Luis Romero", email="luis@vega.example")
    contact_consent_record(contact=ana, channel="email", granted=True, source="web", ip_address="203.0.113.5",
                           wording="Acepto, Ana García")
    call = interaction_log(actor=actor, customer=company, kind="call", contact=ana, contact_name="Ana García",
                           text="Pide presupuesto")
    contact_update(actor=actor, contact=ana, data={"role": "Gerente"})

    contact_erase(actor=actor, contact=ana)

    ana.refresh_from_db()
    assert (ana.name, ana.email, ana.phone, ana.role, ana.notes, ana.is_active, ana.is_primary) == (
        "[suprimido]", "", "", "", "", False, False)
    record = ContactConsentRecord.objects.get(contact=ana)
    assert (record.channel, record.status, record.ip_address, record.wording) == ("email", "granted", None, "")
    call.refresh_from_db()
    assert (call.contact_id, call.contact_name, call.text) == (ana.pk, "", "Pide presupuesto")
    changes = AuditLog.objects.filter(entity="customers.contact", entity_id=str(ana.pk), action="update").get().changes
    assert changes == {"role": ["[suprimido]", "[suprimido]"]}
    luis.refresh_from_db()
    assert luis.name == "Luis Romero" and luis.email == "luis@vega.example"  # the others stay


def test_erasing_the_company_erases_its_contacts(actor):
    company = _company(actor, email="info@vega.example")
    ana = _add(actor, company, "Ana García", email="ana@vega.example", phone="+34611000001")
    contact_consent_record(contact=ana, channel="sms", granted=True, source="tienda", ip_address="203.0.113.9")
    interaction_log(actor=actor, customer=company, kind="visit", contact=ana, contact_name="Ana García")
    customer_erase(actor=actor, customer=company)
    ana.refresh_from_db()
    assert (ana.name, ana.email, ana.phone, ana.is_active) == ("[suprimido]", "", "", False)
    assert ContactConsentRecord.objects.get(contact=ana).ip_address is None
    assert not Interaction.objects.exclude(contact_name="").exists()
    assert not AuditLog.objects.filter(entity="customers.contact", changes__icontains="ana@vega.example").exists()


def test_no_contact_for_a_merged_card(actor):
    survivor, duplicate = _company(actor, "Vega S.L."), _company(actor, "VEGA SL")
    customer_merge(actor=actor, survivor=survivor, duplicate=duplicate)
    duplicate.refresh_from_db()
    with pytest.raises(ValidationError):
        _add(actor, duplicate, "Ana García")
