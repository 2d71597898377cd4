"""One active enrolment per customer and automation: a new cause while a journey runs is
folded into it (recorded, not sent), in the code and in the database."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from fideliza.automations.models import Enrollment, Occurrence, StepRun
from fideliza.automations.selectors import automations_dry_run
from fideliza.automations.services import automations_run, enrollments_create
from fideliza.automations.triggers import Hit
from fideliza.engagement.models import Message

from .conftest import make_automation, make_customer, make_order

MADRID = ZoneInfo("Europe/Madrid")
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=MADRID)


def _messages(automation):
    return Message.objects.filter(source__startswith=f"automation:{automation.pk}:")


@pytest.mark.django_db
def test_a_new_cause_during_a_running_journey_is_folded_not_sent():
    buyer = make_customer()
    make_order(buyer, NOON - timedelta(hours=3))
    # Two steps a week apart: the journey is still running when the customer buys again.
    follow_up = make_automation("post_purchase", params={"days_after": 0}, steps=2, delay_days=7)
    automations_run(now=NOON)
    [journey] = Enrollment.objects.filter(automation=follow_up)
    assert journey.state == "active" and _messages(follow_up).count() == 1

    second = make_order(buyer, NOON + timedelta(hours=1))
    for later in (NOON + timedelta(hours=2), NOON + timedelta(hours=2, minutes=15)):
        stats = automations_run(now=later)
    assert stats[follow_up.pk]["enrolled"] == 0
    assert list(Enrollment.objects.filter(automation=follow_up)) == [journey]
    [folded] = Occurrence.objects.filter(automation=follow_up)
    assert (folded.customer_id, folded.trigger_key, folded.outcome, folded.enrollment_id) == \
        (buyer.pk, f"order:{second.pk}", "folded", journey.pk)
    assert _messages(follow_up).count() == 1  # nothing sent for the folded cause

    # Step 2 goes out once; after the journey ends, the folded cause does not come back.
    automations_run(now=NOON + timedelta(days=7, hours=1))
    automations_run(now=NOON + timedelta(days=7, hours=2))
    journey.refresh_from_db()
    assert journey.state == "completed"
    assert _messages(follow_up).count() == 2 and Enrollment.objects.filter(automation=follow_up).count() == 1


@pytest.mark.django_db
def test_several_causes_at_once_make_one_enrollment_and_one_message():
    people = [make_customer() for _ in range(3)]
    automation = make_automation("welcome")
    hits = [Hit(c.pk, key, {"n": i}) for c in people for i, key in enumerate(("c", "a", "b"))]
    stats = enrollments_create(automation=automation, hits=hits, now=NOON)
    assert stats == {"treated": 3, "holdout": 0, "folded": 6}
    # The first key in order starts the journey; the others are recorded against it.
    assert sorted(Enrollment.objects.values_list("customer_id", "trigger_key")) == [(c.pk, "a") for c in people]
    for e in Enrollment.objects.all():
        assert sorted(e.folded.values_list("trigger_key", flat=True)) == ["b", "c"]
    # The dry run shows one row per customer, as the run will send.
    rows = automations_dry_run(now=NOON, automation_ids=[automation.pk])
    assert sorted(r.customer_id for r in rows) == sorted(c.pk for c in people)
    automations_run(now=NOON)
    assert _messages(automation).count() == 3
    # Seen again, nothing new: every key is taken.
    assert enrollments_create(automation=automation, hits=hits, now=NOON + timedelta(hours=1)) == \
        {"treated": 0, "holdout": 0, "folded": 0}


@pytest.mark.django_db
def test_the_database_refuses_a_second_active_enrollment():
    customer = make_customer()
    automation = make_automation("welcome")
    fields = {"automation": automation, "customer": customer, "group": "treated", "enrolled_at": NOON,
              "next_step": 1, "next_due_at": NOON}
    Enrollment.objects.create(trigger_key="first", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(trigger_key="second", **fields)
    # Ended journeys do not count: a new one may start.
    Enrollment.objects.update(state="completed", next_step=None, next_due_at=None)
    Enrollment.objects.create(trigger_key="second", **fields)
    assert Enrollment.objects.filter(state="active").count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_triggers_never_start_two_journeys():
    """Four runs at once, each seeing a different occurrence of the same customers."""
    people = [make_customer() for _ in range(60)]
    automation = make_automation("welcome", steps=2, delay_days=3)
    barrier = threading.Barrier(4)

    def one(i: int) -> str:
        try:
            barrier.wait()
            with transaction.atomic():
                enrollments_create(automation=automation, hits=[Hit(c.pk, f"cause:{i}") for c in people],
                                   now=NOON)
            return "ok"
        except Exception as exc:  # a failure the test must show
            return repr(exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(one, range(4)))
    assert outcomes == ["ok"] * 4
    assert Enrollment.objects.filter(automation=automation).count() == 60
    # Every other cause is folded into the one journey that won.
    assert Occurrence.objects.filter(automation=automation, outcome="folded").count() == 60 * 3
    for e in Enrollment.objects.filter(automation=automation):
        assert e.folded.count() == 3 and e.trigger_key not in set(e.folded.values_list("trigger_key", flat=True))
    automations_run(now=NOON)
    assert StepRun.objects.filter(automation=automation).count() == 60
    assert _messages(automation).count() == 60
