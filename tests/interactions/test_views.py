"""Logging a contact from the card (with a next step), the card's follow-ups and timeline,
as the owner and as a sales representative."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.test import Client

from fideliza.accounts.services import Actor
from fideliza.followups.models import FollowUp
from fideliza.followups.services import local_moment
from fideliza.interactions.models import Interaction
from fideliza.interactions.services import interaction_log

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_representative_logs_a_call_with_a_next_step_from_the_card(people, rep):
    customer = people["mine"]
    response = _client(rep).post(f"/clientes/{customer.pk}/interaccion/", {
        "kind": "call", "outcome": "interested", "text": "Quiere presupuesto de la terraza",
        "next_title": "Enviar presupuesto", "next_date": "2026-06-17", "next_time": "10:30",
        "next_priority": "1",
    }, follow=True)
    assert response.status_code == 200
    call = Interaction.objects.get()
    assert (call.customer, call.user, call.kind, call.via) == (customer, rep, "call", "web")
    followup = FollowUp.objects.get()
    assert call.next_followup == followup
    assert (followup.assignee, followup.due_at, followup.priority) == (
        rep, local_moment(date(2026, 6, 17), time(10, 30)), 1)
    text = response.content.decode()
    assert "Interacción registrada; siguiente paso" in text
    assert "Quiere presupuesto de la terraza" in text and "Enviar presupuesto" in text


def test_without_a_date_the_next_step_is_tomorrow_at_nine(people, rep):
    _client(rep).post(f"/clientes/{people['mine'].pk}/interaccion/", {
        "kind": "visit", "next_title": "Llevar muestras", "next_priority": "2"})
    assert FollowUp.objects.get().due_at == local_moment(date(2026, 6, 16), time(9))


def test_a_date_without_a_step_is_refused_and_nothing_is_saved(people, rep):
    response = _client(rep).post(f"/clientes/{people['mine'].pk}/interaccion/", {
        "kind": "call", "next_date": "2026-06-17", "next_priority": "2"})
    assert response.status_code == 400
    assert "Escriba qué hay que hacer" in response.content.decode()
    assert not Interaction.objects.exists() and not FollowUp.objects.exists()


def test_another_representatives_customer_is_a_404_for_every_write(people, rep):
    client = _client(rep)
    theirs = people["theirs"].pk
    assert client.get(f"/clientes/{theirs}/").status_code == 404
    assert client.post(f"/clientes/{theirs}/interaccion/", {"kind": "call", "next_priority": "2"}).status_code == 404
    assert client.post(f"/clientes/{theirs}/seguimiento/", {
        "title": "x", "due_date": "2026-06-17", "priority": "2"}).status_code == 404
    assert not Interaction.objects.exists() and not FollowUp.objects.exists()


def test_a_representative_may_not_hand_a_follow_up_to_someone_else(people, rep, rep2):
    response = _client(rep).post(f"/clientes/{people['mine'].pk}/seguimiento/", {
        "title": "Llamar", "due_date": "2026-06-17", "due_time": "09:00", "priority": "2", "assignee": rep2.pk})
    assert response.status_code == 400 and not FollowUp.objects.exists()


def test_the_owner_creates_a_follow_up_on_the_card(people, owner, rep):
    response = _client(owner).post(f"/clientes/{people['mine'].pk}/seguimiento/", {
        "title": "Invitar a la jornada", "due_date": "2026-06-20", "due_time": "12:00", "priority": "2"})
    assert response.status_code == 302
    followup = FollowUp.objects.get()
    assert (followup.assignee, followup.created_by) == (rep, owner)  # the account executive's


def test_the_timeline_filters_by_kind(people, owner):
    customer = people["nobody"]
    interaction_log(actor=Actor.of(owner), customer=customer, kind="meal", text="Comida en El Faro")
    client = _client(owner)
    everything = client.get(f"/clientes/{customer.pk}/").content.decode()
    assert "Comida en El Faro" in everything and 'id="cronologia"' in everything
    purchases = client.get(f"/clientes/{customer.pk}/?ver=compras").content.decode()
    assert "Comida en El Faro" not in purchases
    english = client.get(f"/en/clientes/{customer.pk}/?ver=interacciones").content.decode()
    assert "Lunch or dinner" in english and "Log a contact" in english


def test_from_my_day_the_card_opens_the_form_with_the_follow_up_to_mark_done(people, owner, rep):
    from fideliza.followups.services import followup_create

    pending = followup_create(actor=Actor.of(owner), customer=people["mine"], title="Devolver la llamada",
                              due_at=local_moment(date(2026, 6, 15), time(10)))
    client = _client(rep)
    assert f"?seguimiento={pending.pk}#log-interaction" in client.get("/mi-dia/").content.decode()
    card = client.get(f"/clientes/{people['mine'].pk}/?seguimiento={pending.pk}").content.decode()
    assert '<details id="log-interaction" open>' in card
    assert f'<option value="{pending.pk}" selected>Devolver la llamada' in card
    client.post(f"/clientes/{people['mine'].pk}/interaccion/", {
        "kind": "call", "outcome": "reached", "completes": pending.pk, "next_priority": "2"})
    pending.refresh_from_db()
    assert (pending.status, pending.outcome) == ("done", "Hablamos")
    assert "Devolver la llamada" not in client.get("/mi-dia/").content.decode()
