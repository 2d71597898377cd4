"""The outbox speaks the reader's language: origins as words, delivery errors translated."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from fideliza.automations.models import Automation
from fideliza.campaigns.models import Campaign
from fideliza.engagement.models import DeliveryAttempt, Message, MessageStatus
from fideliza.engagement.services import messages_queue
from fideliza.engagement.wording import delivery_error_text, sources_describe
from fideliza.segments.models import Segment

from .conftest import make_customer, request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _spanish_again_afterwards():
    """A request to /en/ leaves English active in this thread: the next test starts in Spanish."""
    with translation.override("es"):
        yield

SMS_NOT_SET = "FIDELIZA_SMS_GATEWAY_URL is not set"  # as the SMS adapter stores it


def test_sources_are_named_by_the_app_that_sent_them():
    welcome = Automation.objects.create(name="Bienvenida", trigger_kind="welcome", channels=["email"],
                                        holdout_share=Decimal(0))
    campaign = Campaign.objects.create(name="Vuelta al cole", segment=Segment.objects.create(name="Todos"))
    sources = [f"automation:{welcome.pk}:step:1", f"automation:{welcome.pk}", f"campaign:{campaign.pk}",
               "automation:999:step:2", "api:tpv"]
    with translation.override("es"):
        assert sources_describe(sources) == {
            f"automation:{welcome.pk}:step:1": "Automatización «Bienvenida», paso 1",
            f"automation:{welcome.pk}": "Automatización «Bienvenida»",
            f"campaign:{campaign.pk}": "Campaña «Vuelta al cole»",
            "automation:999:step:2": "Automatización 999 (borrada), paso 2",
            "api:tpv": "api:tpv",  # nobody registered "api": shown as stored
        }
    with translation.override("en"):
        assert sources_describe(sources)[f"automation:{welcome.pk}:step:1"] == "Automation “Bienvenida”, step 1"


@pytest.mark.parametrize(("stored", "spanish", "english"), [
    (SMS_NOT_SET, "No hay pasarela de SMS configurada (FIDELIZA_SMS_GATEWAY_URL): el SMS no se puede enviar.",
     "No SMS gateway is configured (FIDELIZA_SMS_GATEWAY_URL): the SMS cannot be sent."),
    ("SMS gateway answered 503: b'busy'", "La pasarela de SMS respondió 503: b'busy'",
     "The SMS gateway answered 503: b'busy'"),
    ("SMTP 550: b'5.1.1 no such user'", "El servidor de correo respondió 550: b'5.1.1 no such user'",
     "The mail server answered 550: b'5.1.1 no such user'"),
    ("algo que nadie reconoce", "algo que nadie reconoce", "algo que nadie reconoce"),
])
def test_delivery_errors_in_the_readers_language(stored, spanish, english):
    with translation.override("es"):
        assert delivery_error_text(stored) == spanish
    with translation.override("en"):
        assert delivery_error_text(stored) == english


def test_outbox_and_message_pages_show_words_not_codes(owner, client):
    welcome = Automation.objects.create(name="Bienvenida", trigger_kind="welcome", channels=["sms"],
                                        holdout_share=Decimal(0))
    source = f"automation:{welcome.pk}:step:1"
    [decision] = messages_queue([request(make_customer(), channel="sms", source=source,
                                         key=f"automation:{welcome.pk}:enrollment:5:step:1")])
    message = Message.objects.get(pk=decision.message_id)
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED, last_error=SMS_NOT_SET)
    DeliveryAttempt.objects.create(message=message, number=1, outcome="failed", error=SMS_NOT_SET,
                                   started_at=message.created_at)
    client.force_login(owner)
    for url in ("/comunicacion/", f"/comunicacion/mensajes/{message.pk}/"):
        body = client.get(url).content.decode()
        assert "Automatización «Bienvenida», paso 1" in body, url
        assert f">{source}<" not in body and "is not set" not in body, url
    body = client.get(f"/en/comunicacion/mensajes/{message.pk}/").content.decode()
    assert "Automation “Bienvenida”, step 1" in body and "No SMS gateway is configured" in body
