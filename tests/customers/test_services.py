import pytest
from django.core.exceptions import ValidationError

from fideliza.accounts.models import AuditLog
from fideliza.accounts.services import Actor
from fideliza.customers.models import Customer
from fideliza.customers.selectors import consent_current, customers_visible_to
from fideliza.customers.services import consent_record, customer_create, customer_update

pytestmark = pytest.mark.django_db


def test_create_normalises_phone_and_email_and_audits(owner):
    c = customer_create(actor=Actor.of(owner), data={
        "first_name": "Lucía", "last_name": "García", "email": " Lucia@Example.COM ",
        "phone": "612 34 56 78"}, source="tpv", external_id="C-1")
    assert c.phone == "+34612345678"
    assert c.email == "lucia@example.com"
    assert c.source_ids.get().external_id == "C-1"
    row = AuditLog.objects.get(entity="customers.customer", entity_id=str(c.pk))
    assert row.action == "create" and row.actor == owner
    assert row.changes["phone"] == [None, "+34612345678"]


def test_invalid_phone_is_a_field_error_and_writes_nothing(owner):
    with pytest.raises(ValidationError) as err:
        customer_create(actor=Actor.of(owner), data={"first_name": "Ana", "phone": "12"})
    assert "phone" in err.value.message_dict
    assert Customer.objects.count() == 0 and AuditLog.objects.count() == 0


def test_update_audits_only_changed_fields(owner):
    c = customer_create(actor=Actor.of(owner), data={"first_name": "Ana", "city": "Sevilla"})
    customer_update(actor=Actor.of(owner), customer=c, data={"first_name": "Ana", "city": "Córdoba"})
    customer_update(actor=Actor.of(owner), customer=c, data={"city": "Córdoba"})  # no change
    rows = AuditLog.objects.filter(entity_id=str(c.pk), action="update")
    assert [r.changes for r in rows] == [{"city": ["Sevilla", "Córdoba"]}]


def test_sales_rep_sees_only_assigned(owner, django_user_model):
    rep = django_user_model.objects.create_user(username="rep", password="x", role="sales_rep")
    mine = customer_create(actor=Actor.of(owner), data={"first_name": "A", "account_executive": rep})
    customer_create(actor=Actor.of(owner), data={"first_name": "B"})
    assert list(customers_visible_to(rep)) == [mine]
    assert customers_visible_to(owner).count() == 2


def test_consent_is_append_only_latest_wins(owner):
    c = customer_create(actor=Actor.of(owner), data={"first_name": "A"})
    consent_record(customer=c, channel="email", granted=True, source="form")
    consent_record(customer=c, channel="email", granted=False, source="unsubscribe")
    assert consent_current(c) == {"email": False}
    assert c.consents.count() == 2
