"""`POST /api/v1/orders/batch`: many orders in one request, each recorded or refused on its
own (all or nothing for that order), with a per-order idempotency key, an outcome per order
in the request's order, and the same rules as `POST /orders` (visibility, validation)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fideliza.accounts.services import Actor
from fideliza.customers.services import customer_create
from fideliza.sales.models import Order, OrderLine

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/batch"


def test_each_order_stands_alone_and_the_reply_lists_every_outcome(api, customer, order_body):
    api.post("/api/v1/orders", order_body(customer.pk, "T-0"))  # already recorded before the batch
    orders = [
        order_body(customer.pk, "T-1"),
        order_body(999_999, "T-2"),                                        # unknown customer
        order_body(customer.pk, "T-0"),                                    # duplicate of T-0
        order_body(customer.pk, "T-3", lines=[{"sku": "MART-01", "quantity": 1},
                                              {"sku": "NO-EXISTE", "quantity": 1}]),  # 2nd line bad
        order_body(customer.pk, "T-4", placed_at="2999-01-01T00:00:00Z"),  # in the future
        order_body(customer.pk, "T-5", lines=[{"description": "Portes", "quantity": 1, "unit_price": "4.99"}]),
    ]
    r = api.post(URL, {"orders": orders})
    assert r.status_code == 200, r.content
    body = r.json()
    assert [x["outcome"] for x in body["results"]] == ["created", "invalid", "conflict", "invalid", "invalid",
                                                      "created"]
    assert [x["index"] for x in body["results"]] == list(range(6))
    assert (body["created"], body["replayed"], body["conflicts"], body["invalid"]) == (2, 0, 1, 3)
    assert body["results"][0]["order"]["total"] == "35.00" and body["results"][0]["status"] == 201
    assert body["results"][5]["order"]["total"] == "4.99"
    assert body["results"][1]["errors"][0]["loc"] == ["body", "orders", 1, "customer_id"]
    assert body["results"][2]["conflict"]["id"] == Order.objects.get(external_id="T-0").pk
    assert body["results"][3]["errors"][0]["loc"][:5] == ["body", "orders", 3, "lines", 1]
    assert body["results"][4]["errors"][0]["loc"] == ["body", "orders", 4, "placed_at"]
    # Nothing of a refused order was written, not even its good first line.
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["T-0", "T-1", "T-5"]
    assert OrderLine.objects.filter(order__external_id="T-3").count() == 0


def test_errors_are_in_the_request_language(client_for, owner, customer, order_body):
    api_en = client_for(owner, **{"Accept-Language": "en"})
    r = api_en.post(URL, {"orders": [order_body(999_999, "T-1")]})
    assert r.status_code == 200
    assert "unknown" in r.json()["results"][0]["errors"][0]["msg"].lower()


def test_a_keyed_batch_sent_twice_writes_once_and_replays_each_outcome(api, customer, order_body):
    orders = [{**order_body(customer.pk, f"T-{i}"), "idempotency_key": f"k-{i}"} for i in range(3)]
    first = api.post(URL, {"orders": orders}).json()
    again = api.post(URL, {"orders": orders}).json()
    assert [x["outcome"] for x in first["results"]] == ["created"] * 3
    assert [x["outcome"] for x in again["results"]] == ["replayed"] * 3
    assert [x["order"] for x in again["results"]] == [x["order"] for x in first["results"]]
    assert Order.objects.count() == 3
    # The same key with another order is refused for that order only.
    changed = [{**order_body(customer.pk, "T-9"), "idempotency_key": "k-0"},
               {**order_body(customer.pk, "T-10"), "idempotency_key": "k-10"}]
    third = api.post(URL, {"orders": changed}).json()
    assert [x["outcome"] for x in third["results"]] == ["invalid", "created"]
    assert third["results"][0]["errors"][0]["type"] == "idempotency_key_reused"
    assert third["results"][0]["errors"][0]["loc"] == ["body", "orders", 0, "idempotency_key"]


def test_a_request_that_does_not_match_the_schema_records_nothing(api, customer, order_body):
    orders = [order_body(customer.pk, "T-1"), {**order_body(customer.pk, "T-2"), "lines": "nada"}]
    r = api.post(URL, {"orders": orders})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][:3] == ["body", "orders", 1]
    assert not Order.objects.exists()
    assert api.post(URL, {"orders": []}).status_code == 422
    assert api.post(URL, {"orders": [order_body(customer.pk, f"T-{i}") for i in range(501)]}).status_code == 422
    assert not Order.objects.exists()


def test_a_representative_records_only_for_their_customers(owner, rep, rep2, client_for, order_body):
    mine = customer_create(actor=Actor.of(owner), data={"first_name": "Mía", "account_executive": rep})
    theirs = customer_create(actor=Actor.of(owner), data={"first_name": "Suya", "account_executive": rep2})
    r = client_for(rep).post(URL, {"orders": [order_body(mine.pk, "T-1"), order_body(theirs.pk, "T-2")]})
    assert [x["outcome"] for x in r.json()["results"]] == ["created", "invalid"]
    assert r.json()["results"][1]["errors"][0]["type"] == "not_found"
    assert list(Order.objects.values_list("customer_id", flat=True)) == [mine.pk]


def test_read_only_roles_cannot_post_a_batch(client_for, support, customer, order_body):
    r = client_for(support).post(URL, {"orders": [order_body(customer.pk, "T-1")]})
    assert r.status_code == 403
    assert not Order.objects.exists()


def test_totals_are_decimal_like_the_single_endpoint(api, customer, order_body):
    body = order_body(customer.pk, "T-1", lines=[{"sku": "MART-01", "quantity": 3, "unit_price": 0.1}])
    r = api.post(URL, {"orders": [body]})
    assert r.json()["results"][0]["order"]["total"] == "0.30"
    assert Order.objects.get().total == Decimal("0.30")
