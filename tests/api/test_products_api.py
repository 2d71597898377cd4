"""Products through the HTTP stack: create, read, list with filters, patch; roles."""

from __future__ import annotations

import pytest

from fideliza.catalog.models import Category, Product

pytestmark = pytest.mark.django_db

URL = "/api/v1/products"


def test_create_read_patch(api):
    r = api.post(URL, {"sku": "TAL-18V", "name": "Taladro 18 V", "category": "Herramientas > Eléctricas",
                       "list_price": "89.90", "unit_cost": 52, "currency": "eur", "path_level": "main"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["list_price"] == "89.90" and body["unit_cost"] == "52.00" and body["unit_margin"] == "37.90"
    assert body["currency"] == "EUR" and body["path_level"] == "main"
    assert body["category"]["path"] == "Herramientas › Eléctricas"
    assert api.get(f"{URL}/{body['id']}").json() == body
    r = api.patch(f"{URL}/{body['id']}", {"list_price": "79.90", "is_active": False, "unit_cost": None})
    assert r.status_code == 200, r.content
    assert r.json()["list_price"] == "79.90" and r.json()["is_active"] is False
    assert r.json()["unit_cost"] is None and r.json()["unit_margin"] is None
    assert r.json()["name"] == "Taladro 18 V"


def test_duplicate_sku_and_bad_values_are_422(api):
    assert api.post(URL, {"sku": "A-1", "name": "A", "list_price": "1"}).status_code == 201
    r = api.post(URL, {"sku": "A-1", "name": "Otro", "list_price": "1"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "sku"]
    for bad, loc in [({"list_price": "-1"}, "list_price"), ({"list_price": "abc"}, "list_price"),
                     ({"currency": "ZZZ"}, "currency"), ({"path_level": "gold"}, "path_level"),
                     ({"name": ""}, "name")]:
        r = api.post(URL, {"sku": "B-1", "name": "B", "list_price": "1", **bad})
        assert r.status_code == 422, (bad, r.content)
        assert r.json()["detail"][0]["loc"] == ["body", loc]
    r = api.patch(f"{URL}/{Product.objects.get().pk}", {"name": None})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "name"]
    assert Product.objects.count() == 1


def test_filters_and_pages(api):
    tools = Category.objects.create(name="Herramientas")
    power = Category.objects.create(name="Eléctricas", parent=tools)
    garden = Category.objects.create(name="Jardín")
    a = Product.objects.create(sku="A", name="Martillo", category=tools, list_price=10)
    b = Product.objects.create(sku="B", name="Taladro", category=power, list_price=80)
    c = Product.objects.create(sku="C", name="Manguera", category=garden, list_price=15, is_active=False)

    def ids(**params):
        r = api.get(URL, params)
        assert r.status_code == 200, r.content
        return [p["id"] for p in r.json()["items"]]

    assert ids() == [a.pk, b.pk, c.pk]
    assert ids(sku="B") == [b.pk]
    assert ids(category=tools.pk) == [a.pk, b.pk]  # with its subcategories
    assert ids(category=garden.pk) == [c.pk]
    assert ids(active="false") == [c.pk]
    assert ids(q="tala") == [b.pk]
    first = api.get(URL, {"sort": "sku", "limit": 2}).json()
    second = api.get(URL, {"sort": "sku", "limit": 2, "cursor": first["next"]}).json()
    assert [p["sku"] for p in first["items"] + second["items"]] == ["A", "B", "C"]
    assert second["next"] is None


@pytest.mark.parametrize("role", ["support", "sales_rep"])
def test_only_owner_and_marketing_write_products(django_user_model, client_for, role):
    user = django_user_model.objects.create_user(username=role, password="x", role=role)
    api = client_for(user)
    assert api.post(URL, {"sku": "X", "name": "X", "list_price": "1"}).status_code == 403
    p = Product.objects.create(sku="Y", name="Y", list_price=1)
    assert api.patch(f"{URL}/{p.pk}", {"name": "Z"}).status_code == 403
    assert api.get(f"{URL}/{p.pk}").status_code == 200


def test_marketing_writes_products(marketing, client_for):
    assert client_for(marketing).post(URL, {"sku": "X", "name": "X", "list_price": "1"}).status_code == 201
