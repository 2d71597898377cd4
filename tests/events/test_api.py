"""The events API: events for every role, invitations of visible customers only, inviting
for owner and marketing (through the gate, idempotent), answers recorded by staff."""

from __future__ import annotations

import pytest

from fideliza.accounts.services import Actor
from fideliza.events.models import Invitation
from fideliza.events.services import invitations_send

pytestmark = pytest.mark.django_db


def _client(client, user):
    client.force_login(user)
    return client


def test_events_and_the_visible_invitations(client, rep, event, owner, guests, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitations_send(actor=Actor.of(owner), event=event)
    api = _client(client, rep)
    [item] = api.get("/api/v1/events").json()["items"]
    assert item["title"] == "Jornada de fin de año" and item["capacity"] == 2
    assert item["rsvp_deadline"].startswith("2026-06-18T18:00:00")
    rows = api.get(f"/api/v1/events/{event.pk}/invitations").json()["items"]
    assert {r["customer_id"] for r in rows} == {guests["lucia"].pk, guests["pablo"].pk}
    theirs = Invitation.objects.get(event=event, customer=guests["tomas"])
    assert api.post(f"/api/v1/events/invitations/{theirs.pk}/answer", {"answer": "yes"},
                    content_type="application/json").status_code == 404
    mine = Invitation.objects.get(event=event, customer=guests["lucia"])
    answered = api.post(f"/api/v1/events/invitations/{mine.pk}/answer", {"answer": "yes"},
                        content_type="application/json")
    assert answered.status_code == 200 and answered.json()["response"] == "yes"
    assert api.post(f"/api/v1/events/{event.pk}/invitations", {}, content_type="application/json").status_code == 403


def test_inviting_through_the_api_is_idempotent(client, marketing, event, guests, django_capture_on_commit_callbacks):
    api = _client(client, marketing)
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(f"/api/v1/events/{event.pk}/invitations", {"customers": [guests["lucia"].pk]},
                         content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
        again = api.post(f"/api/v1/events/{event.pk}/invitations", {"customers": [guests["lucia"].pk]},
                         content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.json() == {"invited": 1, "already": 0, "not_sent": {}} == again.json()
    assert again["Idempotent-Replayed"] == "true"
    rest = api.post(f"/api/v1/events/{event.pk}/invitations", {}, content_type="application/json").json()
    assert rest == {"invited": 4, "already": 1, "not_sent": {}}
