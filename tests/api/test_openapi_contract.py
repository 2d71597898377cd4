"""Rules of the OpenAPI document that Schemathesis alone would not pin down.

- Every component schema name is unique across routers: django-ninja keys components by the
  class name, so two routers defining `MemberOut` silently share one entry and a generated
  client gets the wrong shape for one of them.
- Errors under /api/ are JSON in the documented shape, also for a path no operation matches.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from ninja import NinjaAPI, Router, Schema
from ninja.openapi.schema import OpenAPISchema

from fideliza.api import api

pytestmark = pytest.mark.django_db


def schema_name_clashes(target: NinjaAPI) -> dict[str, list[Any]]:
    """Names registered twice with different definitions while building `target`'s document."""
    clashes: dict[str, list[Any]] = {}
    original = OpenAPISchema.add_schema_definitions

    def recording(self: OpenAPISchema, definitions: dict) -> None:
        for name, definition in definitions.items():
            known = self.schemas.get(name)
            if known is not None and json.dumps(known, sort_keys=True, default=str) != json.dumps(
                    definition, sort_keys=True, default=str):
                clashes.setdefault(name, [known]).append(definition)
        original(self, definitions)

    OpenAPISchema.add_schema_definitions = recording  # type: ignore[method-assign]
    try:
        OpenAPISchema(target, path_prefix="")
    finally:
        OpenAPISchema.add_schema_definitions = original  # type: ignore[method-assign]
    return clashes


def test_every_schema_name_is_unique_across_routers():
    assert schema_name_clashes(api) == {}


def test_the_clash_detector_catches_two_routers_with_one_name():
    # Two routers each defining their own `MemberOut`: the situation the loyalty and
    # segments routers were in.
    first, second = Router(), Router()

    class MemberOut(Schema):
        points: int

    @first.get("/a", response=MemberOut)
    def a(request):  # pragma: no cover - never called
        return None

    class MemberOut(Schema):  # type: ignore[no-redef]
        segment_id: int

    @second.get("/b", response=MemberOut)
    def b(request):  # pragma: no cover - never called
        return None

    probe = NinjaAPI(urls_namespace="clash-probe")
    probe.add_router("/first", first)
    probe.add_router("/second", second)
    assert set(schema_name_clashes(probe)) == {"MemberOut"}


@pytest.mark.parametrize("path", ["/api/v1/nada", "/api/v1/loyalty/members/abc", "/api/otra-cosa"])
def test_unknown_api_paths_answer_json_404(path):
    r = Client().get(path, headers={"Accept-Language": "en"})
    assert r.status_code == 404
    assert r["Content-Type"].startswith("application/json")
    assert r.json() == {"detail": "Not found."}


def test_unknown_api_path_speaks_spanish_by_default():
    r = Client().get("/api/v1/nada")
    assert r.status_code == 404 and r.json() == {"detail": "No encontrado."}


def test_pages_outside_the_api_keep_the_html_404():
    r = Client().get("/no-existe-esta-pagina/")
    assert r.status_code == 404 and r["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("raw", ["[null, null]", '"hello"', "[]", "7", "null", "true"])
def test_a_body_that_is_not_a_json_object_is_422(api, owner, raw):
    # Ninja's schemas read any value by attribute: a body schema whose fields are all
    # optional took these as an empty object and answered 200.
    from fideliza.segments.models import SegmentKind
    from fideliza.segments.services import segment_create

    segment = segment_create(user=owner, name="Estáticos", kind=SegmentKind.STATIC)
    r = api.patch(f"/api/v1/segments/{segment.pk}", raw=raw)
    assert r.status_code == 422, r.content
    assert r.json()["detail"] == [{"loc": ["body"], "msg": "Debe ser un objeto JSON.", "type": "model_type"}]
    assert api.post("/api/v1/messages/suppressions", raw=raw).status_code == 422


@pytest.mark.parametrize("value", [" 1", "+1", "1_000", "1e2", "١", "1.", ".5", "12.345"])
def test_decimal_strings_are_read_as_documented(api, value):
    r = api.post("/api/v1/products", {"sku": "X-1", "name": "Uno", "list_price": value})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "list_price"]
    assert api.post("/api/v1/products", {"sku": "X-1", "name": "Uno", "list_price": "1.50"}).status_code == 201


def test_a_method_the_path_does_not_have_is_a_json_405(api):
    r = api.client.delete("/api/v1/customers", headers={"Accept-Language": "es"})
    assert r.status_code == 405 and r["Content-Type"].startswith("application/json")
    assert r.json() == {"detail": "Método no permitido."}
    assert set(r["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_nul_characters_are_refused_and_documented(api):
    # PostgreSQL's text cannot hold U+0000 (it raised DataError there, a 200 on SQLite).
    r = api.post("/api/v1/loyalty/preview", {"lines": [{"sku": "A\u0000B", "quantity": "1"}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
    r = api.get("/api/v1/customers", {"q": "A\u0000B"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "q"]
    document = api.get("/api/openapi.json").json()
    assert document["components"]["schemas"]["BasketLineIn"]["properties"]["sku"]["pattern"] == "^[^\\x00]*$"
    assert "pattern" not in document["components"]["schemas"]["CustomerOut"]["properties"]["first_name"]
