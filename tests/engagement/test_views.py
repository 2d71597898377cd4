"""Staff pages under /comunicacion/ and their roles; the preference page."""

from __future__ import annotations

import pytest
from django.http import HttpRequest
from django.test import Client

from fideliza.customers.selectors import consent_current
from fideliza.engagement.models import (
    BudgetScope,
    ContactBudget,
    Message,
    Suppression,
    TopicPreference,
)
from fideliza.engagement.services import messages_queue, preferences_url

from .conftest import make_customer, request

pytestmark = pytest.mark.django_db


def user_client(django_user_model, role: str) -> Client:
    django_user_model.objects.create_user(username=role, password="clave-segura-1", role=role)
    client = Client()
    # django-axes checks every password login and needs the request it comes with.
    assert client.login(request=HttpRequest(), username=role, password="clave-segura-1")
    return client


def test_outbox_detail_and_decisions_pages(owner, client):
    c = make_customer(first_name="Rosa")
    skipped = make_customer(consent=())
    [d, _s] = messages_queue([request(c, subject="Oferta de primavera", source="campaign:7"),
                              request(skipped, source="campaign:7")])
    client.force_login(owner)
    page = client.get("/comunicacion/?status=queued")
    assert page.status_code == 200 and "Oferta de primavera" in page.content.decode()
    assert "Oferta de primavera" not in client.get("/comunicacion/?status=sent").content.decode()
    detail = client.get(f"/comunicacion/mensajes/{d.message_id}/")
    assert detail.status_code == 200 and "campaign:7" in detail.content.decode()
    log = client.get("/comunicacion/decisiones/?source=campaign:7")
    assert "Sin consentimiento para el canal" in log.content.decode()


def test_roles(django_user_model):
    rep = user_client(django_user_model, "sales_rep")
    assert rep.get("/comunicacion/").status_code == 403
    support = user_client(django_user_model, "support")
    assert support.get("/comunicacion/limites/").status_code == 200
    assert support.post("/comunicacion/limites/", {"global-max_messages": 1, "global-window_days": 7}).status_code == 403
    assert not ContactBudget.objects.exists()
    marketing = user_client(django_user_model, "marketing")
    answer = marketing.post("/comunicacion/limites/", {"global-max_messages": 2, "global-window_days": 7,
                                                       "global-quiet_start": "21:00", "global-quiet_end": "09:00"})
    assert answer.status_code == 302
    row = ContactBudget.objects.get(scope=BudgetScope.GLOBAL)
    assert (row.max_messages, row.window_days, str(row.quiet_start)) == (2, 7, "21:00:00")


def test_budget_override_for_a_customer_and_removal(owner, client):
    c = make_customer()
    client.force_login(owner)
    answer = client.post("/comunicacion/limites/", {"override-customer_id": c.pk, "override-max_messages": 1,
                                                    "override-window_days": 30})
    assert answer.status_code == 302
    row = ContactBudget.objects.get(scope=BudgetScope.CUSTOMER)
    assert row.customer_id == c.pk and row.max_messages == 1
    bad = client.post("/comunicacion/limites/", {"override-max_messages": 1, "override-window_days": 30})
    assert bad.status_code == 200 and "uno de los dos" in bad.content.decode()
    client.post(f"/comunicacion/limites/{row.pk}/quitar/")
    assert not ContactBudget.objects.exists()


def test_suppression_page_add_and_protected_removal(owner, client):
    client.force_login(owner)
    client.post("/comunicacion/supresiones/", {"channel": "email", "address": "Pepe@Example.com", "note": "pidió por teléfono"})
    manual = Suppression.objects.get(address="pepe@example.com")
    assert manual.reason == "manual"
    bounced = Suppression.objects.create(channel="email", address="muerto@example.com", reason="hard_bounce")
    client.post(f"/comunicacion/supresiones/{bounced.pk}/quitar/")
    assert Suppression.objects.filter(pk=bounced.pk).exists()
    client.post(f"/comunicacion/supresiones/{manual.pk}/quitar/")
    assert not Suppression.objects.filter(pk=manual.pk).exists()


def test_preference_page_changes_channels_and_topics_without_login():
    c = make_customer()
    [d] = messages_queue([request(c)])
    url = preferences_url(c.pk).replace("https://tienda.example", "")
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    assert page.status_code == 200 and c.email in page.content.decode()
    assert consent_current(c) == {"email": True, "sms": True}
    answer = client.post(url, {"channel_sms": "on", "topic_novedades": "on"})
    assert answer.status_code == 200 and not answer.cookies
    assert consent_current(c) == {"email": False, "sms": True}
    assert dict(TopicPreference.objects.filter(customer=c).values_list("topic", "subscribed"))["ofertas"] is False
    assert Message.objects.get(pk=d.message_id).status == "cancelled"
    [later] = messages_queue([request(c, channel="sms", topic="ofertas")])
    assert (later.status, later.reason) == ("skipped", "topic_opt_out")
    # A tampered token is a 404, never another customer's page.
    assert client.get(url[:-2] + "xx").status_code == 404


def test_opting_in_again_lifts_the_unsubscribe_and_the_old_link_works_again():
    from fideliza.engagement.services import message_unsubscribe

    c = make_customer()
    [d] = messages_queue([request(c)])
    message = Message.objects.get(pk=d.message_id)
    assert message_unsubscribe(message=message) is True
    assert message_unsubscribe(message=message) is False
    client = Client()
    url = preferences_url(c.pk).replace("https://tienda.example", "")
    client.post(url, {"channel_email": "on", "channel_sms": "on"})
    assert consent_current(c)["email"] is True and not Suppression.objects.exists()
    [again] = messages_queue([request(c, source="campaign:2")])
    assert again.status == "queued"
    assert message_unsubscribe(message=message) is True
    assert consent_current(c)["email"] is False
    Suppression.objects.filter(address=c.email).update(reason="hard_bounce")
    client.post(url, {"channel_email": "on"})
    assert Suppression.objects.filter(address=c.email, reason="hard_bounce").exists()
