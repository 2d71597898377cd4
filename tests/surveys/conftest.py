"""A shop with a loyalty program that gives points for surveys, a sales representative
with three customers who consented to e-mail, a segment of them, and a clock pinned to a
Madrid weekday morning (outside the quiet hours)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from fideliza.accounts.services import Actor
from fideliza.segments.models import Segment, SegmentKind, SegmentMember
from fideliza.surveys.services import survey_from_template
from tests.factories.customers import consent_grant, customer_make
from tests.factories.loyalty import member_make, program_make

TZ = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 6, 15, 11, 0, tzinfo=TZ)  # a Monday
SURVEY_POINTS = 25


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def rep(django_user_model):
    return django_user_model.objects.create_user(username="comercial1", password="clave-segura-1",
                                                 role="sales_rep", first_name="Javier")


@pytest.fixture
def program(db):
    return program_make(survey_points=SURVEY_POINTS, join_points=0)


@pytest.fixture
def shop(owner, rep, program, clock):
    """{"customers": [3 of the rep's customers, members, with e-mail consent], "segment"}."""
    actor = Actor.of(owner)
    customers = []
    for first, last in (("Lucía", "García"), ("Tomás", "Ibáñez"), ("Elena", "Ruiz")):
        c = customer_make(actor=actor, first_name=first, last_name=last, account_executive=rep,
                          email=f"{first.lower()}@example.com".replace("í", "i").replace("á", "a"))
        consent_grant(c, at=NOW - timedelta(days=30))
        member_make(c, program, at=NOW - timedelta(days=30))
        customers.append(c)
    segment = Segment.objects.create(name="Clientes de prueba", kind=SegmentKind.STATIC, member_count=3)
    SegmentMember.objects.bulk_create([SegmentMember(segment=segment, customer=c) for c in customers])
    return {"customers": customers, "segment": segment}


@pytest.fixture
def nps_survey(owner, clock):
    return survey_from_template(actor=Actor.of(owner), template="nps")
