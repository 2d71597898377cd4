"""Attachments of the outbox (added for the events' .ics): an app registers a provider for
its messages' source prefix; the files are built when the message is sent and travel as
MIME parts through a real SMTP server; other sources, and SMS, carry none; a provider that
fails is a temporary failure of that message, retried, never a lost row."""

from __future__ import annotations

import pytest

from fideliza.engagement import channels
from fideliza.engagement.channels import Attachment, attachment_provider_register
from fideliza.engagement.models import Message, MessageStatus
from fideliza.engagement.outbox import messages_send
from fideliza.engagement.services import messages_queue

from .conftest import make_customer, request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock(time_machine, noon):
    time_machine.move_to(noon, tick=True)


@pytest.fixture
def provider():
    built: list[int] = []

    def files(message: Message) -> list[Attachment]:
        built.append(message.pk)
        if "fallo" in message.subject:
            raise RuntimeError("provider failed")
        return [Attachment("nota.txt", f"para el mensaje {message.pk}\n", "text/plain"),
                Attachment("datos.bin", b"\x00\x01\x02", "application/octet-stream")]

    before = dict(channels._ATTACHMENT_PROVIDERS)
    attachment_provider_register("pruebas:", files)
    yield built
    channels._ATTACHMENT_PROVIDERS.clear()
    channels._ATTACHMENT_PROVIDERS.update(before)


def _send(*requests_):
    ids = [d.message_id for d in messages_queue(list(requests_)) if d.message_id]
    messages_send(ids)
    return ids


def test_registered_sources_carry_their_files_through_smtp(provider, smtp_sink):
    customer = make_customer()
    [with_files] = _send(request(customer, source="pruebas:1", kind="transactional"))
    _send(request(customer, source="campaign:9", kind="transactional"))
    assert smtp_sink.wait_for(2)
    first, second = smtp_sink.messages
    parts = {p.get_filename(): p for p in first.iter_attachments()}
    assert parts["nota.txt"].get_content().splitlines() == [f"para el mensaje {with_files}"]
    assert parts["datos.bin"].get_content() == b"\x00\x01\x02"
    assert first.get_body(preferencelist=("plain",)).get_content().startswith("Hola")
    assert list(second.iter_attachments()) == []
    assert provider == [with_files]  # built only for its own source, at send time


def test_sms_carries_no_files(provider, settings, tmp_path):
    settings.FIDELIZA_SMS_GATEWAY = "file"
    settings.FIDELIZA_SMS_FILE_PATH = str(tmp_path)
    _send(request(make_customer(), source="pruebas:2", channel="sms", kind="transactional"))
    assert provider == [] and len(list(tmp_path.glob("*.json"))) == 1


def test_a_failing_provider_is_a_temporary_failure(provider, smtp_sink):
    [pk] = _send(request(make_customer(), source="pruebas:3", kind="transactional", subject="fallo"))
    message = Message.objects.get(pk=pk)
    assert message.status == MessageStatus.QUEUED and "provider failed" in message.last_error
    assert smtp_sink.messages == []
