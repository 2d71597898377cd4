import json

import pytest
from django.test import Client
from django.urls import reverse

from fideliza.customers.models import Customer, DataSubjectRequest, ErasureRecord
from tests.customers.test_privacy import person  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _client(django_user_model, role):
    user = django_user_model.objects.create_user(username=role, password="x", role=role)
    client = Client()
    client.force_login(user)
    return client


def test_register_export_and_erase_from_the_pages(person, django_user_model):  # noqa: F811
    _actor, c, _old = person
    client = _client(django_user_model, "support")
    response = client.post(reverse("privacy:create"), {"customer": c.pk, "kind": "erasure", "country": "ES"})
    item = DataSubjectRequest.objects.get()
    assert response["Location"] == reverse("privacy:detail", args=[item.pk])
    assert b"open-requests" in client.get(reverse("privacy:list")).content
    exported = json.loads(client.get(reverse("privacy:export", args=[c.pk, "json"])).content)
    assert exported["customer"]["id"] == c.pk and "sales.Order" in exported
    page = client.get(reverse("privacy:export", args=[c.pk, "html"]))
    # The printable copy names tables and fields in the reader's language, not by code.
    assert page.status_code == 200 and b"Pedidos (" in page.content and b"sales.Order" not in page.content
    client.post(reverse("privacy:erase", args=[item.pk]), {})  # no confirmation: nothing happens
    assert not ErasureRecord.objects.exists()
    client.post(reverse("privacy:erase", args=[item.pk]), {"confirm": "on"})
    assert ErasureRecord.objects.filter(customer=c).exists()
    assert Customer.objects.get(pk=c.pk).email == ""


def test_marketing_cannot_see_privacy_requests(person, django_user_model):  # noqa: F811
    client = _client(django_user_model, "marketing")
    assert client.get(reverse("privacy:list")).status_code == 403
    assert client.get(reverse("privacy:export", args=[person[1].pk, "json"])).status_code == 403
