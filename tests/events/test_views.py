"""The staff pages: who may create and invite, what each role sees of the invitees (a
sales representative: only their own customers), the door's search and walk-ins, the
report on the event's page, the card's timeline, in Spanish and English."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from fideliza.accounts.services import Actor
from fideliza.events.models import Event, Invitation
from fideliza.events.services import checkin_mark, invitations_send, rsvp_answer
from tests.factories.sales import order_row_without_hooks

from .conftest import END, START

pytestmark = pytest.mark.django_db


@pytest.fixture
def invited(event, owner, guests, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitations_send(actor=Actor.of(owner), event=event)
    return event


def _login(client, user):
    client.force_login(user)
    return client


def test_owner_creates_an_event_from_the_form(client, owner, guests):
    _login(client, owner)
    page = client.post(reverse("events:create"), {
        "kind": "training", "title": "Taller de soldadura", "start_date": "2026-06-25", "start_time": "18:00",
        "end_time": "20:00", "place": "Tienda Norte", "city": "Córdoba", "capacity": "12",
        "deadline_date": "2026-06-24", "audience_segment": guests["segment"].pk, "audience_tiers": ["oro"],
        "status": "published"})
    event = Event.objects.get(title="Taller de soldadura")
    assert page.status_code == 302 and page["Location"] == reverse("events:detail", args=[event.pk])
    assert event.starts_at.isoformat() == "2026-06-25T16:00:00+00:00"  # 18:00 in Madrid, summer time
    assert event.rsvp_deadline is not None and event.audience_tiers == ["oro"]


def test_form_errors_are_on_the_fields_in_each_language(client, owner, guests):
    _login(client, owner)
    data = {"kind": "other", "title": "Mal", "start_date": "2026-06-25", "start_time": "20:00",
            "end_time": "18:00", "place": "", "status": "draft"}
    body = client.post(reverse("events:create"), data).content.decode()
    assert "El final debe ser posterior al comienzo." in body
    body = client.post("/en" + reverse("events:create"), data, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The end must be after the start." in body


def test_only_owner_and_marketing_create_and_invite(client, rep, invited):
    _login(client, rep)
    assert client.get(reverse("events:create")).status_code == 403
    assert client.post(reverse("events:invite", args=[invited.pk])).status_code == 403
    assert client.post(reverse("events:cancel", args=[invited.pk])).status_code == 403
    assert client.get(reverse("events:list")).status_code == 200


def test_a_representative_sees_only_their_customers_invitations(client, rep, invited, guests):
    _login(client, rep)
    body = client.get(reverse("events:detail", args=[invited.pk])).content.decode()
    assert "Lucía García" in body and "Pablo Sanz" in body
    for other in ("Tomás Ibáñez", "Elena Ruiz", "Nuria Vega"):
        assert other not in body
    door = client.get(reverse("events:checkin", args=[invited.pk]), {"q": "Tomás"}).content.decode()
    assert "Tomás" not in door.split("door-invited-heading")[-1]
    theirs = Invitation.objects.get(event=invited, customer=guests["tomas"])
    assert client.post(reverse("events:answer", args=[theirs.pk]), {"answer": "yes"}).status_code == 404
    assert client.post(reverse("events:checkin_mark", args=[invited.pk, theirs.pk])).status_code == 404
    assert client.post(reverse("events:walk_in", args=[invited.pk]), {"customer": guests["tomas"].pk}).status_code == 404


def test_staff_records_an_answer_given_by_phone(client, marketing, invited, guests):
    _login(client, marketing)
    inv = Invitation.objects.get(event=invited, customer=guests["elena"])
    client.post(reverse("events:answer", args=[inv.pk]), {"answer": "maybe"})
    inv.refresh_from_db()
    assert inv.response == "maybe"


def test_the_door_finds_by_name_marks_and_takes_walk_ins(client, owner, invited, guests):
    _login(client, owner)
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        page = client.get(reverse("events:checkin", args=[invited.pk]), {"q": "lucia garcia"}).content.decode()
        assert "Lucía García" in page and "Ha llegado" in page  # accents and case do not matter
        inv = Invitation.objects.get(event=invited, customer=guests["lucia"])
        client.post(reverse("events:checkin_mark", args=[invited.pk, inv.pk]), {"q": "lucia"})
        inv.refresh_from_db()
        assert inv.attended_at is not None
        page = client.get(reverse("events:checkin", args=[invited.pk]), {"q": "Óscar"}).content.decode()
        assert "Ha venido sin invitación" in page
        client.post(reverse("events:walk_in", args=[invited.pk]), {"customer": guests["outsider"].pk})
        response = client.post(reverse("events:walk_in_new", args=[invited.pk]),
                               {"first_name": "Rosa", "email": "no-es-un-email"})
        assert response.status_code == 400
        client.post(reverse("events:walk_in_new", args=[invited.pk]), {"first_name": "Rosa", "last_name": "Nueva"})
    assert Invitation.objects.filter(event=invited, walk_in=True, attended_at__isnull=False).count() == 2


def test_the_report_compares_attendees_with_the_invited_who_did_not_come(client, owner, invited, guests):
    for name in ("lucia", "tomas"):
        rsvp_answer(invitation=Invitation.objects.get(event=invited, customer=guests[name]), answer="yes")
    with time_machine.travel(START + timedelta(minutes=30), tick=False):
        checkin_mark(actor=Actor.of(owner), invitation=Invitation.objects.get(event=invited, customer=guests["lucia"]))
    order_row_without_hooks(guests["lucia"], placed_at=END + timedelta(days=3), total="80.00", source="t", external_id="1")
    order_row_without_hooks(guests["elena"], placed_at=END + timedelta(days=40), total="30.00", source="t", external_id="2")
    order_row_without_hooks(guests["nuria"], placed_at=END - timedelta(days=1), total="30.00", source="t", external_id="3")
    from fideliza.events.selectors import event_report

    with time_machine.travel(END + timedelta(days=45), tick=False):
        report = event_report(invited)
        _login(client, owner)
        body = client.get(reverse("events:detail", args=[invited.pk])).content.decode()
    assert (report.invited, report.accepted, report.pending, report.attended, report.no_shows) == (5, 2, 3, 1, 1)
    assert (report.attendees.customers, report.attendees.buyers, str(report.attendees.revenue)) == (1, 1, "80.00")
    assert (report.absentees.customers, report.absentees.buyers) == (4, 0)  # Elena bought on day 40, Nuria before
    assert report.window_complete
    assert "comparación observacional" in body and 'id="report-no-shows">1<' in body


def test_the_card_timeline_shows_the_invitation_and_the_attendance(client, owner, invited, guests):
    rsvp_answer(invitation=Invitation.objects.get(event=invited, customer=guests["lucia"]), answer="yes")
    rsvp_answer(invitation=Invitation.objects.get(event=invited, customer=guests["tomas"]), answer="yes")
    with time_machine.travel(START + timedelta(minutes=30), tick=False):
        checkin_mark(actor=Actor.of(owner), invitation=Invitation.objects.get(event=invited, customer=guests["lucia"]))
    _login(client, owner)
    with time_machine.travel(END + timedelta(days=1), tick=False):
        card = client.get(reverse("customers:detail", args=[guests["lucia"].pk]), {"ver": "eventos"}).content.decode()
        tomas = client.get(reverse("customers:detail", args=[guests["tomas"].pk]), {"ver": "eventos"}).content.decode()
        everything = client.get(reverse("customers:detail", args=[guests["lucia"].pk])).content.decode()
    assert "Jornada de fin de año" in card and "Asistió" in card
    assert "No asistió" in tomas
    assert "Asistencia a un evento" in everything  # the interaction logged at the door


def test_list_and_pages_in_english(client, owner, invited):
    _login(client, owner)
    body = client.get("/en/eventos/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Upcoming" in body and "Year-end day" in body
    body = client.get(f"/en/eventos/{invited.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Invitees" in body and "0 customers of the chosen audience not invited yet." in body
