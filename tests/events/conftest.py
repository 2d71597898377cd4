"""Fixtures of the events tests: a team (owner, marketing, two representatives), customers
with e-mail consent (some in a segment), an event on a Saturday evening, and a clock pinned
to the Wednesday morning before it in Madrid."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.utils import translation

from fideliza.accounts.services import Actor
from fideliza.events.models import Event, EventStatus
from fideliza.events.services import event_save
from fideliza.segments.models import Segment, SegmentKind, SegmentMember
from tests.factories.customers import consent_grant, customer_make

TZ = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 6, 10, 10, 0, tzinfo=TZ)          # a Wednesday morning
START = datetime(2026, 6, 20, 19, 0, tzinfo=TZ)        # Saturday evening
END = datetime(2026, 6, 20, 22, 0, tzinfo=TZ)
DEADLINE = datetime(2026, 6, 18, 20, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _skip_postgres_only_on_sqlite(request):
    if request.node.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")


@pytest.fixture(autouse=True)
def _spanish():
    """Each test starts in the business's language: a request to an /en/ page leaves English
    active in the thread, and an unprefixed page of the next test was rendered in it."""
    translation.activate("es")
    yield
    translation.activate("es")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _user(django_user_model, username: str, role: str, first_name: str = ""):
    return django_user_model.objects.create_user(username=username, password="clave-segura-1", role=role,
                                                 first_name=first_name)


@pytest.fixture
def marketing(django_user_model):
    return _user(django_user_model, "marketing", "marketing", "Ana")


@pytest.fixture
def rep(django_user_model):
    return _user(django_user_model, "comercial1", "sales_rep", "Javier")


@pytest.fixture
def rep2(django_user_model):
    return _user(django_user_model, "comercial2", "sales_rep", "Marta")


def guest(owner, *, consent: bool = True, **data):
    customer = customer_make(actor=Actor.of(owner), **data)
    if consent:
        consent_grant(customer, at=NOW - timedelta(days=60))
    return customer


@pytest.fixture
def guests(owner, rep, rep2, clock):
    """Five customers with e-mail consent in the segment «Clientes de Córdoba»: two of rep,
    one of rep2, two unassigned; plus one outside the segment."""
    people = {
        "lucia": guest(owner, first_name="Lucía", last_name="García", email="lucia@example.com", city="Córdoba",
                       account_executive=rep),
        "tomas": guest(owner, first_name="Tomás", last_name="Ibáñez", email="tomas@example.com", city="Córdoba",
                       account_executive=rep2),
        "elena": guest(owner, first_name="Elena", last_name="Ruiz", email="elena@example.com", city="Córdoba"),
        "pablo": guest(owner, first_name="Pablo", last_name="Sanz", email="pablo@example.com", city="Córdoba",
                       account_executive=rep),
        "nuria": guest(owner, first_name="Nuria", last_name="Vega", email="nuria@example.com", city="Córdoba"),
    }
    segment = Segment.objects.create(name="Clientes de Córdoba", kind=SegmentKind.STATIC, member_count=len(people))
    for customer in people.values():
        SegmentMember.objects.create(segment=segment, customer=customer)
    people["outsider"] = guest(owner, first_name="Óscar", last_name="Fuera", email="oscar@example.com", city="Sevilla")
    people["segment"] = segment  # type: ignore[assignment]
    return people


def event_data(**overrides):
    data = {"kind": "year_end", "title": "Jornada de fin de año", "description": "Brindis y demostraciones.",
            "starts_at": START, "ends_at": END, "place": "Tienda Centro, C/ Mayor 3", "city": "Córdoba",
            "capacity": 2, "rsvp_deadline": DEADLINE, "status": EventStatus.PUBLISHED}
    data.update(overrides)
    return data


@pytest.fixture
def event(owner, guests) -> Event:
    return event_save(actor=Actor.of(owner), data=event_data(audience_segment=guests["segment"]))
