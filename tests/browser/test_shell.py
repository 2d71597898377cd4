"""The shell and the customer pages in a real browser (Debian's chromium, headless)."""

import re

import pytest
from playwright.sync_api import expect

from fideliza.accounts.services import Actor
from fideliza.customers.services import customer_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(owner):
    """A few customers, made by the owner through the service."""
    actor = Actor.of(owner)
    return {
        "munoz": customer_create(actor=actor, data={"first_name": "José", "last_name": "Muñoz Peña",
                                                    "email": "jose@example.com", "city": "Sevilla"}),
        "lopez": customer_create(actor=actor, data={"first_name": "Ana", "last_name": "López",
                                                    "city": "Córdoba"}),
    }


def test_login_shows_home_with_role_and_six_moves(page, log_in, owner):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    log_in("duena", "clave-segura-1")
    expect(page.get_by_role("heading", name="Inicio", level=1)).to_be_visible()
    expect(page.locator(".role-badge")).to_have_text("Propietario")
    nav = page.get_by_role("navigation", name="Navegación principal")
    for move in ("Relación", "Retención", "Rentabilización", "Referenciación", "Recuperación",
                 "Reactivación"):
        expect(nav.get_by_role("link", name=move)).to_be_visible()
    nav.get_by_role("link", name="Reactivación").click()
    expect(page.get_by_role("heading", name="Reactivación")).to_be_visible()
    # Win-back campaigns exist: offered as a link, not announced for later.
    expect(page.get_by_role("link", name=re.compile("Campañas de recuperación de clientes dormidos"))).to_be_visible()
    nav.get_by_role("link", name="Recuperación").click()
    # The complaints book exists now: a link to it, not a promise.
    expect(page.get_by_role("link", name=re.compile("Libro de quejas digital con su seguimiento"))).to_be_visible()


def test_wrong_password_is_refused_in_spanish(page, owner):
    page.goto("/login/")
    page.get_by_label("Usuario").fill("duena")
    page.get_by_label("Contraseña").fill("no-es-esta")
    page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_role("alert")).to_contain_text("introduzca un nombre de usuario y clave correctos")


def test_live_search_swaps_results_and_updates_the_url(page, log_in, shop):
    log_in("duena", "clave-segura-1")
    page.goto("/clientes/")
    results = page.locator("#customer-results")
    expect(results).to_contain_text("Ana López")
    page.get_by_placeholder("Nombre, empresa, e-mail, teléfono o NIF").press_sequentially("munoz")
    expect(results).not_to_contain_text("Ana López")
    expect(results).to_contain_text("José Muñoz Peña")
    expect(page).to_have_url(re.compile(r"/clientes/\?.*q=munoz"))
    # The search also works as a plain GET form (no JavaScript needed): reload keeps it.
    page.reload()
    expect(results).to_contain_text("José Muñoz Peña")
    expect(results).not_to_contain_text("Ana López")


def test_open_card_edit_it_and_see_the_audit_row(page, log_in, shop):
    log_in("duena", "clave-segura-1")
    page.goto("/clientes/")
    page.get_by_role("link", name="José Muñoz Peña").click()
    expect(page.get_by_role("heading", name="José Muñoz Peña", level=1)).to_be_visible()
    expect(page.locator("#consent-current")).to_contain_text("Sin registrar")
    page.get_by_role("link", name="Editar ficha").click()
    page.get_by_label("Ciudad").fill("Granada")
    page.get_by_label("Teléfono").fill("612 34 56 78")
    page.get_by_role("button", name="Guardar").click()
    expect(page.locator(".messages")).to_contain_text("Ficha guardada.")
    expect(page.locator("#audit-history")).to_contain_text("Sevilla")
    expect(page.locator("#audit-history")).to_contain_text("Granada")
    expect(page.get_by_role("link", name="+34612345678")).to_be_visible()


def test_english_switch_and_back(page, log_in, shop):
    log_in("duena", "clave-segura-1")
    page.goto("/clientes/")
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/en/clientes/$"))
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Customers")).to_be_visible()
    expect(nav.get_by_role("link", name="Retention")).to_be_visible()
    page.get_by_role("button", name="Español").click()
    expect(page).to_have_url(re.compile(r"/clientes/$"))
    expect(page.get_by_role("navigation").get_by_role("link", name="Clientes")).to_be_visible()
