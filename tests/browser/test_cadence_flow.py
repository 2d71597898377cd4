"""Issue 15's browser test (part 3, contact cadences): a sales representative logs in and
finds in «Mi día» the follow-up a cadence created for their Platino customer; from it,
logs a call with a next step on the card in two clicks («Registrar el contacto en la
ficha», «Guardar contacto»); the cadence's clock is reset (tomorrow's run creates nothing,
the customer leaves «Perdiendo contacto») and the next step is on the list. The other
representative's customer and follow-up never appear, neither in the pages nor in the API."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from playwright.sync_api import expect

from fideliza.accounts.services import Actor
from fideliza.cadences.services import cadence_rule_save, cadences_run
from fideliza.followups.models import FollowUp
from fideliza.followups.services import local_moment
from fideliza.interactions.models import Interaction
from tests.cadences.conftest import in_tier
from tests.clock import MIDSUMMER
from tests.factories.customers import customer_make
from tests.factories.loyalty import program_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """Wednesday noon, ticking: the cadence's follow-ups are due at 09:00 today."""
    time_machine.move_to(MIDSUMMER, tick=True)


@pytest.fixture
def cadence(django_user_model, owner):
    from fideliza.loyalty.models import Tier
    from fideliza.loyalty.services import loyalty_config_save

    rep = django_user_model.objects.create_user(username="comercial1", password="clave-segura-1",
                                                role="sales_rep", first_name="Javier")
    rep2 = django_user_model.objects.create_user(username="comercial2", password="clave-segura-1",
                                                 role="sales_rep", first_name="Marta")
    actor = Actor.of(owner)
    program = program_make(actor=actor)
    platino = loyalty_config_save(obj=Tier(program=program, name="Platino", rank=1, threshold=2000), actor=actor)
    mine = customer_make(actor=actor, first_name="Lucía", last_name="García", account_executive=rep)
    theirs = customer_make(actor=actor, first_name="Tomás", last_name="Ibáñez", account_executive=rep2)
    for c in (mine, theirs):
        in_tier(c, program, platino, MIDSUMMER - timedelta(days=200))
    rule = cadence_rule_save(actor=actor, data={
        "name": "Platino: llamar cada 30 días", "audience": "tier", "tier": platino, "every_days": 30,
        "kinds": ["call", "visit"], "starts_on": MIDSUMMER.date() - timedelta(days=45),
        "title_template": "Llamar a {{ nombre_completo }} ({{ cadencia }})"})
    assert cadences_run() == {rule.pk: 2}
    return rep, mine, theirs, rule


def test_a_representative_answers_a_cadence_followup_from_my_day(page, log_in, cadence):
    rep, mine, theirs, rule = cadence
    log_in("comercial1", "clave-segura-1")
    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Mi día").click()
    today = page.locator("#hoy")
    expect(today).to_contain_text("Llamar a Lucía García (Platino: llamar cada 30 días)")
    expect(today).to_contain_text("Cadencia de contacto")
    expect(page.get_by_text("Tomás Ibáñez")).to_have_count(0)
    expect(page.get_by_text("Llamar a Tomás")).to_have_count(0)
    followup = FollowUp.objects.get(customer=mine, origin_kind="cadence")

    # Click 1: from the follow-up to the card, the contact form open and the follow-up chosen.
    page.locator(f"#seguimiento-{followup.pk}").get_by_role("link", name="Registrar el contacto en la ficha").click()
    expect(page.get_by_role("heading", name="Lucía García", level=1)).to_be_visible()
    expect(page.get_by_label("Llamada")).to_be_checked()
    expect(page.get_by_label("Da por hecho el seguimiento")).to_have_value(str(followup.pk))
    page.get_by_label("Qué se habló").fill("Contenta con el servicio; quiere ver la nueva gama de jardín")
    page.get_by_label("Siguiente paso", exact=True).fill("Enviar catálogo de jardín")
    page.get_by_label("Fecha del siguiente paso").fill(MIDSUMMER.date().isoformat())
    page.locator("#id_next_time").fill("18:00")
    # Click 2: the call, the follow-up done and the next step, in one save.
    page.get_by_role("button", name="Guardar contacto").click()
    expect(page.locator(".messages")).to_contain_text("Interacción registrada; siguiente paso")

    followup.refresh_from_db()
    assert followup.status == "done"
    call = Interaction.objects.get()
    assert (call.customer_id, call.user_id, call.kind) == (mine.pk, rep.pk, "call")

    # The clock was reset: tomorrow's (and next week's) run creates nothing for her.
    for days in (1, 7):
        created = cadences_run(now=MIDSUMMER + timedelta(days=days))
        assert created == {rule.pk: 0}
    assert FollowUp.objects.filter(customer=mine, origin_kind="cadence").count() == 1

    # The next step is on «Mi día»; the cadence's follow-up is no longer.
    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Mi día").click()
    today = page.locator("#hoy")
    expect(today).to_contain_text("Enviar catálogo de jardín")
    expect(today).not_to_contain_text("Platino: llamar cada 30 días")
    assert FollowUp.objects.get(customer=mine, origin_kind="interaction").due_at == \
        local_moment(MIDSUMMER.date(), time(18))

    # «Perdiendo contacto», linked from «Mi día»: she is no longer late; Tomás never shows.
    page.get_by_role("link", name="Clientes perdiendo contacto").click()
    expect(page.get_by_role("heading", name="Perdiendo contacto", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Ningún cliente ha pasado el plazo de su cadencia.")
    expect(page.get_by_text("Tomás Ibáñez")).to_have_count(0)

    # The API: only her follow-ups and interactions; the other's card is a 404.
    assert page.request.get(f"/clientes/{theirs.pk}/").status == 404
    listed = page.request.get("/api/v1/followups").json()
    assert {f["customer_id"] for f in listed["items"]} == {mine.pk}
    assert {i["customer_id"] for i in page.request.get("/api/v1/interactions").json()["items"]} == {mine.pk}
    assert FollowUp.objects.filter(customer=theirs, origin_kind="cadence", status="open").count() == 1
