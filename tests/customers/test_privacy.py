import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import Sum

from fideliza.accounts.services import Actor
from fideliza.customers.export import customer_export_data
from fideliza.customers.merging import customer_merge
from fideliza.customers.models import RequestStatus
from fideliza.customers.privacy import (
    add_business_days,
    customer_erase,
    customer_is_blocked,
    dsr_close,
    dsr_open,
    due_date_for,
)
from fideliza.customers.services import consent_record, customer_create, customer_update
from fideliza.sales.models import Order
from tests.clock import MIDSUMMER
from tests.factories.sales import order_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """Requests get due dates from today, and the orders of 1 March 2025 must be in the past."""
    time_machine.move_to(MIDSUMMER, tick=False)
TZ = ZoneInfo("Europe/Madrid")
SECRETS = ("Eulalia", "Zubizarreta", "eulalia.zz@correo-privado.es", "+34699887766", "99887766T",
           "Calle del Secreto 7", "Eula", "eula.vieja@antiguo.es")


@pytest.fixture
def person(owner):
    actor = Actor.of(owner)
    c = customer_create(actor=actor, data={
        "first_name": "Eulalia", "last_name": "Zubizarreta", "email": "eulalia.zz@correo-privado.es",
        "phone": "699887766", "tax_id": "99887766T", "address": "Calle del Secreto 7",
        "birth_date": date(1970, 1, 2), "city": "Bilbao", "notes": "Prefiere llamadas"},
        source="tpv", external_id="T-77", interests=["jardinería"])
    customer_update(actor=actor, customer=c, data={"first_name": "Eulalia"})
    old = customer_create(actor=actor, data={"first_name": "Eula", "last_name": "Zubizarreta",
                                             "email": "eula.vieja@antiguo.es"})
    consent_record(customer=c, channel="email", granted=True, source="form", ip_address="203.0.113.9",
                   wording="Acepto recibir ofertas de Ferretería")
    for n, (cust, total) in enumerate(((c, "40.00"), (old, "15.50"))):
        order_make(cust, external_id=str(n), total=total, placed_at=datetime(2025, 3, 1, tzinfo=TZ))
    customer_merge(actor=actor, survivor=c, duplicate=old)
    return actor, c, old


def _dump() -> str:
    out = io.StringIO()
    call_command("dumpdata", "--natural-foreign", stdout=out, exclude=["contenttypes", "auth.permission"])
    return out.getvalue()


def test_export_holds_every_table(person):
    _actor, c, _old = person
    data = customer_export_data(c)
    assert {"customers.CustomerSourceId", "customers.ConsentRecord", "sales.Order", "sales.OrderLine",
            "customers.CustomerMerge"} - set(data) <= {"customers.CustomerMerge"}
    assert data["customer"]["email"] == "eulalia.zz@correo-privado.es"
    assert len(data["sales.Order"]) == 2  # the merged card's order too


def test_erasure_leaves_no_personal_data_and_keeps_totals(person):
    actor, c, _old = person
    before = _dump()
    assert all(s in before for s in SECRETS)  # the check below is not vacuous
    total = Order.objects.aggregate(t=Sum("total"))["t"]
    request = dsr_open(actor=actor, customer=c, kind="erasure", country="ES")
    customer_erase(actor=actor, customer=c, request=request)
    after = _dump()
    leaks = [s for s in SECRETS if s.lower() in after.lower()]
    assert leaks == []
    assert "203.0.113.9" not in after and "Acepto recibir" not in after
    assert Order.objects.aggregate(t=Sum("total"))["t"] == total == Decimal("55.50")
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE
    with pytest.raises(ValidationError):
        customer_erase(actor=actor, customer=c)


def test_open_request_blocks_the_card(person):
    actor, c, _old = person
    request = dsr_open(actor=actor, customer=c, kind="access")
    assert customer_is_blocked(c)
    with pytest.raises(ValidationError):
        dsr_close(actor=actor, request=request, status="rejected")  # a refusal needs a reason
    dsr_close(actor=actor, request=request, status="done", resolution="Enviada copia")
    assert not customer_is_blocked(c)


def test_due_dates_per_country():
    monday = date(2026, 11, 23)
    assert due_date_for(country="ES", kind="erasure", received=monday) == date(2026, 12, 23)
    assert due_date_for(country="AR", kind="access", received=monday) == date(2026, 12, 3)
    assert due_date_for(country="CO", kind="access", received=monday) == add_business_days(monday, 10) == date(2026, 12, 7)
    assert due_date_for(country="MX", kind="erasure", received=monday) == date(2026, 12, 21)
    assert due_date_for(country="PE", kind="access", received=monday) == date(2026, 12, 23)  # default


def test_erasure_scrubs_stored_api_responses_and_import_reports(person):
    from fideliza.core.models import IdempotencyRecord
    from fideliza.imports.models import ImportRun

    actor, c, _old = person
    IdempotencyRecord.objects.create(scope="customers.create", key="k1", principal="token:1", request_hash="x",
                                     status_code=201, response_body={"id": c.pk, "email": c.email,
                                                                     "city": "Bilbao"})
    ImportRun.objects.create(kind="customers", source="tpv", file_name="a.csv", errors=[
        {"row": 3, "column": "Teléfono", "value": "699887766 / eulalia.zz@correo-privado.es", "message": "x"}])
    customer_erase(actor=actor, customer=c)
    body = IdempotencyRecord.objects.get().response_body
    assert body["email"] == "[suprimido]" and body["city"] == "Bilbao"
    assert ImportRun.objects.get().errors[0]["value"] == "[suprimido]"
