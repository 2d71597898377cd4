"""SMS gateway and outgoing webhooks against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fideliza.engagement.channels import (
    SMS_ADAPTERS,
    GenericJsonSmsGateway,
    webhook_signature,
    webhook_signature_verify,
)
from fideliza.engagement.models import Message
from fideliza.engagement.outbox import messages_send
from fideliza.engagement.services import messages_queue

from .conftest import make_customer, request


class Recorder:
    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.answer = b'{"id": "gw-1"}'


@pytest.fixture
def http_server():
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            recorder.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(recorder.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(recorder.answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield recorder
    server.shutdown()
    server.server_close()


pytestmark = pytest.mark.django_db


def test_sms_through_the_generic_json_gateway(http_server, settings):
    settings.FIDELIZA_SMS_GATEWAY_URL = http_server.url + "/sms"
    settings.FIDELIZA_SMS_GATEWAY_TOKEN = "tok"
    settings.FIDELIZA_SMS_SENDER = "TIENDA"
    c = make_customer(first_name="Luis", phone="+34600111222")
    [d] = messages_queue([request(c, channel="sms", body_text="Hola {name}. Baja: %%unsubscribe_url%%")])
    assert messages_send([d.message_id]) == {"sent": 1}
    [sent] = http_server.requests
    payload = json.loads(sent["body"])
    message = Message.objects.get(pk=d.message_id)
    assert sent["path"] == "/sms" and sent["headers"]["Authorization"] == "Bearer tok"
    assert sent["headers"]["Idempotency-Key"] == message.token
    assert payload["to"] == "+34600111222" and payload["from"] == "TIENDA"
    assert payload["text"] == f"Hola Luis. Baja: https://tienda.example/m/u/{message.token}"
    assert message.status == "sent" and message.provider_id == "gw-1"


@pytest.mark.parametrize(("status", "expected"), [(503, "queued"), (429, "queued"), (400, "failed")])
def test_sms_gateway_errors_retry_or_fail(http_server, settings, status, expected):
    settings.FIDELIZA_SMS_GATEWAY_URL = http_server.url + "/sms"
    http_server.status, http_server.answer = status, b'{"error": "x"}'
    c = make_customer()
    [d] = messages_queue([request(c, channel="sms")])
    messages_send([d.message_id])
    message = Message.objects.get(pk=d.message_id)
    assert message.status == expected and str(status) in message.last_error


def test_sms_adapter_registry_takes_other_providers(http_server, settings):
    class Other(GenericJsonSmsGateway):
        name = "other"

        def send(self, message, rendered):
            return "other-" + str(message.pk)

    SMS_ADAPTERS["other"] = Other
    try:
        settings.FIDELIZA_SMS_GATEWAY = "other"
        c = make_customer()
        [d] = messages_queue([request(c, channel="sms")])
        messages_send([d.message_id])
        assert Message.objects.get(pk=d.message_id).provider_id == f"other-{d.message_id}"
        assert http_server.requests == []
    finally:
        del SMS_ADAPTERS["other"]


def test_webhook_is_signed_with_hmac_sha256(http_server, settings):
    settings.FIDELIZA_WEBHOOK_URL = http_server.url + "/hook"
    settings.FIDELIZA_WEBHOOK_SECRET = "shh"
    c = make_customer(first_name="Marta", consent=("whatsapp",))
    [d] = messages_queue([request(c, channel="webhook", body_text="Hola {name}")])
    assert d.status == "queued"
    assert messages_send([d.message_id]) == {"sent": 1}
    [hook] = http_server.requests
    header = hook["headers"]["X-Fideliza-Signature"]
    timestamp = int(hook["headers"]["X-Fideliza-Timestamp"])
    assert header == f"t={timestamp},v1={webhook_signature('shh', timestamp, hook['body'])}"
    assert webhook_signature_verify("shh", header, hook["body"])
    assert not webhook_signature_verify("other", header, hook["body"])
    assert not webhook_signature_verify("shh", header, hook["body"] + b" ")
    assert not webhook_signature_verify("shh", header, hook["body"], now=timestamp + 3600)  # replay
    payload = json.loads(hook["body"])
    assert payload["customer"]["id"] == c.pk and payload["text"] == "Hola Marta"
    assert payload["id"] == d.message_id


def test_marketing_webhook_needs_consent_for_its_channel(settings):
    c = make_customer(consent=("email",))
    [d] = messages_queue([request(c, channel="webhook")])
    assert (d.status, d.reason) == ("skipped", "no_consent")
