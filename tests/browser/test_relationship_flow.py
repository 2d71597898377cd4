"""Issue 15's browser test (parts 1–2): a sales representative opens a customer's card,
logs a call with a next step in two clicks (open «Registrar contacto», «Guardar contacto»),
sees it on the card's timeline and finds the new follow-up in «Mi día»; another
representative's customers and follow-ups never appear, neither in the pages nor in the API."""

from __future__ import annotations

from datetime import time

import pytest
from playwright.sync_api import expect

from fideliza.accounts.services import Actor
from fideliza.followups.models import FollowUp
from fideliza.followups.services import followup_create, local_moment
from fideliza.interactions.models import Interaction
from tests.clock import MIDSUMMER
from tests.factories.customers import customer_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """Wednesday noon, ticking: a next step at 18:00 is due later today."""
    time_machine.move_to(MIDSUMMER, tick=True)


@pytest.fixture
def team(django_user_model, owner):
    rep = django_user_model.objects.create_user(username="comercial1", password="clave-segura-1",
                                                role="sales_rep", first_name="Javier")
    rep2 = django_user_model.objects.create_user(username="comercial2", password="clave-segura-1",
                                                 role="sales_rep", first_name="Marta")
    actor = Actor.of(owner)
    mine = customer_make(actor=actor, first_name="Lucía", last_name="García", account_executive=rep)
    theirs = customer_make(actor=actor, first_name="Tomás", last_name="Ibáñez", account_executive=rep2)
    followup_create(actor=actor, customer=theirs, title="Llamar a Tomás por su pedido",
                    due_at=local_moment(MIDSUMMER.date(), time(17)))
    return rep, mine, theirs


def test_a_representative_logs_a_call_with_a_next_step_and_finds_it_in_my_day(page, log_in, team):
    rep, mine, theirs = team
    log_in("comercial1", "clave-segura-1")
    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Clientes").click()
    expect(page.get_by_role("link", name="Lucía García")).to_be_visible()
    expect(page.get_by_text("Tomás Ibáñez")).to_have_count(0)
    page.get_by_role("link", name="Lucía García").click()
    expect(page.get_by_role("heading", name="Lucía García", level=1)).to_be_visible()

    # Click 1: open the form. The kind is a call unless another is chosen.
    page.locator("#log-interaction > summary").click()
    expect(page.get_by_label("Llamada")).to_be_checked()
    page.get_by_label("Qué se habló").fill("Quiere renovar las herramientas del taller")
    page.get_by_label("Siguiente paso", exact=True).fill("Enviar presupuesto del taller")
    page.get_by_label("Fecha del siguiente paso").fill(MIDSUMMER.date().isoformat())
    page.locator("#id_next_time").fill("18:00")
    # Click 2: save both, in one transaction.
    page.get_by_role("button", name="Guardar contacto").click()

    expect(page.locator(".messages")).to_contain_text("Interacción registrada; siguiente paso")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Quiere renovar las herramientas del taller")
    expect(timeline).to_contain_text("Enviar presupuesto del taller")
    expect(page.locator("#card-followups")).to_contain_text("Enviar presupuesto del taller")

    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Mi día").click()
    today = page.locator("#hoy")
    expect(today).to_contain_text("Enviar presupuesto del taller")
    expect(today).to_contain_text("Lucía García")
    expect(page.get_by_text("Llamar a Tomás por su pedido")).to_have_count(0)
    expect(page.get_by_text("Tomás Ibáñez")).to_have_count(0)

    call = Interaction.objects.get()
    assert (call.customer_id, call.user_id, call.kind) == (mine.pk, rep.pk, "call")
    assert FollowUp.objects.get(customer=mine).due_at == local_moment(MIDSUMMER.date(), time(18))

    # Mark it done from «Mi día».
    item = page.locator(f"#seguimiento-{call.next_followup_id}")
    item.get_by_label("Resultado o motivo").fill("Presupuesto enviado")
    item.get_by_role("button", name="Hecho").click()
    expect(page.locator(".messages")).to_contain_text("Seguimiento hecho")
    expect(page.locator("#hoy")).not_to_contain_text("Enviar presupuesto del taller")
    assert FollowUp.objects.get(customer=mine).outcome == "Presupuesto enviado"

    # The other representative's customer: 404 on the card, absent from the API.
    assert page.request.get(f"/clientes/{theirs.pk}/").status == 404
    listed = page.request.get("/api/v1/followups").json()
    assert {f["customer_id"] for f in listed["items"]} == {mine.pk}
    assert page.request.get("/api/v1/interactions").json()["items"][0]["customer_id"] == mine.pk
