"""The foundation issue's browser test: a CSV with one bad row is refused with a Spanish
report, the corrected file is imported, and the new customer's card is found."""

import re

import pytest
from playwright.sync_api import expect

from fideliza.customers.models import Customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = "Id cliente;Nombre;Apellidos;Teléfono;E-mail;Ciudad\n"
BAD = HEADER + ("T-1;Carmen;Vidal Ortega;612345678;carmen@example.com;Sevilla\n"
                "T-2;Tomás;Gómez Ruiz;12;tomas@example.com;Málaga\n")
GOOD = BAD.replace(";12;", ";699 88 77 66;")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_import_bad_row_then_fixed_file_then_find_the_card(page, log_in, owner, tmp_path):
    bad = tmp_path / "clientes-tienda.csv"
    bad.write_text(BAD, encoding="utf-8")
    log_in("duena", "clave-segura-1")

    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Importaciones").click()
    page.get_by_role("link", name="Nueva importación").click()
    page.get_by_label("Tipo de datos").select_option("customers")
    page.get_by_label("Origen").fill("tienda")
    page.get_by_label("Archivo").set_input_files(str(bad))
    page.get_by_role("button", name="Continuar").click()

    # Columns recognised from the Spanish headers; validate.
    expect(page.locator("#import-preview")).to_contain_text("Carmen")
    page.get_by_role("button", name="Validar").click()

    # The row-by-row report, in Spanish, and nothing written.
    expect(page.locator("#import-status")).to_have_text("Con errores")
    errors = page.locator("#import-errors")
    expect(errors).to_be_visible()
    bad_row = errors.locator("tbody tr").first
    expect(bad_row).to_contain_text("3")
    expect(bad_row).to_contain_text("Teléfono")
    expect(bad_row).to_contain_text("12")
    expect(bad_row).to_contain_text("no es un número de teléfono válido")
    expect(page.get_by_text("No se ha importado nada")).to_be_visible()
    assert Customer.objects.count() == 0

    # Fix the file and send it again: validated, then imported.
    bad.write_text(GOOD, encoding="utf-8")
    page.get_by_label("Archivo").set_input_files(str(bad))
    page.get_by_role("button", name="Validar").click()
    expect(page.locator("#import-status")).to_have_text("Validado")
    expect(page.locator("#rows-created")).to_have_text("2")
    assert Customer.objects.count() == 0
    page.get_by_role("button", name="Importar").click()
    expect(page.locator("#import-status")).to_have_text("Importado")

    # Find the new customer and open the card.
    page.get_by_role("link", name="Ver los clientes").click()
    page.get_by_placeholder("Nombre, empresa, e-mail, teléfono o NIF").fill("tomas gomez")
    results = page.locator("#customer-results")
    expect(results).not_to_contain_text("Carmen")
    results.get_by_role("link", name="Tomás Gómez Ruiz").click()
    expect(page).to_have_url(re.compile(r"/clientes/\d+/$"))
    expect(page.get_by_role("heading", name="Tomás Gómez Ruiz", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="+34699887766")).to_be_visible()
    expect(page.locator(".source-ids")).to_contain_text("T-2")
    expect(page.locator("#audit-history")).to_contain_text("tienda")
