"""The outbox end to end with the tasks API: nothing is sent before the deciding transaction
commits, nothing after it rolls back; the sweep picks what fell due (test settings run tasks
immediately at enqueue)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from fideliza.engagement.models import Message
from fideliza.engagement.outbox import due_message_ids
from fideliza.engagement.services import messages_queue
from fideliza.engagement.tasks import outbox_sweep

from .conftest import make_customer, request


@pytest.fixture(autouse=True)
def _clock(time_machine, noon):
    """Tuesday 10 March 2026 at noon, ticking (the SMTP sink and the tasks run in real time)."""
    time_machine.move_to(noon, tick=True)


@pytest.mark.django_db(transaction=True)
def test_send_waits_for_commit_and_never_follows_a_rollback(smtp_sink):
    c = make_customer(first_name="Nuria")
    with transaction.atomic():
        [d] = messages_queue([request(c, subject="Bienvenida")])
        assert smtp_sink.messages == []  # the row is not committed yet: no task has run
    assert [m["Subject"] for m in smtp_sink.messages] == ["Bienvenida"]
    assert Message.objects.get(pk=d.message_id).status == "sent"

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        messages_queue([request(c, subject="Nunca")])
        raise Abort
    assert len(smtp_sink.messages) == 1 and not Message.objects.filter(subject="Nunca").exists()


@pytest.mark.django_db
def test_sweep_sends_what_fell_due_and_leaves_fresh_rows_to_their_task(smtp_sink):
    c = make_customer()
    past = timezone.now() - timedelta(days=1)
    scheduled = messages_queue([request(c, source="campaign:1", not_before=past + timedelta(hours=1))],
                               now=past)[0]
    fresh = messages_queue([request(c, source="campaign:2")])[0]  # its on-commit task carries it
    assert due_message_ids() == [scheduled.message_id]
    result = outbox_sweep.call()
    assert result == {"requeued": 0, "enqueued": 1}
    assert Message.objects.get(pk=scheduled.message_id).status == "sent"
    assert Message.objects.get(pk=fresh.message_id).status == "queued"
    Message.objects.filter(pk=fresh.message_id).update(created_at=timezone.now() - timedelta(hours=1))
    assert due_message_ids() == [fresh.message_id]  # its task was lost: the sweep takes over
