from __future__ import annotations

import pytest
from django.core.management import call_command

from fideliza.engagement.models import Message
from fideliza.engagement.selectors import customer_messages
from fideliza.engagement.services import messages_queue

from .conftest import make_customer, request

pytestmark = pytest.mark.django_db


def test_outbox_command_status_sweep_and_test_mail(smtp_sink, capsys):
    c = make_customer()
    [d] = messages_queue([request(c)])
    Message.objects.filter(pk=d.message_id).update(next_attempt_at=d.send_at)  # a retry that fell due
    call_command("outbox", "status")
    assert "queued     1" in capsys.readouterr().out
    call_command("outbox", "sweep")
    assert "due 1" in capsys.readouterr().out and len(smtp_sink.messages) == 1
    call_command("outbox", "send-test", "yo@example.com")
    assert smtp_sink.messages[-1]["To"] == "yo@example.com"
    assert [m.pk for m in customer_messages(c)] == [d.message_id]
