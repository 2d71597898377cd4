"""Orders and returns through the HTTP stack: totals in Decimal, 409 on a repeated id,
returns never exceeding what was bought, filters, cursor pages and visibility."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fideliza.accounts.models import AuditLog
from fideliza.accounts.services import Actor
from fideliza.customers.services import customer_create
from fideliza.sales import hooks
from fideliza.sales.models import Order, OrderLine, Return

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"


def test_create_order_computes_decimal_totals(api, customer, order_body, monkeypatch):
    seen = []
    monkeypatch.setattr(hooks, "ORDERS_RECORDED_HANDLERS", [seen.extend])
    r = api.post(URL, order_body(customer.pk))
    assert r.status_code == 201, r.content
    body = r.json()
    # 2 × 12.50 + (3 × 3.50 − 0.50)
    assert body["subtotal"] == "35.50" and body["discount_total"] == "0.50" and body["total"] == "35.00"
    assert body["cost_total"] is None and body["margin"] is None  # one line has no known cost
    assert body["lines"][0] == {"line_no": 1, "product_id": body["lines"][0]["product_id"], "sku": "MART-01",
                                "description": "Martillo", "quantity": "2", "unit_price": "12.50",
                                "unit_cost": "7.10", "discount": "0.00", "line_total": "25.00"}
    assert body["store"] == "CENTRO" and body["currency"] == "EUR"
    assert body["placed_at"] == "2025-03-14T09:30:00Z"
    order = Order.objects.get()
    assert order.total == Decimal("35.00") and order.lines.count() == 2
    assert seen == [order.pk]  # the order-recorded reactions ran, with this order
    assert AuditLog.objects.filter(entity="sales.order", entity_id=str(order.pk)).exists()


def test_exact_decimal_arithmetic_for_json_numbers(api, customer, order_body):
    body = order_body(customer.pk, lines=[{"sku": "MART-01", "quantity": 3, "unit_price": 0.1},
                                          {"description": "Portes", "quantity": 1, "unit_price": 0.2}])
    r = api.post(URL, body)
    assert r.status_code == 201, r.content
    assert r.json()["total"] == "0.50" and r.json()["cost_total"] is None


def test_customer_by_external_id_and_cost_margin(api, customer, order_body):
    body = order_body(customer.pk, lines=[{"sku": "MART-01", "quantity": "1.5"}])
    del body["customer_id"]
    body["customer_external_id"] = "C-1"
    r = api.post(URL, body)
    assert r.status_code == 201, r.content
    assert r.json()["customer_id"] == customer.pk
    assert r.json()["total"] == "18.75" and r.json()["cost_total"] == "10.65" and r.json()["margin"] == "8.10"
    assert r.json()["lines"][0]["quantity"] == "1.5"


def test_same_external_id_twice_without_key_is_a_409_pointing_at_the_order(api, customer, order_body):
    first = api.post(URL, order_body(customer.pk))
    again = api.post(URL, order_body(customer.pk))
    assert again.status_code == 409
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["url"] == f"/api/v1/orders/{first.json()['id']}"
    assert api.get(again.json()["url"]).status_code == 200
    assert Order.objects.count() == 1


@pytest.mark.parametrize(("change", "loc"), [
    ({"customer_id": 999999}, ["body", "customer_id"]),
    ({"currency": "XXY"}, ["body", "currency"]),
    ({"currency": "EURO"}, ["body", "currency"]),
    ({"store": "NOPE"}, ["body", "store"]),
    ({"placed_at": "2999-01-01T00:00:00Z"}, ["body", "placed_at"]),
    ({"placed_at": "14/03/2025"}, ["body", "placed_at"]),
    ({"channel": "telepathy"}, ["body", "channel"]),
    ({"lines": []}, ["body", "lines"]),
    ({"lines": [{"sku": "MART-01", "quantity": -1}]}, ["body", "lines", 0, "quantity"]),
    ({"lines": [{"sku": "MART-01", "quantity": 0}]}, ["body", "lines", 0, "quantity"]),
    ({"lines": [{"sku": "NOPE", "quantity": 1}]}, ["body", "lines", 0, "sku"]),
    ({"lines": [{"quantity": 1, "unit_price": "1"}]}, ["body", "lines", 0, "sku"]),
    ({"lines": [{"sku": "MART-01", "quantity": 1, "unit_price": "-1"}]}, ["body", "lines", 0, "unit_price"]),
    ({"lines": [{"sku": "MART-01", "quantity": 1, "unit_price": "1.999"}]}, ["body", "lines", 0, "unit_price"]),
    ({"lines": [{"sku": "MART-01", "quantity": 1, "discount": "13"}]}, ["body", "lines", 0, "discount"]),
    ({"lines": [{"sku": "MART-01", "quantity": "1e30"}]}, ["body", "lines", 0, "quantity"]),
    ({"lines": [{"sku": "MART-01", "quantity": 999999999, "unit_price": "999999999999"}]},
     ["body", "lines", 0, "quantity"]),
    ({"lines": [{"sku": "MART-01", "quantity": "NaN"}]}, ["body", "lines", 0, "quantity"]),
    ({"lines": [{"sku": "MART-01", "quantity": True}]}, ["body", "lines", 0, "quantity"]),
    ({"lines": [{"sku": "MART-01", "quantity": 1, "colour": "red"}]}, ["body", "lines", 0, "colour"]),
    ({"customer_id": 2**70}, ["body", "customer_id"]),
    ({"external_id": ""}, ["body", "external_id"]),
])
def test_bad_orders_are_422_with_the_field_and_write_nothing(api, customer, order_body, change, loc):
    r = api.post(URL, {**order_body(customer.pk), **change})
    assert r.status_code == 422, r.content
    detail = r.json()["detail"]
    assert loc in [item["loc"] for item in detail], detail
    assert all(item["msg"] and item["type"] for item in detail)
    assert Order.objects.count() == 0 and OrderLine.objects.count() == 0


def test_filters_and_cursor_pages(api, owner, customer, order_body, store):
    other = customer_create(actor=Actor.of(owner), data={"first_name": "Pedro"})
    days = ["2025-01-10", "2025-02-10", "2025-03-10", "2025-04-10"]
    ids = {}
    for i, day in enumerate(days):
        ids[day] = api.post(URL, order_body(customer.pk if i % 2 == 0 else other.pk, external_id=f"T-{i}",
                                            placed_at=f"{day}T12:00:00+01:00",
                                            channel="web" if i == 3 else "store",
                                            store=None if i == 3 else "CENTRO",
                                            source="web" if i == 3 else "tpv")).json()["id"]

    def got(**params):
        r = api.get(URL, params)
        assert r.status_code == 200, r.content
        return [o["id"] for o in r.json()["items"]]

    newest_first = [ids[d] for d in reversed(days)]
    assert got() == newest_first
    assert got(sort="placed_at") == list(reversed(newest_first))
    assert got(customer=customer.pk) == [ids["2025-03-10"], ids["2025-01-10"]]
    assert got(placed_from="2025-02-01T00:00:00+01:00", placed_to="2025-04-01T00:00:00+02:00") == [
        ids["2025-03-10"], ids["2025-02-10"]]
    assert got(channel="web") == [ids["2025-04-10"]]
    assert got(store="CENTRO") == newest_first[1:]
    assert got(source="web") == [ids["2025-04-10"]]
    pages, cursor = [], None
    while True:
        page = api.get(URL, {"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        pages.append([o["id"] for o in page["items"]])
        cursor = page["next"]
        if not cursor:
            break
    assert pages == [newest_first[:3], newest_first[3:]]


def test_orders_of_invisible_customers_are_invisible(owner, rep, rep2, client_for, order_body):
    mine = customer_create(actor=Actor.of(owner), data={"first_name": "Mía", "account_executive": rep})
    theirs = customer_create(actor=Actor.of(owner), data={"first_name": "Suya", "account_executive": rep2})
    owner_api = client_for(owner)
    mine_order = owner_api.post(URL, order_body(mine.pk, external_id="A")).json()["id"]
    their_order = owner_api.post(URL, order_body(theirs.pk, external_id="B")).json()["id"]
    api = client_for(rep)
    assert [o["id"] for o in api.get(URL).json()["items"]] == [mine_order]
    assert api.get(f"{URL}/{their_order}").status_code == 404
    assert api.post(f"{URL}/{their_order}/returns", {"external_id": "R", "lines": [
        {"line_no": 1, "quantity": 1}]}).status_code == 404
    # Recording an order for another rep's customer: that customer "does not exist".
    r = api.post(URL, order_body(theirs.pk, external_id="C"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "customer_id"]
    assert api.post(URL, order_body(mine.pk, external_id="D")).status_code == 201


def test_support_cannot_record_orders(support, client_for, customer, order_body):
    r = client_for(support).post(URL, order_body(customer.pk))
    assert r.status_code == 403 and isinstance(r.json()["detail"], str)
    assert Order.objects.count() == 0


# --- returns ---------------------------------------------------------------------------

@pytest.fixture
def order(api, customer, order_body):
    return api.post(URL, order_body(customer.pk)).json()


def test_partial_return_then_refusing_more_than_bought(api, order):
    url = f"{URL}/{order['id']}/returns"
    r = api.post(url, {"external_id": "R-1", "reason": "Roto", "lines": [{"line_no": 1, "quantity": 1}]})
    assert r.status_code == 201, r.content
    assert r.json()["refund_amount"] == "12.50" and r.json()["lines"] == [
        {"line_no": 1, "quantity": "1", "amount": "12.50"}]
    assert r.json()["source"] == "tpv"  # the order's source by default
    too_many = api.post(url, {"external_id": "R-2", "lines": [{"line_no": 1, "quantity": 2}]})
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["body", "lines", 0, "quantity"]
    assert "2" in too_many.json()["detail"][0]["msg"]
    ok = api.post(url, {"external_id": "R-3", "lines": [{"line_no": 1, "quantity": 1}]})
    assert ok.status_code == 201
    assert Return.objects.count() == 2
    detail = api.get(f"{URL}/{order['id']}").json()
    assert [x["external_id"] for x in detail["returns"]] == ["R-1", "R-3"]


def test_return_errors(api, order):
    url = f"{URL}/{order['id']}/returns"
    assert api.post(url, {"external_id": "R", "lines": [{"line_no": 9, "quantity": 1}]}).json()["detail"][0][
        "loc"] == ["body", "lines", 0, "line_no"]
    assert api.post(url, {"external_id": "R", "lines": []}).json()["detail"][0]["loc"] == ["body", "lines"]
    r = api.post(url, {"external_id": "R", "kind": "refund", "refund_amount": "35.01"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "refund_amount"]
    r = api.post(url, {"external_id": "R", "returned_at": "2020-01-01T00:00:00Z",
                       "lines": [{"line_no": 1, "quantity": 1}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "returned_at"]
    assert Return.objects.count() == 0


def test_money_only_refund_and_refund_cap(api, order):
    url = f"{URL}/{order['id']}/returns"
    r = api.post(url, {"external_id": "RF-1", "kind": "refund", "refund_amount": "30"})
    assert r.status_code == 201 and r.json()["refund_amount"] == "30.00" and r.json()["lines"] == []
    r = api.post(url, {"external_id": "RF-2", "kind": "refund", "refund_amount": "5.01"})
    assert r.status_code == 422  # 30 + 5.01 > 35.00
    assert api.post(url, {"external_id": "RF-3", "kind": "refund", "refund_amount": "5"}).status_code == 201


def test_same_return_id_twice_is_409(api, order):
    url = f"{URL}/{order['id']}/returns"
    body = {"external_id": "R-1", "lines": [{"line_no": 2, "quantity": 1}]}
    first = api.post(url, body)
    again = api.post(url, body)
    assert again.status_code == 409 and again.json()["id"] == first.json()["id"]
    assert Return.objects.count() == 1


def test_return_with_idempotency_key_replays(api, order):
    url = f"{URL}/{order['id']}/returns"
    body = {"external_id": "R-1", "lines": [{"line_no": 2, "quantity": 3}]}
    first = api.post(url, body, **{"Idempotency-Key": "ret-1"})
    again = api.post(url, body, **{"Idempotency-Key": "ret-1"})
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["refund_amount"] == "10.00"
