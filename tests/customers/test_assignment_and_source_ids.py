"""Two customer rules, each in one place and followed through every door.

- The sales-representative assignment rule lives in `customer_create`/`customer_update`:
  a representative's new card is theirs, and they can assign a card only to themselves.
  The service, the API, the web pages, the admin and the importer all follow it.
- A customer is looked up by a source system's id with `selectors.customer_ids_by_source`.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from fideliza.accounts.services import Actor, api_token_create
from fideliza.customers.merging import customer_merge
from fideliza.customers.models import Customer
from fideliza.customers.selectors import (
    SOURCE_ID_CHUNK,
    customer_id_by_source,
    customer_ids_by_source,
)
from fideliza.customers.services import customer_create, customer_source_id_add, customer_update
from fideliza.imports.services import import_file

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def spanish():
    with translation.override("es"):
        yield


@pytest.fixture
def rep(django_user_model):
    return django_user_model.objects.create_user(username="rep1", password="clave-rep-1", role="sales_rep")


@pytest.fixture
def other_rep(django_user_model):
    return django_user_model.objects.create_user(username="rep2", password="clave-rep-2", role="sales_rep")


# --- the service -----------------------------------------------------------------------------

def test_a_representatives_new_card_is_theirs_and_they_cannot_hand_it_over(owner, rep, other_rep):
    mine = customer_create(actor=Actor.of(rep), data={"first_name": "Nuevo"})
    assert mine.account_executive == rep
    with pytest.raises(ValidationError) as refused:
        customer_create(actor=Actor.of(rep), data={"first_name": "Otro", "account_executive": other_rep})
    assert refused.value.error_dict["account_executive"][0].code == "forbidden"
    for executive in (other_rep, None):
        with pytest.raises(ValidationError):
            customer_update(actor=Actor.of(rep), customer=mine, data={"account_executive": executive})
    mine.refresh_from_db()
    assert mine.account_executive == rep
    # Others assign freely, and leave a card unassigned.
    theirs = customer_create(actor=Actor.of(owner), data={"first_name": "Ajena", "account_executive": other_rep})
    customer_update(actor=Actor.of(owner), customer=theirs, data={"account_executive": None})
    assert customer_create(actor=Actor.system("job"), data={"first_name": "Sin"}).account_executive is None


# --- the API ---------------------------------------------------------------------------------

def _api(user) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_token_create(user=user, name='TPV')[1]}"})


def test_the_api_follows_the_rule(rep, other_rep):
    api = _api(rep)
    created = api.post("/api/v1/customers", json.dumps({"first_name": "Nueva"}), content_type="application/json")
    assert created.status_code == 201 and created.json()["account_executive"] == rep.pk
    r = api.patch(f"/api/v1/customers/{created.json()['id']}", json.dumps({"account_executive": other_rep.pk}),
                  content_type="application/json")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "account_executive"]
    assert r.json()["detail"][0]["type"] == "forbidden"


# --- the web pages ---------------------------------------------------------------------------

def test_the_web_pages_follow_the_rule(client, rep, other_rep):
    client.force_login(rep)
    response = client.post(reverse("customers:create"), {"kind": "person", "first_name": "Nuevo",
                                                         "account_executive": other_rep.pk})
    assert response.status_code == 302
    card = Customer.objects.get()
    assert card.account_executive == rep
    response = client.post(reverse("customers:edit", args=[card.pk]),
                           {"kind": "person", "first_name": "Nuevo", "city": "Jaén",
                            "account_executive": other_rep.pk})
    assert response.status_code == 302
    card.refresh_from_db()
    assert (card.account_executive, card.city) == (rep, "Jaén")


# --- the admin -------------------------------------------------------------------------------

@pytest.fixture
def staff_rep(rep):
    rep.is_staff = True
    rep.save()
    rep.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="customers", codename__in=["add_customer", "change_customer", "view_customer"]))
    return rep


def _admin_form(**fields) -> dict:
    data = {"kind": "person", "preferred_contact_time": "", "account_executive": ""}
    for prefix in ("source_ids", "consents"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0",
                 f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "0"}
    return data | fields


def test_the_admin_follows_the_rule(client, staff_rep, other_rep):
    client.force_login(staff_rep)
    response = client.post(reverse("admin:customers_customer_add"), _admin_form(first_name="Desde admin"))
    assert response.status_code == 302, response.content.decode()[:2000]
    card = Customer.objects.get()
    assert card.account_executive == staff_rep
    response = client.post(reverse("admin:customers_customer_change", args=[card.pk]),
                           _admin_form(first_name="Desde admin", account_executive=str(other_rep.pk)))
    assert response.status_code == 200  # the form again, with the reason on the field
    assert "solo puede asignarse clientes a sí mismo" in str(response.context["adminform"].form.errors)
    card.refresh_from_db()
    assert card.account_executive == staff_rep


# --- the importer ----------------------------------------------------------------------------

def test_the_importer_follows_the_rule(tmp_path, owner, rep):
    path = tmp_path / "clientes.csv"
    path.write_text("Id cliente;Nombre;Ciudad\nC1;Lucía;Sevilla\n", encoding="utf-8")
    run = import_file(path=path, kind="customers", source="tpv", actor=Actor.of(rep, via="import"))
    assert run.status == "done", run.errors
    assert Customer.objects.get(source_ids__external_id="C1").account_executive == rep
    path.write_text("Id cliente;Nombre;Ciudad\nC2;José;Córdoba\n", encoding="utf-8")
    run = import_file(path=path, kind="customers", source="tpv", actor=Actor.of(owner, via="import"))
    assert Customer.objects.get(source_ids__external_id="C2").account_executive is None


# --- the source-id lookup --------------------------------------------------------------------

def test_source_ids_resolve_in_chunks_and_follow_a_merge(owner):
    actor = Actor.of(owner)
    a = customer_create(actor=actor, data={"first_name": "Ana"}, source="tpv", external_id="T-1")
    b = customer_create(actor=actor, data={"first_name": "ANA"}, source="web", external_id="W-9")
    unknown = [f"X-{n}" for n in range(SOURCE_ID_CHUNK + 10)]  # more than one IN (…) list
    assert customer_ids_by_source("tpv", ["T-1", *unknown, "T-1"]) == {"T-1": a.pk}
    assert customer_ids_by_source("web", ["T-1"]) == {}
    assert customer_id_by_source("web", "W-9") == b.pk
    customer_merge(actor=actor, survivor=a, duplicate=b)
    assert customer_id_by_source("web", "W-9") == a.pk
    with pytest.raises(ValidationError):
        customer_source_id_add(customer=b, source="tpv", external_id="T-1")
    assert customer_source_id_add(customer=a, source="web", external_id="W-9").customer_id == a.pk
