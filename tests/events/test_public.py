"""The guest's pages: the personal link answers sí / no / quizá (a GET never does), the
waiting list says so, the deadline closes answers, the .ics downloads; forged, damaged
or foreign links get a Spanish page (404) and never a server error."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from icalendar import Calendar

from fideliza.accounts.services import Actor
from fideliza.events.models import Invitation
from fideliza.events.services import invitations_send, rsvp_token, rsvp_url

from .conftest import DEADLINE

pytestmark = pytest.mark.django_db


@pytest.fixture
def invited(event, owner, guests, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitations_send(actor=Actor.of(owner), event=event)
    return event


def _path(event, customer) -> str:
    return rsvp_url(event.pk, customer.pk).split("localhost:8000", 1)[-1]


def test_the_link_shows_the_event_and_a_get_changes_nothing(client, invited, guests):
    page = client.get(_path(invited, guests["lucia"]) + "?respuesta=si")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Jornada de fin de año" in body and "Hola, Lucía." in body and "Todavía no nos ha respondido." in body
    assert 'name="viewport"' in body  # phone-sized
    assert "no-store" in page["Cache-Control"]
    assert Invitation.objects.get(event=invited, customer=guests["lucia"]).response == "pending"


def test_answering_and_changing_until_the_deadline(client, invited, guests):
    path = _path(invited, guests["lucia"])
    assert "Su plaza está confirmada" in client.post(path, {"answer": "yes"}).content.decode()
    assert "Le echaremos de menos" in client.post(path, {"answer": "no"}).content.decode()
    assert Invitation.objects.get(event=invited, customer=guests["lucia"]).response == "no"
    with time_machine.travel(DEADLINE + timedelta(hours=1), tick=False):
        late = client.post(path, {"answer": "yes"})
        assert late.status_code == 400
        assert "El plazo para responder terminó el" in late.content.decode()
        assert "El plazo para responder terminó el" in client.get(path).content.decode()
    assert client.post(path, {"answer": "tal vez"}).status_code == 400


def test_a_full_event_puts_the_guest_on_the_waiting_list(client, invited, guests):
    for name in ("lucia", "tomas"):
        client.post(_path(invited, guests[name]), {"answer": "yes"})
    page = client.post(_path(invited, guests["elena"]), {"answer": "yes"})
    assert "queda en la lista de espera" in page.content.decode()


@pytest.mark.parametrize("token", [
    "nada", "WzEsMl0:firma-falsa", "::", "%00", "a" * 400, "W10:xx", "WyJhIiwiYiJd:abc",
])
def test_forged_or_damaged_links_get_a_spanish_page(client, invited, token):
    for url in (f"/evento/{token}/", f"/evento/{token}/calendario.ics"):
        page = client.get(url)
        assert page.status_code == 404
        assert "Enlace no válido" in page.content.decode()
        assert client.post(f"/evento/{token}/", {"answer": "yes"}).status_code == 404


def test_a_valid_signature_for_someone_not_invited_is_refused(client, invited, guests):
    token = rsvp_token(invited.pk, guests["outsider"].pk)
    assert client.get(f"/evento/{token}/").status_code == 404
    assert client.get(f"/evento/{rsvp_token(invited.pk + 99, guests['lucia'].pk)}/").status_code == 404


def test_the_calendar_file_downloads(client, invited, guests):
    response = client.get(_path(invited, guests["lucia"]) + "calendario.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    [entry] = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(entry["SUMMARY"]) == "Jornada de fin de año"


def test_a_cancelled_event_says_so(client, invited, guests, owner):
    from fideliza.events.services import event_cancel

    event_cancel(actor=Actor.of(owner), event=invited)
    page = client.get(_path(invited, guests["lucia"]))
    assert "Este evento se ha cancelado." in page.content.decode()
    assert client.post(_path(invited, guests["lucia"]), {"answer": "yes"}).status_code == 400

