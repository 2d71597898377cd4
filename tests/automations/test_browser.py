"""Browser: create an automation with a step, simulate today (htmx), run it, read its report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from fideliza.automations.models import Automation
from fideliza.automations.services import automations_run
from fideliza.engagement.models import Message
from tests.browser.conftest import browser, log_in, page  # noqa: F401 (the shared browser fixtures)
from tests.clock import MIDSUMMER

from .conftest import make_customer, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """From Wednesday 11 June 2025 at noon, ticking (the live server and the browser wait on time)."""
    time_machine.move_to(MIDSUMMER, tick=True)


def test_create_simulate_run_and_report(page, log_in, owner, live_server):  # noqa: F811
    buyer = make_customer(first_name="Inés", last_name="Moreno")
    make_order(buyer, MIDSUMMER - timedelta(hours=1))
    log_in("duena", "clave-segura-1")

    page.goto("/")
    page.get_by_role("link", name="Automatizaciones").first.click()
    page.get_by_role("link", name="Nueva automatización").click()
    page.get_by_label("Nombre", exact=True).fill("Bienvenida")
    page.get_by_label("Disparador", exact=True).select_option("welcome")
    page.get_by_label("Grupo de control", exact=True).fill("0")
    page.get_by_label("Activa", exact=True).check()
    page.get_by_label("Asunto del e-mail").first.fill("¡Hola, {{ nombre }}!")
    page.get_by_label("E-mail (texto)").first.fill("Gracias por tu primera compra.")
    page.get_by_role("button", name="Guardar automatización").click()
    # Switching on asks whether Inés, who already bought, enters too (default: no).
    expect(page.get_by_role("heading", name="Activar «Bienvenida»")).to_be_visible()
    expect(page.locator("#existing-count")).to_have_text("Ahora mismo 1 cliente ya cumple la condición.")
    expect(page.get_by_label("Solo las causas nuevas, desde este momento (recomendado)")).to_be_checked()
    page.get_by_label("También a los clientes que ya cumplen la condición (1 cliente)").check()
    page.get_by_role("button", name="Activar").click()
    expect(page.get_by_role("heading", name="Bienvenida", exact=True)).to_be_visible()
    automation = Automation.objects.get(name="Bienvenida")
    assert automation.is_active and automation.activation_scope == "existing" and automation.steps.count() == 1

    page.get_by_role("link", name="Simular hoy").click()
    expect(page.locator("#dry-run-rows")).to_contain_text("Inés Moreno")
    # Without ?run=1 the table arrives by htmx once the page has loaded.
    page.goto("/automatizaciones/simulacion/")
    expect(page.locator("#dry-run-rows")).to_contain_text("Inés Moreno")
    expect(page.locator("#dry-run-rows")).to_contain_text("¡Hola, {{ nombre }}!")
    assert not Message.objects.exists()

    automations_run()
    message = Message.objects.get(customer=buyer)
    assert message.subject == "¡Hola, Inés!"
    page.goto(f"/automatizaciones/{automation.pk}/")
    expect(page.get_by_text("Inés Moreno")).to_be_visible()
    expect(page.get_by_role("cell", name="En cola")).to_be_visible()
