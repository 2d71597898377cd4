"""The messages API: outbox reads, suppressions, inbound SMS STOP and bounces."""

from __future__ import annotations

import pytest
from django.test import Client

from fideliza.customers.selectors import consent_current
from fideliza.engagement.models import DeliveryEvent, Message, Suppression
from fideliza.engagement.services import messages_queue

from .conftest import make_customer, request

pytestmark = pytest.mark.django_db

SECRET = "s3cret-gateway"


@pytest.fixture
def inbound(settings):
    settings.FIDELIZA_INBOUND_SECRET = SECRET
    return Client()


def test_outbox_list_and_detail(owner, client):
    c = make_customer()
    decisions = messages_queue([request(c, source="campaign:3"), request(c, source="campaign:4")])
    client.force_login(owner)
    page = client.get("/api/v1/messages?source=campaign:3").json()
    assert [m["id"] for m in page["items"]] == [decisions[0].message_id]
    detail = client.get(f"/api/v1/messages/{decisions[0].message_id}").json()
    assert detail["status"] == "queued" and detail["delivery_attempts"] == [] and detail["events"] == []


@pytest.mark.parametrize("text", ["STOP", "baja", "BAJA.", " Parar ", "stop!"])
def test_sms_stop_withdraws_sms_consent(inbound, text):
    c = make_customer(phone="+34612345678")
    [pending] = messages_queue([request(c, channel="sms")])
    answer = inbound.post("/api/v1/messages/inbound/sms", {"from": "+34 612 34 56 78", "text": text},
                          content_type="application/json", HTTP_X_FIDELIZA_SECRET=SECRET)
    assert answer.status_code == 200 and answer.json() == {"stop": True, "customers": 1}
    assert consent_current(c)["sms"] is False and consent_current(c)["email"] is True
    assert Suppression.objects.get(channel="sms", address="+34612345678").reason == "sms_stop"
    assert Message.objects.get(pk=pending.message_id).status == "cancelled"


def test_sms_other_text_is_ignored_and_secret_is_required(inbound):
    c = make_customer(phone="+34612345679")
    ok = inbound.post("/api/v1/messages/inbound/sms", {"from": "+34612345679", "text": "¿Abrís el domingo? stop"},
                      content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    assert ok.json() == {"stop": False, "customers": 0}
    assert consent_current(c)["sms"] is True
    for headers in ({}, {"HTTP_X_FIDELIZA_SECRET": "wrong"}):
        denied = inbound.post("/api/v1/messages/inbound/sms", {"from": "+34612345679", "text": "STOP"},
                              content_type="application/json", **headers)
        assert denied.status_code == 401
    assert consent_current(c)["sms"] is True


def test_inbound_refused_when_no_secret_configured(settings, client):
    settings.FIDELIZA_INBOUND_SECRET = ""
    answer = client.post("/api/v1/messages/inbound/sms", {"from": "+34612345679", "text": "STOP"},
                         content_type="application/json", HTTP_X_FIDELIZA_SECRET="")
    assert answer.status_code == 401


def test_hard_bounce_and_soft_bounce(inbound):
    c = make_customer(email="rebota@example.com")
    [d] = messages_queue([request(c)])
    Message.objects.filter(pk=d.message_id).update(status="sent")
    token = Message.objects.get(pk=d.message_id).token
    soft = inbound.post("/api/v1/messages/inbound/bounce", {"type": "soft", "message_token": token},
                        content_type="application/json", HTTP_X_FIDELIZA_SECRET=SECRET)
    assert soft.status_code == 200 and not Suppression.objects.exists()
    hard = inbound.post("/api/v1/messages/inbound/bounce",
                        {"type": "hard", "address": "Rebota@example.com", "diagnostic": "550 5.1.1"},
                        content_type="application/json", HTTP_X_FIDELIZA_SECRET=SECRET)
    assert hard.status_code == 200 and hard.json() == {"message_id": d.message_id, "suppressed": True}
    assert Suppression.objects.get(address="rebota@example.com").reason == "hard_bounce"
    assert consent_current(c)["email"] is False
    assert Message.objects.get(pk=d.message_id).status == "bounced"
    assert list(DeliveryEvent.objects.filter(message_id=d.message_id).values_list("kind", flat=True)) == [
        "bounced", "bounced"]
    bad = inbound.post("/api/v1/messages/inbound/bounce", {"type": "hard"},
                       content_type="application/json", HTTP_X_FIDELIZA_SECRET=SECRET)
    assert bad.status_code == 422


def test_suppression_api_roles(owner, client, django_user_model):
    rep = django_user_model.objects.create_user(username="rep", password="x-clave-1", role="sales_rep")
    client.force_login(rep)
    denied = client.post("/api/v1/messages/suppressions", {"channel": "email", "address": "a@example.com"},
                         content_type="application/json")
    assert denied.status_code in (403,)
    client.force_login(owner)
    made = client.post("/api/v1/messages/suppressions", {"channel": "email", "address": "A@example.com"},
                       content_type="application/json")
    assert made.status_code == 201 and made.json()["address"] == "a@example.com"
    assert [s["address"] for s in client.get("/api/v1/messages/suppressions").json()] == ["a@example.com"]


def test_delivery_receipt_records_delivered(inbound):
    c = make_customer()
    [d] = messages_queue([request(c, channel="sms")])
    Message.objects.filter(pk=d.message_id).update(status="sent", provider_id="gw-77")
    answer = inbound.post("/api/v1/messages/inbound/delivered", {"provider_id": "gw-77"},
                          content_type="application/json", HTTP_X_FIDELIZA_SECRET=SECRET)
    assert answer.json() == {"message_id": d.message_id}
    assert DeliveryEvent.objects.get(message_id=d.message_id).kind == "delivered"
    unknown = inbound.post("/api/v1/messages/inbound/delivered", {"provider_id": "nope"},
                           content_type="application/json", HTTP_X_FIDELIZA_SECRET=SECRET)
    assert unknown.json() == {"message_id": None}
