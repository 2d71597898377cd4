from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from fideliza.accounts.models import AuditLog
from fideliza.accounts.services import Actor
from fideliza.customers.export import customer_export_data
from fideliza.customers.merging import customer_merge, customer_merge_undo
from fideliza.customers.models import Customer
from fideliza.customers.services import consent_record, customer_create
from fideliza.sales.models import Order, OrderLine

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Europe/Madrid")


def _order(customer, ext, total, day):
    order = Order.objects.create(customer=customer, source="tpv", external_id=ext,
                                 placed_at=datetime(2025, 1, day, 10, tzinfo=TZ),
                                 subtotal=Decimal(total), total=Decimal(total))
    OrderLine.objects.create(order=order, line_no=1, sku="A", quantity=Decimal(1),
                             unit_price=Decimal(total), line_total=Decimal(total))
    return order


@pytest.fixture
def pair(owner):
    actor = Actor.of(owner)
    a = customer_create(actor=actor, data={
        "first_name": "Lucía", "last_name": "García", "email": "lucia@old.es", "city": "Córdoba",
        "acquisition_date": date(2020, 5, 1), "notes": "Cliente de la tienda"},
        source="tpv", external_id="T-1", interests=["jardinería"])
    b = customer_create(actor=actor, data={
        "first_name": "Lucia", "last_name": "García Pérez", "email": "lucia@nuevo.es",
        "phone": "612345678", "birth_date": date(1985, 3, 2),
        "acquisition_date": date(2022, 1, 1), "notes": "Compra en la web"},
        source="web", external_id="W-9", interests=["pintura", "jardinería"])
    _order(a, "1", "10.50", 2)
    _order(b, "2", "99.99", 3)
    _order(b, "3", "5.01", 4)
    consent_record(customer=b, channel="email", granted=True, source="web form")
    return actor, a, b


def test_merge_moves_everything_and_keeps_totals(pair):
    actor, a, b = pair
    total_before = Order.objects.aggregate(t=Sum("total"))["t"]
    merge = customer_merge(actor=actor, survivor=a, duplicate=b)
    a.refresh_from_db()
    b.refresh_from_db()
    assert Order.objects.filter(customer=a).count() == 3
    assert Order.objects.aggregate(t=Sum("total"))["t"] == total_before == Decimal("115.50")
    assert a.consents.count() == 1 and b.consents.count() == 0
    assert sorted(a.source_ids.values_list("source", flat=True)) == ["tpv", "web"]
    assert sorted(a.interests.values_list("name", flat=True)) == ["jardinería", "pintura"]
    # Survivorship: fuller name, newer contact data, earliest acquisition, both notes.
    assert a.last_name == "García Pérez"
    assert a.phone == "+34612345678" and a.birth_date == date(1985, 3, 2)
    assert a.email == "lucia@nuevo.es"
    assert a.acquisition_date == date(2020, 5, 1)
    assert "Cliente de la tienda" in a.notes and "Compra en la web" in a.notes
    assert b.merged_into_id == a.pk and not b.is_active
    assert merge.moved["sales.Order"] and AuditLog.objects.filter(action="merge").count() == 2


def test_undo_restores_exactly_the_previous_state(pair):
    actor, a, b = pair
    before = (customer_export_data(a), customer_export_data(b))
    merge = customer_merge(actor=actor, survivor=a, duplicate=b)
    assert customer_export_data(Customer.objects.get(pk=a.pk)) != before[0]
    customer_merge_undo(actor=actor, merge=merge)
    after = (customer_export_data(Customer.objects.get(pk=a.pk)),
             customer_export_data(Customer.objects.get(pk=b.pk)))
    assert after == before
    assert AuditLog.objects.filter(action="unmerge").count() == 2
    with pytest.raises(ValidationError):
        customer_merge_undo(actor=actor, merge=merge)


def test_orders_recorded_after_the_merge_stay_with_the_survivor(pair):
    actor, a, b = pair
    merge = customer_merge(actor=actor, survivor=a, duplicate=b)
    _order(a, "4", "1.00", 5)
    customer_merge_undo(actor=actor, merge=merge)
    assert sorted(Order.objects.filter(customer=a).values_list("external_id", flat=True)) == ["1", "4"]
    assert sorted(Order.objects.filter(customer=b).values_list("external_id", flat=True)) == ["2", "3"]


def test_cannot_merge_into_itself_or_twice(pair):
    actor, a, b = pair
    with pytest.raises(ValidationError):
        customer_merge(actor=actor, survivor=a, duplicate=a)
    customer_merge(actor=actor, survivor=a, duplicate=b)
    with pytest.raises(ValidationError):
        customer_merge(actor=actor, survivor=a, duplicate=Customer.objects.get(pk=b.pk))


def test_export_contains_every_table_holding_the_customer(pair):
    _actor, _a, b = pair
    data = customer_export_data(b)
    assert {"customers.CustomerSourceId", "customers.ConsentRecord", "sales.Order",
            "sales.OrderLine"} <= set(data)
    assert len(data["sales.OrderLine"]) == 2
    assert data["customer"]["email"] == "lucia@nuevo.es"
