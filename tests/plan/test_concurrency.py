"""Two people clicking «crear seguimientos» (or «guardar como segmento») on the same line
at the same moment (PostgreSQL: the week's action row is locked): each customer gets one
follow-up, and there is one segment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from fideliza.accounts.services import Actor
from fideliza.followups.models import FollowUp
from fideliza.plan.lines import line_get
from fideliza.plan.models import LineAction
from fideliza.plan.services import line_followups_create, line_segment_save
from fideliza.segments.models import Segment
from tests.factories.customers import customer_make
from tests.factories.sales import order_make

from .conftest import at

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")


def test_simultaneous_clicks_create_each_follow_up_and_the_segment_once(owner, django_user_model, clock):
    marketing = django_user_model.objects.create_user(username="marketing", password="clave-segura-1",
                                                      role="marketing")
    actor = Actor.of(owner)
    people = [customer_make(actor=actor, first_name=f"Dormido{n}") for n in range(6)]
    for c in people:
        order_make(c, placed_at=at(2024, 12, 10), total="40.00")
    line = line_get("dormant_1_2")
    assert line is not None
    go = threading.Event()

    def click(kind: str, user) -> int:
        go.wait()
        try:
            if kind == "followups":
                return line_followups_create(actor=Actor.of(user), line=line)[1]
            return line_segment_save(actor=Actor.of(user), line=line)[1]
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(click, kind, user) for kind in ("followups", "segment")
                   for user in (owner, marketing)]
        go.set()
        results = [f.result() for f in futures]
    assert sorted(results[:2]) == [0, 6] and sorted(results[2:]) == [0, 6]
    assert sorted(FollowUp.objects.filter(origin_kind="plan").values_list("customer_id", flat=True)) == \
        sorted(c.pk for c in people)
    assert Segment.objects.count() == 1 and LineAction.objects.count() == 2
