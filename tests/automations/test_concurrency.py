"""Two schedulers running automations at the same moment (PostgreSQL: row locks with SKIP
LOCKED). Nothing may be enrolled, logged or sent twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from fideliza.automations.models import Enrollment, StepRun
from fideliza.automations.services import automations_run
from fideliza.engagement.models import Message

from .conftest import make_automation, make_customer, make_order

pytestmark = [pytest.mark.django_db(transaction=True)]
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=ZoneInfo("Europe/Madrid"))


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")


def test_concurrent_runs_send_each_step_once():
    people = [make_customer() for _ in range(120)]
    for c in people:
        make_order(c, NOON - timedelta(hours=1))
    welcome = make_automation("welcome", steps=2, delay_days=0)
    go = threading.Event()

    def one(_i: int) -> str:
        go.wait()
        try:
            automations_run(now=NOON)
            return "ok"
        except Exception as exc:  # a failure the test must show
            return repr(exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(one, i) for i in range(4)]
        go.set()
        outcomes = [f.result() for f in futures]
    assert outcomes == ["ok"] * 4
    assert Enrollment.objects.filter(automation=welcome).count() == 120
    assert StepRun.objects.filter(automation=welcome).count() == 240
    assert Message.objects.filter(source__startswith=f"automation:{welcome.pk}:").count() == 240
