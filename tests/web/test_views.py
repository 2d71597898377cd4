"""The shell: login, home figures, the six moves, the language switch."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from fideliza.accounts.services import Actor
from fideliza.customers.services import customer_create
from fideliza.imports.models import ImportRun
from fideliza.sales.models import Order
from fideliza.web.moves import MOVES
from fideliza.web.selectors import home_figures
from tests.clock import SPRING_FORWARD
from tests.factories.sales import order_make, return_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """The home figures count the last 12 months up to today: 30 March 2025 (a DST day)."""
    time_machine.move_to(SPRING_FORWARD, tick=False)


@pytest.fixture
def rep(django_user_model):
    return django_user_model.objects.create_user(username="rep1", password="clave-rep-1", role="sales_rep")


def order(customer, ext, days_ago, total, currency="EUR"):
    return order_make(customer, external_id=ext, currency=currency, total=total,
                      placed_at=SPRING_FORWARD - timedelta(days=days_ago))


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))


def test_login_and_logout(client, owner):
    response = client.post(reverse("web:login"), {"username": "duena", "password": "clave-segura-1"})
    assert response.status_code == 302 and response["Location"] == reverse("web:home")
    home = client.get("/")
    assert home.status_code == 200 and "Propietario" in home.content.decode()  # role in header
    assert client.post(reverse("web:logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_shows_spanish_error(client, owner):
    response = client.post(reverse("web:login"), {"username": "duena", "password": "mal"})
    assert response.status_code == 200
    assert "Por favor, introduzca un nombre de usuario y clave correctos" in response.content.decode()


def test_home_figures_are_real_aggregates(owner):
    a = customer_create(actor=Actor.of(owner), data={"first_name": "A"})
    b = customer_create(actor=Actor.of(owner), data={"first_name": "B"})
    customer_create(actor=Actor.of(owner), data={"first_name": "C"})  # never bought
    order(a, "1", 10, "100.10")
    order(a, "2", 20, "50.05")
    order(b, "3", 400, "999.00")  # older than 12 months
    order(b, "4", 30, "20.00", currency="USD")
    first = Order.objects.get(external_id="1")
    return_make(first, returned_at=SPRING_FORWARD, amount="10.10")
    figures = home_figures(user=owner)
    assert figures.customers == 3
    assert figures.period.orders == 3 and figures.period.buying_customers == 2
    eur = figures.main_totals
    assert (eur.currency, eur.orders, eur.gross, eur.refunded, eur.net) == (
        "EUR", 2, Decimal("150.15"), Decimal("10.10"), Decimal("140.05"))
    assert [(t.currency, t.gross) for t in figures.other_totals] == [("USD", Decimal("20.00"))]


def test_home_figures_of_a_sales_rep_cover_their_customers(owner, rep):
    mine = customer_create(actor=Actor.of(owner), data={"first_name": "A", "account_executive": rep})
    other = customer_create(actor=Actor.of(owner), data={"first_name": "B"})
    order(mine, "1", 5, "10.00")
    order(other, "2", 5, "99.00")
    figures = home_figures(user=rep)
    assert figures.customers == 1 and figures.period.orders == 1
    assert figures.main_totals.gross == Decimal("10.00")


def test_home_page_renders_figures_and_last_imports(client, owner):
    c = customer_create(actor=Actor.of(owner), data={"first_name": "A"})
    order(c, "1", 5, "1234.50")
    ImportRun.objects.create(kind="customers", source="tpv", file_name="clientes-tienda.csv",
                             status="done", rows_total=12, created_by=owner)
    client.force_login(owner)
    body = client.get("/").content.decode()
    assert 'id="kpi-customers">1<' in body
    assert "1.234,50\xa0€" in body  # Decimal, Spanish format, business currency
    assert "clientes-tienda.csv" in body


def test_navigation_shows_the_six_moves_and_data_pages(client, owner):
    client.force_login(owner)
    body = client.get("/").content.decode()
    for title in ("Relación", "Retención", "Rentabilización", "Referenciación", "Recuperación",
                  "Reactivación", "Clientes", "Importaciones"):
        assert title in body, title
    assert reverse("admin:index") not in body  # owner without is_staff: no admin link


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.slug)
def test_each_move_page_explains_and_links(client, owner, move):
    owner.is_staff = True
    owner.save()
    client.force_login(owner)
    response = client.get(reverse("web:move", kwargs={"slug": move.slug}))
    body = response.content.decode()
    assert response.status_code == 200
    assert str(move.summary) in body.replace("&quot;", '"')
    assert reverse("customers:list") in body
    assert 'aria-current="page"' in body
    # Every tool offered as available opens (200); every tool announced for later is not in
    # the product: its page does not exist.
    for label, url in response.context["links"]:
        assert client.get(url).status_code == 200, (label, url)
    offered = {str(label) for label, _url in response.context["links"]}
    for tool in move.tools:
        if str(tool.label) in {str(x) for x in response.context["later"]}:
            assert tool.url() is None or (tool.requires is not None and not tool.requires()), tool.label
        else:  # in the product: offered, unless this user may not open it (the admin's catalogue)
            assert str(tool.label) in offered or not tool.may_open(owner), tool.label
    if response.context["later"]:
        assert "Llegará más adelante" in body


def test_moves_offer_what_the_product_has():
    """Birthday greetings and win-back campaigns exist (automations): never «más adelante»."""
    tools = {str(t.label): t for m in MOVES for t in m.tools}
    for label in ("Felicitaciones de cumpleaños automáticas por el canal preferido",
                  "Campañas de recuperación de clientes dormidos, con una oferta para volver",
                  "Aviso automático de puntos a punto de caducar",
                  "Libro de quejas digital con su seguimiento"):
        assert tools[label].available(), label
    assert tools["Encuestas para saber por qué nos eligen"].available()  # the surveys app
    assert tools["Libro de quejas digital con su seguimiento"].available()  # the complaints app


def test_home_pyramid_says_which_stages_are_covered(client, owner):
    client.force_login(owner)
    response = client.get("/")
    stages = response.context["pyramid"]
    ready = [str(label) for label, is_ready, _url in stages if is_ready]
    assert ready[:8] == ["Registre", "Identifique", "Diferencie", "Interactúe", "Segmente", "Personalice",
                         "Fidelice", "Rentabilice"]
    body = response.content.decode()
    if len(ready) == len(stages):
        assert "Fideliza tiene herramientas para todas." in body
    else:
        assert f"Fideliza tiene herramientas para {len(ready)} de las {len(stages)}" in body
    assert "ya cubre las dos primeras" not in body
    for _label, is_ready, url in stages:
        if url:
            assert is_ready and client.get(url).status_code == 200


def test_navigation_only_offers_pages_the_role_may_open(client, owner, rep):
    client.force_login(rep)
    body = client.get("/").content.decode()
    assert reverse("customers:list") in body
    assert reverse("imports:list") not in body  # representatives cannot import
    assert reverse("accounts:tokens") not in body
    client.force_login(owner)
    body = client.get("/").content.decode()
    assert reverse("imports:list") in body and reverse("accounts:tokens") in body


def test_unknown_move_is_404(client, owner):
    client.force_login(owner)
    assert client.get(reverse("web:move", kwargs={"slug": "inventada"})).status_code == 404


def test_staff_sees_admin_link(client, django_user_model):
    staff = django_user_model.objects.create_user(username="jefa", password="x", role="owner", is_staff=True)
    client.force_login(staff)
    assert reverse("admin:index") in client.get("/").content.decode()


def test_spanish_by_default_english_under_en(client, owner):
    client.force_login(owner)
    es = client.get("/clientes/").content.decode()
    assert '<html lang="es">' in es and ">Clientes<" in es and "Los seis movimientos" in es
    en = client.get("/en/clientes/").content.decode()
    assert '<html lang="en">' in en
    assert ">Customers<" in en and "The six moves" in en and "Retention" in en


def test_language_switch_points_at_the_same_page_in_the_other_language(client, owner):
    client.force_login(owner)
    es = client.get("/clientes/?q=ana").content.decode()
    assert 'name="next" value="/en/clientes/?q=ana"' in es and 'value="en"' in es
    # Reached /en/ by a link: no language cookie yet, the switch must still lead back.
    en = client.get("/en/clientes/").content.decode()
    assert 'name="next" value="/clientes/"' in en and 'value="es"' in en
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/clientes/"})
    assert response.status_code == 302 and response["Location"] == "/clientes/"
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/en/clientes/"})
    assert response["Location"] == "/en/clientes/"


def test_htmx_and_stylesheet_are_served_locally(client, owner):
    client.force_login(owner)
    body = client.get("/").content.decode()
    assert "/static/django_htmx/htmx-2.min.js" in body or "/static/django_htmx/htmx" in body
    assert "/static/web/fideliza.css" in body
    assert "https://" not in body.split("<body")[0]  # no CDN in <head>
