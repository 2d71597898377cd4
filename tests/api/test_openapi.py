"""The OpenAPI document loads, validates, and says what the API really sends."""

from __future__ import annotations

import pytest
from django.test import Client
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema():
    r = Client().get("/api/openapi.json")
    assert r.status_code == 200
    return r.json()


def test_docs_page_loads():
    r = Client().get("/api/docs")
    assert r.status_code == 200 and b"openapi.json" in r.content


def test_schema_is_valid_openapi(schema):
    validate(schema)
    assert set(schema["paths"]) >= {"/api/v1/customers", "/api/v1/customers/{customer_id}", "/api/v1/products",
                                    "/api/v1/products/{product_id}", "/api/v1/orders", "/api/v1/orders/{order_id}",
                                    "/api/v1/orders/{order_id}/returns", "/api/v1/me"}


def test_money_is_documented_as_a_decimal_string(schema):
    components = schema["components"]["schemas"]
    for name, field in [("OrderOut", "total"), ("OrderLineOut", "unit_price"), ("ProductOut", "list_price")]:
        assert components[name]["properties"][field]["type"] == "string"
        assert components[name]["properties"][field]["format"] == "decimal"


def test_auth_idempotency_and_errors_are_documented(schema):
    assert {s["scheme"] for s in schema["components"]["securitySchemes"].values() if s["type"] == "http"} == {
        "bearer"}
    post = schema["paths"]["/api/v1/orders"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in post["parameters"]]
    assert {"201", "409", "422"} <= set(post["responses"])
    assert "Idempotent-Replayed" in post["responses"]["201"]["headers"]
    description = schema["info"]["description"]
    assert '"detail": [{"loc"' in description and "Idempotency-Key" in description and "cursor" in description
