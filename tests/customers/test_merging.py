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
from fideliza.sales.models import Order
from tests.clock import MIDSUMMER
from tests.factories.sales import order_make
from tests.loyalty.ledger_views import export_held

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Europe/Madrid")


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """11 June 2025, ticking: the second card is written after the first (survivorship
    takes the newer card's contact data), and the January orders are in the past."""
    time_machine.move_to(MIDSUMMER, tick=True)


def _order(customer, ext, total, day):
    return order_make(customer, external_id=ext, total=total, placed_at=datetime(2025, 1, day, 10, tzinfo=TZ))


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


def test_members_of_one_program_and_snapshot_rows_merge_and_undo(pair):
    """Both cards earned points (and both got the welcome bonus) and both have a snapshot
    row: the merge combines the ledgers, keeps every invariant, and undo restores all."""
    from fideliza.insights.models import CustomerMetrics
    from fideliza.insights.services import snapshot_recompute
    from fideliza.loyalty.demo import loyalty_demo_program
    from fideliza.loyalty.models import LedgerEntry, Member
    from fideliza.loyalty.selectors import ledger_check
    from fideliza.loyalty.services import member_enroll, orders_accrue

    actor, a, b = pair
    program = loyalty_demo_program(actor=actor)
    for customer in (a, b):
        member_enroll(program=program, customer=customer, actor=actor)
    orders_accrue(list(Order.objects.values_list("pk", flat=True)))
    snapshot_recompute(as_of=date(2025, 6, 1))
    assert CustomerMetrics.objects.filter(customer__in=[a, b]).count() == 2
    ma, mb = Member.objects.get(customer=a), Member.objects.get(customer=b)
    balances = (ma.points_balance, mb.points_balance)
    assert all(balances) and ledger_check() == []
    entries_b = set(LedgerEntry.objects.filter(member=mb).values_list("pk", flat=True))
    before = (customer_export_data(a), customer_export_data(b))

    merge = customer_merge(actor=actor, survivor=a, duplicate=b)
    ma.refresh_from_db()
    mb.refresh_from_db()
    assert (ma.points_balance, mb.points_balance) == (sum(balances), 0)
    # The duplicate's entries stay where they were written; transfers carry them over.
    assert set(LedgerEntry.objects.filter(member=mb).exclude(kind="move_out").values_list("pk", flat=True)) \
        == entries_b
    assert set(LedgerEntry.objects.filter(member=ma, kind="move_in").values_list("origin_id", flat=True)) \
        == entries_b
    assert ledger_check() == []
    assert list(CustomerMetrics.objects.filter(customer__in=[a, b]).values_list("customer_id", flat=True)) \
        == [a.pk]  # the duplicate's row waits for the next snapshot

    customer_merge_undo(actor=actor, merge=merge)
    ma.refresh_from_db()
    mb.refresh_from_db()
    assert (ma.points_balance, mb.points_balance) == balances
    assert ledger_check() == []
    assert CustomerMetrics.objects.filter(customer__in=[a, b]).count() == 2
    # The ledger only grows (transfers); what each card holds is back exactly.
    assert (export_held(customer_export_data(Customer.objects.get(pk=a.pk))),
            export_held(customer_export_data(Customer.objects.get(pk=b.pk)))) == tuple(map(export_held, before))


def test_a_merge_and_its_undo_mark_the_snapshot_stale(pair):
    from fideliza.insights.models import AnalyticsState

    actor, a, b = pair
    AnalyticsState.objects.update_or_create(pk=1, defaults={"stale_since": None})
    merge = customer_merge(actor=actor, survivor=a, duplicate=b)
    assert AnalyticsState.objects.get(pk=1).stale_since is not None
    AnalyticsState.objects.filter(pk=1).update(stale_since=None)
    customer_merge_undo(actor=actor, merge=merge)
    assert AnalyticsState.objects.get(pk=1).stale_since is not None
