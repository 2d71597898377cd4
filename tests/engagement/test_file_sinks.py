"""SMS and webhooks to files, as e-mail goes to var/mail/ with the local settings: a laptop or
the demo without a gateway records what would have been sent instead of failing it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fideliza.engagement.models import Message
from fideliza.engagement.outbox import messages_send
from fideliza.engagement.services import messages_queue

from .conftest import make_customer, request

SINK_SETTINGS = ("FIDELIZA_SMS_GATEWAY", "FIDELIZA_SMS_GATEWAY_URL", "FIDELIZA_SMS_FILE_PATH",
                 "FIDELIZA_WEBHOOK_SINK", "FIDELIZA_WEBHOOK_URL", "FIDELIZA_WEBHOOK_FILE_PATH")


def _settings_of(module: str, var_dir, **env: str) -> dict:
    """The sink settings as `module` resolves them in a fresh process with only `env` set."""
    clean = {k: v for k, v in os.environ.items()
             if k not in SINK_SETTINGS and k not in ("DJANGO_SETTINGS_MODULE", "EMAIL_BACKEND")}
    clean |= {"DJANGO_SETTINGS_MODULE": module, "FIDELIZA_VAR_DIR": str(var_dir),
              "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "tienda.example", **env}
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            f"print(json.dumps({{k: getattr(s, k) for k in {SINK_SETTINGS!r}}}))")
    out = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_local_settings_send_sms_and_webhooks_to_files(tmp_path):
    local = _settings_of("fideliza.config.settings.local", tmp_path)
    assert local["FIDELIZA_SMS_GATEWAY"] == "file" and local["FIDELIZA_WEBHOOK_SINK"] == "file"
    assert local["FIDELIZA_SMS_FILE_PATH"] == str(tmp_path.resolve() / "sms")
    assert local["FIDELIZA_WEBHOOK_FILE_PATH"] == str(tmp_path.resolve() / "webhooks")
    # A configured gateway is used for real, locally too.
    real = _settings_of("fideliza.config.settings.local", tmp_path, FIDELIZA_SMS_GATEWAY_URL="https://sms.example",
                        FIDELIZA_WEBHOOK_URL="https://hooks.example")
    assert real["FIDELIZA_SMS_GATEWAY"] == "generic_json" and real["FIDELIZA_WEBHOOK_SINK"] == "http"
    # Production keeps requiring the real gateways (a missing URL fails the message with why).
    production = _settings_of("fideliza.config.settings.production", tmp_path)
    assert production["FIDELIZA_SMS_GATEWAY"] == "generic_json" and production["FIDELIZA_WEBHOOK_SINK"] == "http"


@pytest.mark.django_db
def test_sms_to_the_file_sink_is_sent_once_per_message(settings, tmp_path):
    settings.FIDELIZA_SMS_GATEWAY = "file"
    settings.FIDELIZA_SMS_FILE_PATH = str(tmp_path / "sms")
    settings.FIDELIZA_SMS_GATEWAY_URL = ""
    settings.FIDELIZA_SMS_SENDER = "TIENDA"
    c = make_customer(first_name="Luis", phone="+34600111222")
    [d] = messages_queue([request(c, channel="sms", body_text="Hola {name}. Baja: %%unsubscribe_url%%")])
    assert messages_send([d.message_id]) == {"sent": 1}
    message = Message.objects.get(pk=d.message_id)
    [written] = list((tmp_path / "sms").glob("*.json"))
    payload = json.loads(written.read_text(encoding="utf-8"))
    assert message.status == "sent" and message.last_error == ""
    assert message.provider_id == f"file:{written.name}"
    assert payload["to"] == "+34600111222" and payload["from"] == "TIENDA"
    assert payload["text"] == f"Hola Luis. Baja: https://tienda.example/m/u/{message.token}"
    assert payload["customer_id"] == c.pk and payload["reference"] == str(message.pk)
    # A retried send (the worker died before recording it) rewrites the same file.
    Message.objects.filter(pk=message.pk).update(status="queued")
    messages_send([message.pk])
    assert [p.name for p in (tmp_path / "sms").iterdir()] == [written.name]


@pytest.mark.django_db
def test_webhooks_to_the_file_sink(settings, tmp_path):
    settings.FIDELIZA_WEBHOOK_SINK = "file"
    settings.FIDELIZA_WEBHOOK_FILE_PATH = str(tmp_path / "webhooks")
    settings.FIDELIZA_WEBHOOK_URL = ""
    settings.FIDELIZA_WEBHOOK_SECRET = ""
    c = make_customer(first_name="Ana", consent=("whatsapp",))
    [d] = messages_queue([request(c, channel="webhook", subject="", body_text="Hola {name}")])
    assert messages_send([d.message_id]) == {"sent": 1}
    [written] = list((tmp_path / "webhooks").glob("*.json"))
    payload = json.loads(written.read_text(encoding="utf-8"))
    assert payload["type"] == "message" and payload["id"] == d.message_id and payload["text"] == "Hola Ana"
    assert payload["customer"]["id"] == c.pk
    assert Message.objects.get(pk=d.message_id).status == "sent"


@pytest.mark.django_db
def test_an_unknown_webhook_sink_fails_the_message_with_the_reason(settings):
    settings.FIDELIZA_WEBHOOK_SINK = "ftp"
    c = make_customer(consent=("whatsapp",))
    [d] = messages_queue([request(c, channel="webhook", subject="")])
    messages_send([d.message_id])
    message = Message.objects.get(pk=d.message_id)
    assert message.status == "failed" and "FIDELIZA_WEBHOOK_SINK" in message.last_error
