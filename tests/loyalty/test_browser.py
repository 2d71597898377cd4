"""Issue 5's browser test: configure a program with a 3x category rule and a welcome
bonus, post an order through the API, see the points and tier progress on the customer
card, redeem a reward and see the coupon."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from fideliza.accounts.services import api_token_create
from fideliza.catalog.models import Category, Product
from fideliza.loyalty.models import Coupon, Member, Program, Reward, Tier
from tests.browser.conftest import browser, log_in, page  # noqa: F401 (the shared browser fixtures)

from .conftest import make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_program_order_card_reward_coupon(page, log_in, owner, live_server):  # noqa: F811
    tools = Category.objects.create(name="Herramientas")
    Product.objects.create(sku="TAL-1", name="Taladro", category=tools, list_price=Decimal("100.00"))
    customer = make_customer(first_name="Lucía", last_name="García")
    token = api_token_create(user=owner, name="TPV")[1]
    log_in("duena", "clave-segura-1")

    # 1. The program, with a welcome bonus, then a 3x rule for the Herramientas category.
    page.goto("/fidelizacion/")
    page.get_by_role("link", name="Crear el programa").click()
    page.get_by_label("Nombre").fill("Club Ferretería")
    page.get_by_label("Puntos de bienvenida").fill("50")
    page.get_by_role("button", name="Guardar").click()
    expect(page.get_by_role("heading", name="Programa de fidelización")).to_be_visible()
    page.get_by_role("link", name="Añadir una regla").click()
    page.get_by_label("Nombre").fill("Herramientas x3")
    page.get_by_label("Puntos").fill("1")
    page.get_by_label("Multiplicador").fill("3")
    page.get_by_label("Categoría").select_option(label="Herramientas")
    page.get_by_role("button", name="Guardar").click()
    expect(page.locator("#rules")).to_contain_text("Herramientas x3")
    program = Program.objects.get()
    for name, rank, threshold in [("Bronce", 0, 0), ("Plata", 1, 500), ("Oro", 2, 1500)]:
        Tier.objects.create(program=program, name=name, rank=rank, threshold=threshold)
    reward = Reward.objects.create(program=program, name="Vale de 10 €", points_cost=300, value=Decimal("10"))

    # 2. An order from the till, through the REST API.
    response = page.request.post(f"{live_server.url}/api/v1/orders", headers={
        "Authorization": f"Bearer {token}", "Idempotency-Key": "tpv-1-0001"},
        data={"customer_id": customer.pk, "source": "tpv", "external_id": "T-0001",
              "placed_at": "2025-03-29T10:30:00+01:00", "lines": [{"sku": "TAL-1", "quantity": "2"}]})
    assert response.status == 201, response.text()

    # 3. The card: 2 × 100 € × 3 + 50 = 650 points, Bronce, 300 € missing for Plata.
    page.goto(f"/clientes/{customer.pk}/")
    card = page.locator("#fidelizacion")
    expect(card.locator("#loyalty-points")).to_have_text("650")
    expect(card.locator("#loyalty-tier")).to_contain_text("Bronce")
    expect(card.locator("#loyalty-progress")).to_contain_text(re.compile(r"Le faltan 300,00\s€ de gasto para Plata"))

    # 4. Redeem a reward from the card; its coupon appears.
    card.get_by_text("Canjear una recompensa").click()
    card.get_by_label("Recompensa").select_option(value=str(reward.pk))
    card.get_by_role("button", name="Canjear").click()
    coupon = Coupon.objects.get(customer=customer)
    expect(page.locator(".messages")).to_contain_text(coupon.code)
    expect(page.locator("#loyalty-coupons")).to_contain_text(coupon.code)
    expect(page.locator("#loyalty-points")).to_have_text("350")
    assert Member.objects.get(customer=customer).points_balance == 350
