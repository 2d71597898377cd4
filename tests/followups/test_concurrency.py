"""Two people acting on one follow-up at the same moment (PostgreSQL: the services lock the
row). Exactly one change wins; the other is told the follow-up is already closed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from fideliza.accounts.services import Actor
from fideliza.followups.models import FollowUp, FollowUpStatus
from fideliza.followups.services import (
    followup_cancel,
    followup_complete,
    followup_create,
    local_moment,
)

from .conftest import NOW

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")


def test_a_completion_and_a_cancellation_at_once_leave_one_of_them(people, owner, rep):
    followup = followup_create(actor=Actor.of(owner), customer=people["mine"], title="Llamar",
                               due_at=local_moment(NOW.date(), time(17)))
    go = threading.Event()

    def act(kind: str) -> str:
        go.wait()
        try:
            if kind == "complete":
                followup_complete(actor=Actor.of(rep), followup=followup, outcome="Hablamos")
            else:
                followup_cancel(actor=Actor.of(owner), followup=followup, reason="Ya compró")
            return kind
        except ValidationError as exc:
            return exc.code or "invalid"
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(act, kind) for kind in ("complete", "cancel", "complete", "cancel")]
        go.set()
        outcomes = sorted(f.result() for f in futures)
    assert outcomes.count("closed") == 3
    row = FollowUp.objects.get(pk=followup.pk)
    winner = next(o for o in outcomes if o != "closed")
    assert row.status == (FollowUpStatus.DONE if winner == "complete" else FollowUpStatus.CANCELLED)
    assert (row.outcome, row.status_reason) in {("Hablamos", ""), ("", "Ya compró")}
