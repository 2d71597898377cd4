"""POST and PATCH /api/v1/customers refuse an impossible birth date, a time zone that is not
an IANA name and a country that is not ISO 3166-1: 422 with field-level messages in the
caller's language, and the OpenAPI document lists the accepted codes and zones (issue 12)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from fideliza.customers.models import Customer
from fideliza.customers.validators import country_codes, timezone_names

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 10, 12, 0, tzinfo=ZoneInfo("Europe/Madrid"))


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _fields(response) -> dict[str, dict]:
    assert response.status_code == 422, response.content
    return {tuple(item["loc"])[-1]: item for item in response.json()["detail"]}


@pytest.mark.parametrize(("field", "value", "spanish", "english"), [
    ("birth_date", "9999-12-31", "posterior a hoy", "later than today"),
    ("birth_date", "2026-06-11", "posterior a hoy", "later than today"),
    ("birth_date", "1899-12-31", "anterior a 1900-01-01", "earlier than 1900-01-01"),
    ("timezone", "Mars/Olympus", "no es una zona horaria IANA", "is not an IANA time zone"),
    ("timezone", "../../etc/passwd", "no es una zona horaria IANA", "is not an IANA time zone"),
    ("country", "ZZ", "no es un código de país ISO 3166-1", "is not an ISO 3166-1 country code"),
    ("country", "es", "no es un código de país ISO 3166-1", "is not an ISO 3166-1 country code"),
])
def test_create_refuses_the_value_with_a_field_message(api, client_for, owner, field, value, spanish, english):
    body = {"first_name": "Ana", field: value}
    item = _fields(api.post("/api/v1/customers", body))[field]
    assert item["loc"] == ["body", field]
    assert spanish in item["msg"]
    english_client = client_for(owner, **{"Accept-Language": "en"})
    assert english in _fields(english_client.post("/api/v1/customers", body))[field]["msg"]
    assert not Customer.objects.exists()


def test_patch_refuses_them_all_at_once_and_changes_nothing(api):
    created = api.post("/api/v1/customers", {"first_name": "Ana", "country": "ES", "timezone": "Europe/Madrid",
                                             "birth_date": "1980-01-05"})
    assert created.status_code == 201, created.content
    url = f"/api/v1/customers/{created.json()['id']}"
    response = api.patch(url, {"country": "ZZ", "timezone": "Mars/Olympus"})
    assert set(_fields(response)) == {"country", "timezone"}
    assert set(_fields(api.patch(url, {"birth_date": "2027-01-01"}))) == {"birth_date"}
    card = api.get(url).json()
    assert (card["country"], card["timezone"], card["birth_date"]) == ("ES", "Europe/Madrid", "1980-01-05")


def test_valid_values_and_clearing(api):
    created = api.post("/api/v1/customers", {"first_name": "Ana", "country": "MX", "timezone": "America/Mexico_City",
                                             "birth_date": "2026-06-10"})
    assert created.status_code == 201, created.content
    url = f"/api/v1/customers/{created.json()['id']}"
    assert api.patch(url, {"country": "", "timezone": None}).status_code == 200
    card = api.get(url).json()
    assert (card["country"], card["timezone"]) == ("", "")


def test_the_openapi_document_lists_the_codes_and_zones(api):
    schemas = api.get("/api/openapi.json").json()["components"]["schemas"]
    for name in ("CustomerCreateIn", "CustomerPatchIn"):
        props = schemas[name]["properties"]
        [country] = [s for s in props["country"]["anyOf"] if s.get("type") == "string"]
        [zone] = [s for s in props["timezone"]["anyOf"] if s.get("type") == "string"]
        assert set(country["enum"]) == {"", *country_codes()}
        assert set(zone["enum"]) == {"", *timezone_names()}
        assert "1900-01-01" in props["birth_date"]["description"]
