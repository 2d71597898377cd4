"""Fixtures for the REST API tests: users of every role and token-authenticated clients."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from fideliza.accounts.services import Actor, api_token_create
from fideliza.catalog.models import Product
from fideliza.customers.services import customer_create
from fideliza.sales.models import Store


class ApiClient:
    """Django's test client speaking JSON with a token header, through the whole HTTP stack."""

    def __init__(self, token: str | None, **headers: str) -> None:
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        self.client = Client(headers=headers)

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str):
        return self.client.get(path, params or {}, headers=headers)

    def post(self, path: str, body: Any = None, *, raw: str | bytes | None = None, **headers: str):
        data = raw if raw is not None else json.dumps(body, default=str)
        return self.client.post(path, data, content_type="application/json", headers=headers)

    def patch(self, path: str, body: Any = None, *, raw: str | bytes | None = None, **headers: str):
        data = raw if raw is not None else json.dumps(body, default=str)
        return self.client.patch(path, data, content_type="application/json", headers=headers)


def make_user(django_user_model, username: str, role: str):
    return django_user_model.objects.create_user(username=username, password="clave-segura-1", role=role)


@pytest.fixture
def marketing(django_user_model):
    return make_user(django_user_model, "marketing", "marketing")


@pytest.fixture
def support(django_user_model):
    return make_user(django_user_model, "soporte", "support")


@pytest.fixture
def rep(django_user_model):
    return make_user(django_user_model, "rep1", "sales_rep")


@pytest.fixture
def rep2(django_user_model):
    return make_user(django_user_model, "rep2", "sales_rep")


@pytest.fixture
def client_for() -> Callable[..., ApiClient]:
    """client_for(user) → an ApiClient with a fresh token acting as `user`."""

    def make(user, **headers: str) -> ApiClient:
        _token, plain = api_token_create(user=user, name=f"tpv-{user.username}", created_by=user)
        return ApiClient(plain, **headers)

    return make


@pytest.fixture
def api(owner, client_for) -> ApiClient:
    """A client acting as the owner."""
    return client_for(owner)


@pytest.fixture
def products(db) -> dict[str, Product]:
    return {
        "MART-01": Product.objects.create(sku="MART-01", name="Martillo", list_price=Decimal("12.50"),
                                          unit_cost=Decimal("7.10"), currency="EUR"),
        "TORN-10": Product.objects.create(sku="TORN-10", name="Tornillos (caja)", list_price=Decimal("3.99"),
                                          unit_cost=None, currency="EUR"),
    }


@pytest.fixture
def store(db) -> Store:
    return Store.objects.create(code="CENTRO", name="Tienda Centro", city="Sevilla")


@pytest.fixture
def customer(owner):
    return customer_create(actor=Actor.of(owner), data={"first_name": "Lucía", "last_name": "García",
                                                        "email": "lucia@example.com", "city": "Sevilla"},
                           source="tpv", external_id="C-1")


def _order_body(customer_id: int, external_id: str = "T-1000", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "tpv",
        "external_id": external_id,
        "customer_id": customer_id,
        "placed_at": "2025-03-14T10:30:00+01:00",
        "channel": "store",
        "store": "CENTRO",
        "lines": [
            {"sku": "MART-01", "quantity": 2},
            {"sku": "TORN-10", "quantity": "3", "unit_price": "3.50", "discount": "0.50"},
        ],
    }
    body.update(extra)
    return body


@pytest.fixture
def order_body(products, store) -> Callable[..., dict[str, Any]]:
    """order_body(customer_id, external_id="T-1000", **overrides) → a valid order request body."""
    return _order_body
