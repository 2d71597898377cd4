"""The card's birth date, time zone and country are checked wherever a card is written: the
services (so the API, the web form and the admin), and the importer (issue 12)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from fideliza.accounts.models import AuditLog
from fideliza.accounts.services import Actor
from fideliza.customers.models import Customer
from fideliza.customers.services import customer_create, customer_update
from fideliza.customers.validators import country_codes, timezone_names
from fideliza.imports.services import import_file

pytestmark = pytest.mark.django_db

# 10 June 2026, 00:30 in Madrid: still 9 June in UTC. "Today" is the business's date.
NOW = dt.datetime(2026, 6, 10, 0, 30, tzinfo=ZoneInfo("Europe/Madrid"))
TODAY = dt.date(2026, 6, 10)
ACTOR = Actor.system("tests")


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _spanish():
    translation.activate("es")
    yield
    translation.activate("es")


def _create(**data):
    return customer_create(actor=ACTOR, data={"first_name": "Ana", **data})


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


# --- the rules ----------------------------------------------------------------------------

def test_the_country_list_is_iso_3166_1():
    codes = country_codes()
    assert len(codes) == 249
    assert {"ES", "PT", "MX", "GB", "US", "AQ", "BQ", "SS", "AX"} <= codes
    assert not {"ZZ", "EU", "UN", "XK", "XA", "AC", "TA", "IC", "EA", "UK"} & codes


def test_the_time_zones_are_iana_names():
    names = set(timezone_names())
    assert {"Europe/Madrid", "America/Mexico_City", "Atlantic/Canary", "UTC"} <= names
    assert not {"localtime", "Factory", "posixrules", "Mars/Olympus"} & names


@pytest.mark.parametrize("born", [dt.date(1900, 1, 1), dt.date(1980, 2, 29), TODAY])
def test_birth_dates_from_1900_to_today_are_accepted(born):
    assert _create(birth_date=born).birth_date == born


@pytest.mark.parametrize(("born", "message"), [
    (TODAY + dt.timedelta(days=1), "posterior a hoy"),
    (dt.date(9999, 12, 31), "posterior a hoy"),
    (dt.date(1899, 12, 31), "anterior a 1900-01-01"),
    (dt.date(1, 1, 1), "anterior a 1900-01-01"),
])
def test_a_birth_date_in_the_future_or_before_1900_is_refused(born, message):
    with pytest.raises(ValidationError) as exc:
        _create(birth_date=born)
    assert message in _errors(exc)["birth_date"][0]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "localtime", "europe/madrid",
                                  "Europe/Madrid ", "/etc/localtime", "Factory"])
def test_a_time_zone_that_is_not_an_iana_name_is_refused(zone):
    with pytest.raises(ValidationError) as exc:
        _create(timezone=zone)
    assert "no es una zona horaria IANA" in _errors(exc)["timezone"][0]


@pytest.mark.parametrize("code", ["ZZ", "XK", "EU", "E", "ESP", "1A"])
def test_a_country_that_is_not_iso_3166_1_is_refused(code):
    with pytest.raises(ValidationError) as exc:
        _create(country=code)
    assert "no es un código de país ISO 3166-1" in _errors(exc)["country"][0]


def test_valid_values_are_kept_and_the_country_is_upper_cased():
    c = _create(country=" es", timezone="America/Mexico_City", birth_date=dt.date(1975, 11, 23))
    c.refresh_from_db()
    assert (c.country, c.timezone, c.birth_date) == ("ES", "America/Mexico_City", dt.date(1975, 11, 23))
    assert _create(country="", timezone="").country == ""


def test_an_update_is_checked_too_and_writes_nothing():
    c = _create(country="ES")
    with pytest.raises(ValidationError) as exc:
        customer_update(actor=ACTOR, customer=c, data={"country": "ZZ", "timezone": "Mars/Olympus",
                                                        "birth_date": dt.date(2030, 1, 1)})
    assert set(_errors(exc)) == {"country", "timezone", "birth_date"}
    c.refresh_from_db()
    assert (c.country, c.timezone, c.birth_date) == ("ES", "", None)


def test_messages_in_english():
    with translation.override("en"):
        with pytest.raises(ValidationError) as exc:
            _create(birth_date=dt.date(2030, 1, 1), timezone="Mars/Olympus", country="ZZ")
        errors = _errors(exc)  # (lazy messages: read in the language they are shown in)
    assert errors["birth_date"] == ["The birth date cannot be later than today."]
    assert errors["timezone"] == ["«Mars/Olympus» is not an IANA time zone (e.g. Europe/Madrid)."]
    assert errors["country"] == ["«ZZ» is not an ISO 3166-1 country code (two capital letters, e.g. ES)."]


# --- the web form -------------------------------------------------------------------------

def test_the_web_form_shows_the_field_errors(client, owner):
    client.force_login(owner)
    data = {"kind": "person", "first_name": "Ana", "birth_date": "2026-06-11", "timezone": "../../etc/passwd",
            "country": "ZZ", "preferred_contact_time": "", "gender": ""}
    response = client.post(reverse("customers:create"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "posterior a hoy" in errors["birth_date"][0]
    assert "no es una zona horaria IANA" in errors["timezone"][0]
    assert "ISO 3166-1" in errors["country"][0]
    assert "no es una zona horaria IANA" in response.content.decode()
    english = client.post("/en" + reverse("customers:create"), data)
    assert "is not an IANA time zone" in english.context["form"].errors["timezone"][0]
    assert not Customer.objects.exists() and not AuditLog.objects.filter(action="create").exists()


# --- the importer -------------------------------------------------------------------------

def test_the_import_reports_each_row_and_field_and_writes_nothing(tmp_path, owner):
    path = tmp_path / "clientes.csv"
    path.write_text(
        "Id cliente;Nombre;Fecha de nacimiento;País\n"
        "C1;Lucía;05/01/1980;ES\n"
        "C2;Mañana;11/06/2026;España\n"
        "C3;Marte;01/01/1990;ZZ\n"
        "C4;Hoy;10/06/2026;pt\n",
        encoding="utf-8")
    run = import_file(path=path, kind="customers", source="tpv", actor=Actor.of(owner, via="import"))
    assert run.status == "invalid"
    errors = {(e["row"], e["column"]): e["message"] for e in run.errors}
    assert set(errors) == {(3, "Fecha de nacimiento"), (4, "País")}, run.errors
    assert "posterior a hoy" in errors[(3, "Fecha de nacimiento")]
    assert "ZZ" in errors[(4, "País")]
    assert not Customer.objects.exists()
