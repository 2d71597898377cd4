from datetime import date, timedelta

import pytest
from django.utils import timezone

from fideliza.loyalty.expiry import birthdays_award, expiry_notices_create, points_expire
from fideliza.loyalty.models import (
    CauseType,
    EntryKind,
    ExpiryNotice,
    LedgerEntry,
    Member,
    PointLot,
)
from fideliza.loyalty.selectors import ledger_check, loyalty_liability
from fideliza.loyalty.services import points_redeem

from .conftest import make_customer, make_order

pytestmark = pytest.mark.django_db


def test_expiry_takes_only_what_is_left_of_expired_lots(program, catalog, customer, actor):
    program.join_points = 0
    program.expiry_days = 30
    program.save()
    now = timezone.now()
    make_order(customer, [(catalog["nails"], 4)], placed_at=now - timedelta(days=40))  # 20, expired
    make_order(customer, [(catalog["nails"], 2)], placed_at=now - timedelta(days=5))  # 10, alive
    other = make_customer()
    make_order(other, [(catalog["nails"], 6)], placed_at=now - timedelta(days=31))  # 30, expired
    m = Member.objects.get(customer=customer)
    # The expired lot is no longer spendable even before the job runs.
    points_redeem(member=m, points=10, idempotency_key="x", actor=actor)
    assert PointLot.objects.get(points_initial=10).points_remaining == 0
    run = points_expire()
    assert (run.members_affected, run.lots_expired, run.points_expired) == (2, 2, 50)
    assert Member.objects.get(customer=customer).points_balance == 0
    assert Member.objects.get(customer=other).points_balance == 0
    entry = LedgerEntry.objects.get(member=m, kind=EntryKind.EXPIRE)
    assert entry.points == -20 and entry.balance_after == 0
    assert ledger_check() == []
    again = points_expire()
    assert (again.members_affected, again.points_expired) == (0, 0)


def test_points_never_expire_without_expiry_days(program, catalog, customer):
    program.expiry_days = None
    program.save()
    make_order(customer, [(catalog["nails"], 1)], placed_at=timezone.now() - timedelta(days=4000))
    assert points_expire().points_expired == 0


def test_notice_before_expiry_once(program, catalog, customer):
    program.expiry_days = 40
    program.expiry_notice_days = 15
    program.save()
    make_order(customer, [(catalog["nails"], 2)], placed_at=timezone.now() - timedelta(days=30))
    created = expiry_notices_create()
    assert len(created) == 1 and created[0].points == 60  # 10 + welcome 50, both expire together
    assert expiry_notices_create() == []
    assert ExpiryNotice.objects.count() == 1


def test_birthday_bonus_once_a_year(program, catalog, actor):
    program.birthday_points = 75
    program.save()
    today = date(2026, 3, 14)
    c = make_customer(birth_date=date(1990, 3, 14))
    make_order(c, [(catalog["nails"], 1)])
    assert birthdays_award(today=today) == 1
    assert birthdays_award(today=today) == 0
    assert LedgerEntry.objects.get(cause_type=CauseType.BIRTHDAY).cause_id == "2026"


def test_liability_is_outstanding_points_times_value(program, catalog, customer):
    make_order(customer, [(catalog["drill"], 1)])  # 300 + 50
    figure = loyalty_liability(program)
    assert figure["points"] == 350 and str(figure["amount"]) == "3.50"


def test_daily_task_and_command(program, catalog, customer):
    from io import StringIO

    from django.core.management import call_command

    from fideliza.loyalty.tasks import loyalty_daily

    program.expiry_days = 10
    program.save()
    make_order(customer, [(catalog["nails"], 1)], placed_at=timezone.now() - timedelta(days=20))
    result = loyalty_daily.enqueue()
    assert result.return_value["expired_points"] == 55
    out = StringIO()
    call_command("expire_points", stdout=out)
    assert "0 puntos caducados" in out.getvalue()


def test_demo_program_and_backfill_are_idempotent(catalog, customer):
    from io import StringIO

    from django.core.management import call_command

    from fideliza.loyalty.models import EarningRule, Program

    make_order(customer, [(catalog["drill"], 1)])  # before any program: earns nothing
    out = StringIO()
    call_command("loyalty_backfill", "--crear-programa", stdout=out)
    assert "1 pedidos" in out.getvalue()
    program = Program.objects.get()
    assert EarningRule.objects.filter(program=program, multiplier=3).exists()
    assert program.tiers.count() == 4 and program.rewards.count() == 4
    call_command("loyalty_backfill", "--crear-programa", stdout=StringIO())
    assert Program.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.EARN).count() == 1
    assert ledger_check() == []
