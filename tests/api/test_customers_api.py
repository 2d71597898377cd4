"""Customers through the real HTTP stack: CRUD, filters, cursor pages, roles and audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fideliza.accounts.models import AuditLog
from fideliza.accounts.services import Actor
from fideliza.customers.models import ConsentRecord, Customer
from fideliza.customers.services import customer_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers"


def _make(owner, n: int, **data):
    return [customer_create(actor=Actor.of(owner), data={"first_name": f"Cliente{i}", **data}) for i in range(n)]


def test_create_read_and_audit(api, owner):
    r = api.post(URL, {"first_name": " Lucía ", "last_name": "García", "email": "LUCIA@Example.com",
                       "phone": "612 34 56 78", "city": "Sevilla", "acquisition_cost": "12.5",
                       "interests": ["Bricolaje", "jardinería"], "source": "tpv", "external_id": "C-77",
                       "consents": [{"channel": "email", "granted": True, "wording": "v1"}]})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["phone"] == "+34612345678" and body["email"] == "lucia@example.com"
    assert body["first_name"] == "Lucía"
    assert body["acquisition_cost"] == "12.50"  # money: a string with two decimals
    assert body["interests"] == ["bricolaje", "jardinería"]
    assert body["source_ids"] == [{"source": "tpv", "external_id": "C-77"}]
    assert body["consent"] == {"email": True}
    got = api.get(f"{URL}/{body['id']}")
    assert got.status_code == 200 and got.json() == body
    row = AuditLog.objects.get(entity="customers.customer", entity_id=str(body["id"]), action="create")
    assert row.actor == owner and "via API token" in row.actor_label
    consent = ConsentRecord.objects.get(customer_id=body["id"])
    assert consent.source.startswith("api:") and consent.wording == "v1"


def test_every_api_change_to_a_customer_leaves_an_audit_row(api, owner):
    cid = api.post(URL, {"first_name": "Ana", "city": "Sevilla"}).json()["id"]
    assert api.patch(f"{URL}/{cid}", {"city": "Córdoba", "notes": "Prefiere la mañana"}).status_code == 200
    assert api.patch(f"{URL}/{cid}", {"city": "Córdoba"}).status_code == 200  # no change, no row
    assert api.patch(f"{URL}/{cid}", {"consents": [{"channel": "sms", "granted": False}]}).status_code == 200
    assert api.patch(f"{URL}/{cid}", {"notes": None}).status_code == 200  # null clears
    rows = list(AuditLog.objects.filter(entity="customers.customer", entity_id=str(cid)).order_by("id"))
    assert [r.action for r in rows] == ["create", "update", "update", "update"]
    assert rows[1].changes == {"city": ["Sevilla", "Córdoba"], "notes": ["", "Prefiere la mañana"]}
    assert rows[2].changes == {"consent_sms": [None, "withdrawn"]}
    assert rows[3].changes == {"notes": ["Prefiere la mañana", ""]}
    assert all(r.actor == owner for r in rows)


def test_patch_changes_only_the_fields_sent(api, owner):
    c = customer_create(actor=Actor.of(owner), data={"first_name": "Ana", "last_name": "Ruiz", "city": "Jaén"})
    r = api.patch(f"{URL}/{c.pk}", {"last_name": "Ruiz Pérez"})
    assert r.status_code == 200
    c.refresh_from_db()
    assert (c.first_name, c.last_name, c.city) == ("Ana", "Ruiz Pérez", "Jaén")


def test_invalid_phone_is_a_field_error_and_nothing_is_written(api):
    r = api.post(URL, {"first_name": "Ana", "phone": "12"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "phone"]
    assert "teléfono" in r.json()["detail"][0]["msg"]
    assert Customer.objects.count() == 0 and AuditLog.objects.filter(entity="customers.customer").count() == 0


def test_filters(api, owner, rep):
    lucia = customer_create(actor=Actor.of(owner), data={"first_name": "Lucía", "last_name": "García",
                                                          "email": "lucia@example.com", "phone": "612345678",
                                                          "city": "Sevilla", "region": "Andalucía"},
                            source="tpv", external_id="C-1")
    empresa = customer_create(actor=Actor.of(owner), data={"kind": "company", "company_name": "Ferretería Sur SL",
                                                           "city": "sevilla", "account_executive": rep})
    otro = customer_create(actor=Actor.of(owner), data={"first_name": "Pedro", "city": "Madrid"})

    def ids(**params):
        r = api.get(URL, params)
        assert r.status_code == 200, r.content
        return [c["id"] for c in r.json()["items"]]

    assert ids() == [lucia.pk, empresa.pk, otro.pk]
    assert ids(q="lucía garcía") == [lucia.pk]
    assert ids(q="612 345") == [lucia.pk]
    assert ids(q="example.com") == [lucia.pk]
    assert ids(city="SEVILLA") == [lucia.pk, empresa.pk]
    assert ids(region="andalucía") == [lucia.pk]
    assert ids(kind="company") == [empresa.pk]
    assert ids(account_executive=rep.pk) == [empresa.pk]
    assert ids(source="tpv", external_id="C-1") == [lucia.pk]
    assert ids(source="tpv", external_id="C-2") == []
    assert ids(sort="-id") == [otro.pk, empresa.pk, lucia.pk]
    Customer.objects.filter(pk=lucia.pk).update(updated_at=timezone.now() - timedelta(days=10))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(updated_since=since) == [empresa.pk, otro.pk]


def test_cursor_pages_cover_everything_once_and_stay_stable_under_inserts(api, owner):
    made = _make(owner, 7)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = api.get(URL, params)
        assert r.status_code == 200
        page = r.json()
        seen += [c["id"] for c in page["items"]]
        pages += 1
        if pages == 1:
            # Rows added while paging come after the cursor; nothing already seen shifts.
            _make(owner, 2, city="Nueva")
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 9
    assert set(seen) >= {c.pk for c in made}
    assert pages == 3


def test_cursor_on_updated_at_descending(api, owner):
    made = _make(owner, 5)
    base = timezone.now() - timedelta(days=5)
    for i, c in enumerate(made):  # two share a timestamp: the id breaks the tie
        Customer.objects.filter(pk=c.pk).update(updated_at=base + timedelta(hours=min(i, 3)))
    first = api.get(URL, {"sort": "-updated_at", "limit": 2}).json()
    second = api.get(URL, {"sort": "-updated_at", "limit": 2, "cursor": first["next"]}).json()
    third = api.get(URL, {"sort": "-updated_at", "limit": 2, "cursor": second["next"]}).json()
    order = [c["id"] for p in (first, second, third) for c in p["items"]]
    assert order == [made[4].pk, made[3].pk, made[2].pk, made[1].pk, made[0].pk]
    assert third["next"] is None


def test_a_cursor_continues_its_own_ordering(api, owner):
    # Every cursor the schema's pattern allows is accepted (Schemathesis holds the API to
    # it): a cursor names the ordering it continues, whatever `sort` says.
    made = _make(owner, 3)
    cursor = api.get(URL, {"limit": 1}).json()["next"]
    r = api.get(URL, {"limit": 1, "sort": "-updated_at", "cursor": cursor})
    assert r.status_code == 200 and [c["id"] for c in r.json()["items"]] == [made[1].pk]
    assert api.get(URL, {"cursor": "id.x"}).json()["detail"][0]["loc"] == ["query", "cursor"]


def test_sales_rep_sees_and_edits_only_their_customers(owner, rep, rep2, client_for):
    mine = customer_create(actor=Actor.of(owner), data={"first_name": "Mía", "account_executive": rep})
    theirs = customer_create(actor=Actor.of(owner), data={"first_name": "Suya", "account_executive": rep2})
    unassigned = customer_create(actor=Actor.of(owner), data={"first_name": "Nadie"})
    api = client_for(rep)
    assert [c["id"] for c in api.get(URL).json()["items"]] == [mine.pk]
    assert api.get(f"{URL}/{mine.pk}").status_code == 200
    # Another representative's customer is indistinguishable from a missing one.
    for other in (theirs, unassigned):
        assert api.get(f"{URL}/{other.pk}").status_code == 404
        assert api.patch(f"{URL}/{other.pk}", {"city": "Cádiz"}).status_code == 404
    assert api.get(f"{URL}/{theirs.pk}").json() == api.get(f"{URL}/999999").json()
    theirs.refresh_from_db()
    assert theirs.city == ""
    assert api.patch(f"{URL}/{mine.pk}", {"city": "Cádiz"}).status_code == 200
    # Cannot hand a customer to someone else, and what they create stays theirs.
    r = api.patch(f"{URL}/{mine.pk}", {"account_executive": rep2.pk})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "account_executive"]
    created = api.post(URL, {"first_name": "Nueva"}).json()
    assert created["account_executive"] == rep.pk


def test_support_reads_everything_and_edits_customers(owner, support, rep, client_for):
    c = customer_create(actor=Actor.of(owner), data={"first_name": "Ana", "account_executive": rep})
    api = client_for(support)
    assert api.get(f"{URL}/{c.pk}").status_code == 200
    assert api.patch(f"{URL}/{c.pk}", {"city": "Huelva"}).status_code == 200
    assert api.post(URL, {"first_name": "Bea"}).status_code == 201


def test_unknown_account_executive_is_a_field_error(api):
    r = api.post(URL, {"first_name": "Ana", "account_executive": 424242})
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["body", "account_executive"], "msg": "Usuario desconocido.",
                                   "type": "not_found"}]


def test_duplicate_source_id_is_a_field_error(api, owner):
    customer_create(actor=Actor.of(owner), data={"first_name": "A"}, source="tpv", external_id="C-1")
    r = api.post(URL, {"first_name": "B", "source": "tpv", "external_id": "C-1"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "external_id"]
    assert Customer.objects.count() == 1
