"""Issue 15 part 4 in a browser: a sales representative opens a company's card, adds two
contact persons, makes the second one primary, records her consent, logs a call naming her,
and deactivates the first one; the card shows each step."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from fideliza.accounts.services import Actor
from fideliza.customers.models import Contact
from fideliza.customers.selectors import contact_consents_current
from fideliza.interactions.models import Interaction
from tests.clock import MIDSUMMER
from tests.factories.customers import customer_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(MIDSUMMER, tick=True)


@pytest.fixture
def company(django_user_model, owner):
    rep = django_user_model.objects.create_user(username="comercial1", password="clave-segura-1", role="sales_rep")
    return customer_make(actor=Actor.of(owner), kind="company", company_name="Construcciones Vega S.L.",
                         email="info@vega.example", account_executive=rep)


def test_a_representative_manages_a_companys_contacts_from_its_card(page, log_in, company):
    log_in("comercial1", "clave-segura-1")
    page.goto(f"/clientes/{company.pk}/")
    section = page.locator("#contactos")
    expect(section).to_contain_text("Ninguna persona de contacto.")

    for name, role, email in (("Ana García", "Compras", "ana@vega.example"),
                              ("Marta Vega", "Gerencia", "marta@vega.example")):
        section.locator("#add-contact > summary").click()
        form = section.locator("#contact-form")
        form.get_by_label("Nombre y apellidos").fill(name)
        form.get_by_label("Cargo").fill(role)
        form.get_by_label("E-mail").fill(email)
        form.get_by_role("button", name="Añadir").click()
        expect(page.locator(".messages")).to_contain_text("Persona de contacto añadida.")
    ana, marta = Contact.objects.order_by("pk")
    expect(page.locator(f"#contacto-{ana.pk}")).to_contain_text("Principal")

    page.locator(f"#contacto-{marta.pk}").get_by_role("button", name="Hacer principal").click()
    expect(page.locator(".messages")).to_contain_text("Marta Vega es ahora el contacto principal.")
    expect(page.locator(f"#contacto-{marta.pk}")).to_contain_text("Principal")

    page.locator("#contact-consent > summary").click()
    consent = page.locator("#contact-consent-form")
    consent.get_by_label("Persona de contacto").select_option(label="Marta Vega (Gerencia)")
    consent.get_by_label("Canal").select_option("email")
    consent.get_by_label("Concedido").check()
    consent.get_by_role("button", name="Registrar").click()
    expect(page.locator(".messages")).to_contain_text("Consentimiento de Marta Vega registrado.")
    assert contact_consents_current([marta.pk]) == {marta.pk: {"email": True}}

    page.locator("#log-interaction > summary").click()
    page.get_by_label("Con quién de la empresa").select_option(label="Marta Vega (Gerencia)")
    page.get_by_label("Qué se habló").fill("Pide presupuesto de andamios")
    page.get_by_role("button", name="Guardar contacto").click()
    expect(page.locator("#timeline")).to_contain_text("con Marta Vega (Gerencia)")
    assert Interaction.objects.get().contact_id == marta.pk

    page.locator(f"#contacto-{ana.pk}").get_by_role("button", name="Dar de baja").click()
    expect(page.locator(".messages")).to_contain_text("Ana García dado de baja.")
    expect(page.locator(f"#contacto-{ana.pk}")).to_contain_text("De baja")
    ana.refresh_from_db()
    assert not ana.is_active
