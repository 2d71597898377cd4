"""The contact persons of a customer through the API: list, create (idempotent), update;
a sales representative reaches only their own customers' contacts; field errors in the
caller's language; interactions name a contact."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fideliza.accounts.services import Actor
from fideliza.customers.models import Contact, ContactConsentRecord
from fideliza.customers.services import customer_create

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 12, 10, 30, tzinfo=ZoneInfo("Europe/Madrid"))


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def companies(owner, rep, rep2):
    actor = Actor.of(owner)
    mine = customer_create(actor=actor, data={"kind": "company", "company_name": "Vega S.L.",
                                              "account_executive": rep})
    theirs = customer_create(actor=actor, data={"kind": "company", "company_name": "Gil S.A.",
                                                "account_executive": rep2})
    return mine, theirs


def _url(customer) -> str:
    return f"/api/v1/customers/{customer.pk}/contacts"


def test_create_list_and_update_contacts(api, companies):
    company, _other = companies
    body = {"name": "Ana García", "role": "Compras", "email": "Ana@Vega.example", "phone": "611 22 33 44",
            "consents": [{"channel": "email", "granted": True, "wording": "Acepto ofertas"}]}
    first = api.post(_url(company), body, **{"Idempotency-Key": "alta-ana-1"})
    assert first.status_code == 201, first.content
    ana = first.json()
    assert (ana["email"], ana["phone"], ana["is_primary"], ana["consent"]) == (
        "ana@vega.example", "+34611223344", True, {"email": True})
    assert ana["customer_id"] == company.pk
    # A retry with the same key replays the answer; nothing is created twice.
    again = api.post(_url(company), body, **{"Idempotency-Key": "alta-ana-1"})
    assert again.status_code == 201 and again.json() == ana
    assert Contact.objects.count() == 1 and ContactConsentRecord.objects.count() == 1

    luis = api.post(_url(company), {"name": "Luis Romero", "is_primary": True}).json()
    assert luis["is_primary"] is True
    listed = api.get(_url(company)).json()
    assert [(c["name"], c["is_primary"]) for c in listed["items"]] == [("Ana García", False), ("Luis Romero", True)]
    assert listed["next"] is None

    changed = api.patch(f"{_url(company)}/{ana['id']}", {"role": None, "is_primary": True,
                                                         "consents": [{"channel": "email", "granted": False}]})
    assert changed.status_code == 200
    assert (changed.json()["role"], changed.json()["is_primary"], changed.json()["consent"]) == (
        "", True, {"email": False})
    left = api.patch(f"{_url(company)}/{ana['id']}", {"is_active": False}).json()
    assert (left["is_active"], left["is_primary"]) == (False, False)
    assert [c["name"] for c in api.get(_url(company), {"active": "true"}).json()["items"]] == ["Luis Romero"]
    # Pages follow a cursor.
    page = api.get(_url(company), {"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next"]
    assert [c["name"] for c in api.get(_url(company), {"limit": 1, "cursor": page["next"]}).json()["items"]] == [
        "Luis Romero"]


def test_field_errors_are_422_in_the_callers_language(api, companies):
    company, _other = companies
    bad = api.post(_url(company), {"name": "Ana", "phone": "12"})
    assert bad.status_code == 422
    [error] = bad.json()["detail"]
    assert error["loc"] == ["body", "phone"] and "no es un número de teléfono válido" in error["msg"]
    english = api.post(_url(company), {"name": "Ana", "phone": "12"}, **{"Accept-Language": "en"})
    assert "is not a valid phone number" in english.json()["detail"][0]["msg"]
    assert api.post(_url(company), {"name": ""}).status_code == 422
    assert api.post(_url(company), {"name": "Ana", "sueldo": 1}).status_code == 422


def test_a_representative_reaches_only_their_own_customers_contacts(client_for, rep, companies, owner):
    mine, theirs = companies
    owner_api = client_for(owner)
    hidden = owner_api.post(_url(theirs), {"name": "Pilar Gil", "email": "pilar@gil.example"}).json()
    api = client_for(rep)
    assert api.post(_url(mine), {"name": "Ana García"}).status_code == 201
    assert api.get(_url(theirs)).status_code == 404
    assert api.post(_url(theirs), {"name": "Intruso"}).status_code == 404
    assert api.patch(f"{_url(theirs)}/{hidden['id']}", {"name": "Cambiado"}).status_code == 404
    # Nor through a customer of theirs: the contact id must be of the customer in the path.
    assert api.patch(f"{_url(mine)}/{hidden['id']}", {"name": "Cambiado"}).status_code == 404
    assert Contact.objects.get(pk=hidden["id"]).name == "Pilar Gil"
    assert "pilar" not in api.get(_url(mine)).content.decode().lower()


def test_an_interaction_names_one_of_the_customers_contacts(api, companies):
    company, other = companies
    ana = api.post(_url(company), {"name": "Ana García"}).json()
    pilar = api.post(_url(other), {"name": "Pilar Gil"}).json()
    logged = api.post("/api/v1/interactions", {"customer": company.pk, "kind": "call", "contact": ana["id"],
                                               "text": "Pide presupuesto"})
    assert logged.status_code == 201 and logged.json()["contact"] == ana["id"]
    refused = api.post("/api/v1/interactions", {"customer": company.pk, "kind": "call", "contact": pilar["id"]})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "contact"]
