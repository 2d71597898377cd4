"""Idempotency-Key: one order however many times, and however concurrently, it is posted."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from fideliza.core.idempotency import idempotency_purge_expired, request_fingerprint
from fideliza.core.models import IdempotencyRecord
from fideliza.customers.models import Customer
from fideliza.sales.models import Order, OrderLine

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
needs_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="PostgreSQL only: SQLite serialises all writers, so there is no race to test"
)

URL = "/api/v1/orders"
KEY = {"Idempotency-Key": "7a1c6f9e-pedido-T-1000"}


@pytest.mark.django_db
def test_an_order_posted_ten_times_sequentially_with_one_key_is_one_order(api, customer, order_body):
    responses = [api.post(URL, order_body(customer.pk), **KEY) for _ in range(10)]
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1  # the first response, byte for byte
    assert "Idempotent-Replayed" not in responses[0].headers
    assert all(r.headers["Idempotent-Replayed"] == "true" for r in responses[1:])
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_a_different_body_is_refused(api, customer, order_body):
    assert api.post(URL, order_body(customer.pk), **KEY).status_code == 201
    r = api.post(URL, order_body(customer.pk, external_id="T-2000"), **KEY)
    assert r.status_code == 422
    (item,) = r.json()["detail"]
    assert item["loc"] == ["header", "Idempotency-Key"] and item["type"] == "idempotency_key_reused"
    assert "otra petición" in item["msg"]
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_key_order_and_spacing_of_the_json_do_not_make_another_request(api, customer, order_body):
    body = order_body(customer.pk)
    first = api.post(URL, body, **KEY)
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = api.post(URL, raw=reordered, **KEY)
    assert again.status_code == 201 and again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_a_failed_request_does_not_burn_the_key(api, customer, order_body):
    bad = order_body(customer.pk, lines=[{"sku": "NOPE", "quantity": 1}])
    assert api.post(URL, bad, **KEY).status_code == 422
    assert IdempotencyRecord.objects.count() == 0
    assert api.post(URL, order_body(customer.pk), **KEY).status_code == 201


@pytest.mark.django_db
def test_keys_belong_to_one_integration(owner, client_for, customer, order_body):
    till, shop = client_for(owner), client_for(owner)
    assert till.post(URL, order_body(customer.pk), **KEY).status_code == 201
    # Another token's identical key is another key: this is a new request, and the order
    # id is taken, so it is the usual 409 rather than a replay of someone else's response.
    assert shop.post(URL, order_body(customer.pk), **KEY).status_code == 409


@pytest.mark.django_db
def test_expired_keys_no_longer_count(api, customer, order_body):
    assert api.post(URL, order_body(customer.pk), **KEY).status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=30))
    r = api.post(URL, order_body(customer.pk, external_id="T-2000"), **KEY)
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=30))
    assert idempotency_purge_expired() == 1 and IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\tkey"])
def test_invalid_keys_are_422(api, customer, order_body, key):
    r = api.post(URL, order_body(customer.pk), **{"Idempotency-Key": key})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_customer_create_is_idempotent_too(api):
    body = {"first_name": "Ana", "source": "web", "external_id": "U-9"}
    first = api.post("/api/v1/customers", body, **KEY)
    again = api.post("/api/v1/customers", body, **KEY)
    assert first.status_code == again.status_code == 201 and first.content == again.content
    assert Customer.objects.count() == 1


def test_fingerprint_ignores_json_formatting_but_not_values_or_path():
    a = request_fingerprint(method="POST", path="/x", body=b'{"a": 1, "b": [1.0, "z"]}')
    assert a == request_fingerprint(method="POST", path="/x", body=b'{"b":[1.0,"z"],"a":1}')
    assert a != request_fingerprint(method="POST", path="/x", body=b'{"b":[1.00,"z"],"a":1}')
    assert a != request_fingerprint(method="POST", path="/y", body=b'{"a": 1, "b": [1.0, "z"]}')
    assert request_fingerprint(method="POST", path="/x", body=b"not json")  # hashed as bytes


def _post_concurrently(clients, body, headers, n):
    """n threads, each its own DB connection, released together by a barrier."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = clients[i].post(URL, body, **headers)
        except Exception as exc:  # surfaced by the assertions below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.postgres_only
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_an_order_posted_ten_times_concurrently_with_one_key_is_one_order(owner, client_for, customer, order_body):
    api = client_for(owner)
    results = _post_concurrently([api] * 10, order_body(customer.pk), KEY, 10)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert [r.status_code for r in results] == [201] * 10
    assert len({r.content for r in results}) == 1
    assert sum("Idempotent-Replayed" in r.headers for r in results) == 9
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.postgres_only
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_of_one_order_id_without_key_record_it_once(owner, client_for, customer, order_body):
    clients = [client_for(owner) for _ in range(10)]
    results = _post_concurrently(clients, order_body(customer.pk), {}, 10)
    assert not [r for r in results if isinstance(r, Exception)], results
    codes = sorted(r.status_code for r in results)
    assert codes == [201] + [409] * 9
    order_id = next(r.json()["id"] for r in results if r.status_code == 201)
    assert {r.json()["id"] for r in results if r.status_code == 409} == {order_id}
    assert Order.objects.count() == 1
