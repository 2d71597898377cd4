import pytest

from fideliza.accounts.services import api_token_create
from fideliza.customers.models import Customer
from fideliza.segments.models import SegmentMember
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

ORO_CORDOBA = {"op": "and", "rules": [
    {"field": "value_tier", "cmp": "eq", "value": "oro"},
    {"field": "city", "cmp": "eq", "value": "Córdoba"},
]}


def _client(django_user_model, username, role):
    user = django_user_model.objects.create_user(username=username, password="x", role=role)
    _token, plain = api_token_create(user=user, name=username)
    return user, ApiClient(plain)


def test_create_preview_members_and_compare(shop, django_user_model):
    _user, api = _client(django_user_model, "mk", "marketing")
    expected = Customer.objects.filter(metrics__value_tier="oro", city__iexact="córdoba").count()
    preview = api.post("/api/v1/segments/preview", {"rules": ORO_CORDOBA})
    assert preview.status_code == 200 and preview.json()["count"] == expected
    assert "Córdoba" in preview.json()["rules_text"]
    created = api.post("/api/v1/segments", {"name": "Oro de Córdoba", "rules": ORO_CORDOBA})
    assert created.status_code == 201, created.content
    seg = created.json()
    assert seg["member_count"] == expected == SegmentMember.objects.filter(segment_id=seg["id"]).count()
    page = api.get(f"/api/v1/segments/{seg['id']}/members", {"limit": 2})
    ids = [m["id"] for m in page.json()["items"]]
    while page.json()["next"]:
        page = api.get(f"/api/v1/segments/{seg['id']}/members", {"limit": 2, "cursor": page.json()["next"]})
        ids += [m["id"] for m in page.json()["items"]]
    assert len(ids) == len(set(ids)) == expected
    compare = api.get("/api/v1/segments/compare", {"ids": [seg["id"]]})
    assert compare.status_code == 200 and compare.json()[0]["size"] == expected


def test_bad_rules_are_422_not_500(shop, django_user_model):
    _user, api = _client(django_user_model, "mk", "marketing")
    bad = api.post("/api/v1/segments", {"name": "x", "rules": {"op": "and", "rules": [
        {"field": "orders_count", "cmp": "gte", "value": "muchos"}]}})
    assert bad.status_code == 422 and "muchos" in str(bad.json())
    assert api.post("/api/v1/segments/preview", {"rules": {"op": "xor"}}).status_code == 422
    assert api.post("/api/v1/segments", {"name": "vacío", "rules": {}}).status_code == 422


def test_support_reads_but_cannot_create(shop, django_user_model):
    _user, api = _client(django_user_model, "sop", "support")
    assert api.get("/api/v1/segments").status_code == 200
    assert api.post("/api/v1/segments", {"name": "x", "rules": ORO_CORDOBA}).status_code == 403


def test_sales_rep_sees_only_their_customers(shop, django_user_model):
    rep, api = _client(django_user_model, "rep", "sales_rep")
    mine = shop["customers"][:5]
    Customer.objects.filter(pk__in=[c.pk for c in mine]).update(account_executive=rep)
    everyone = {"op": "and", "rules": [{"field": "orders_count", "cmp": "gte", "value": 0}]}
    assert api.post("/api/v1/segments/preview", {"rules": everyone}).json()["count"] == 5
    seg = api.post("/api/v1/segments", {"name": "Todos", "rules": everyone}).json()
    members = api.get(f"/api/v1/segments/{seg['id']}/members", {"limit": 200}).json()["items"]
    assert {m["id"] for m in members} == {c.pk for c in mine}
    assert seg["member_count"] == len(shop["customers"])  # membership itself is business-wide


def test_fields_catalogue_lists_the_three_sources(db, django_user_model):
    _user, api = _client(django_user_model, "mk", "marketing")
    groups = {f["group"] for f in api.get("/api/v1/segments/fields").json()}
    assert groups == {"card", "analytics", "behaviour"}
