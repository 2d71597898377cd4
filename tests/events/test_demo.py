"""The demo's events: one past (attendance, no-shows, its report's purchases window
complete) and one upcoming, full, with a waiting list; written as history, so nothing is
queued for anyone; the pages have content."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from fideliza.accounts.services import Actor
from fideliza.engagement.models import Message
from fideliza.events.demo import events_demo_create
from fideliza.events.models import Event, Invitation
from fideliza.events.selectors import event_report
from fideliza.interactions.models import Interaction
from tests.factories.customers import customer_make

from .conftest import NOW

pytestmark = pytest.mark.django_db


def test_a_past_and_an_upcoming_event_with_answers_and_nothing_sent(client, owner, rep, clock):
    actor = Actor.of(owner)
    for n in range(80):
        customer_make(actor=actor, first_name=f"Cliente{n}", account_executive=(rep, None)[n % 2])
    counts = events_demo_create(today=NOW.date(), actor=actor)
    assert counts["events"] == 2
    past, upcoming = Event.objects.order_by("starts_at")
    assert past.ends_at < NOW - timedelta(days=30) < NOW + timedelta(days=2) < upcoming.starts_at
    report = event_report(past, now=NOW)
    assert report.attended > 0 and report.no_shows > 0 and report.walk_ins > 0 and report.window_complete
    assert Interaction.objects.filter(kind="event").count() == report.attended
    assert Interaction.objects.filter(occurred_at__gt=NOW).count() == 0
    coming = event_report(upcoming, now=NOW)
    assert coming.accepted == upcoming.capacity and coming.waiting > 0 and coming.declined > 0
    assert not Message.objects.exists()
    assert events_demo_create(today=NOW.date(), actor=actor)["events"] == 0  # once
    client.force_login(owner)
    for url in (reverse("events:list"), reverse("events:detail", args=[past.pk]),
                reverse("events:detail", args=[upcoming.pk]), reverse("events:checkin", args=[upcoming.pk])):
        assert client.get(url).status_code == 200
    client.force_login(rep)
    page = client.get(reverse("events:detail", args=[upcoming.pk])).content.decode()
    mine = Invitation.objects.filter(event=upcoming, customer__account_executive=rep).count()
    assert f"({mine})" in page
