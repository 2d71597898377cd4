"""Merging two cards that are both members: the ledger is appended to, never rewritten.

A merge moves the duplicate's points and tier qualification to the survivor with transfer
entries (the old lots' dates kept, so points expire when they would have); undo appends
the reverse. Every entry written before stays exactly as it was, all columns compared.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import Sum
from django.utils import timezone

from fideliza.accounts.services import Actor
from fideliza.customers.merging import customer_merge, customer_merge_undo
from fideliza.loyalty.expiry import points_expire
from fideliza.loyalty.merging import members_merge
from fideliza.loyalty.models import CauseType, EntryKind, LedgerEntry, Member, PointLot, Program
from fideliza.loyalty.selectors import ledger_check
from fideliza.loyalty.services import bonus_award, points_backfill, points_redeem, returns_clawback
from fideliza.loyalty.tiers import qualifying_values

from .conftest import make_customer, make_order, make_return

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 5, 20, 12, 0, tzinfo=TZ)
TRANSFERS = {"move_in", "move_out"}  # EntryKind.MOVE_IN, MOVE_OUT


@pytest.fixture(autouse=True)
def _clock():
    """The clock is pinned for the fixtures too (their orders are dated from NOW)."""
    with time_machine.travel(NOW, tick=False):
        yield


def _rows() -> dict[int, dict]:
    return {row["id"]: row for row in LedgerEntry.objects.values()}


def _lots(member: Member) -> Counter:
    """The member's points by (available from, expires at)."""
    held: Counter = Counter()
    for available, expires, points in PointLot.objects.filter(member=member, points_remaining__gt=0).values_list(
            "available_at", "expires_at", "points_remaining"):
        held[(available, expires)] += points
    return held


def _state(*members: Member) -> dict:
    program = members[0].program
    fresh = {m.pk: Member.objects.select_related("tier").get(pk=m.pk) for m in members}
    values = qualifying_values(program, [m.pk for m in members])
    return {pk: (m.points_balance, m.tier.name if m.tier else None, values.get(pk), _lots(m))
            for pk, m in fresh.items()}


@pytest.fixture
def two_cards(program, tiers, catalog):
    """Two cards of one person, both members with history: orders at different dates (lots
    with different expiry dates, one still pending), a redemption, a partial return."""
    Program.objects.filter(pk=program.pk).update(pending_days=14)
    a, b = make_customer(first_name="Lucía"), make_customer(first_name="LUCIA")
    make_order(a, [(catalog["drill"], 2)], placed_at=NOW - timedelta(days=300))   # 200 € (600 points)
    make_order(a, [(catalog["nails"], 1)], placed_at=NOW - timedelta(days=5))     # pending
    b_big = make_order(b, [(catalog["drill"], 9)], placed_at=NOW - timedelta(days=200))  # 900 € → Plata
    make_order(b, [(catalog["paint"], 1)], placed_at=NOW - timedelta(days=2))
    ma, mb = Member.objects.get(customer=a), Member.objects.get(customer=b)
    points_redeem(member=mb, points=120, idempotency_key="caja-1", actor=Actor.system("tpv"))
    make_return(b_big, amount=Decimal("100.00"), when=NOW - timedelta(days=150))
    assert ledger_check() == []
    return a, b, ma, mb


def test_merge_and_undo_append_transfers_and_leave_every_entry_untouched(two_cards):
    a, b, ma, mb = two_cards
    actor = Actor.system("tests")
    rows, before = _rows(), _state(ma, mb)
    (bal_a, tier_a, value_a, lots_a), (bal_b, tier_b, value_b, lots_b) = before[ma.pk], before[mb.pk]
    assert (tier_a, tier_b) == ("Plata", "Plata") and value_a + value_b >= 1000  # together: Oro

    merge = customer_merge(actor=actor, survivor=a, duplicate=b)

    after = _rows()
    assert {pk: after[pk] for pk in rows} == rows
    assert {(r["kind"], r["cause_type"]) for pk, r in after.items() if pk not in rows} \
        == {("move_out", "merge"), ("move_in", "merge")}
    assert ledger_check() == []
    merged = _state(ma, mb)
    assert merged[ma.pk] == (bal_a + bal_b, "Oro", value_a + value_b, lots_a + lots_b)
    assert merged[mb.pk] == (0, tier_b, Decimal(0), Counter())

    customer_merge_undo(actor=actor, merge=merge)

    undone = _rows()
    assert {pk: undone[pk] for pk in rows} == rows
    assert {r["kind"] for pk, r in undone.items() if pk not in rows} == TRANSFERS
    assert {r["cause_type"] for pk, r in undone.items() if pk not in after} == {"unmerge"}
    assert ledger_check() == []
    assert _state(ma, mb) == before


def test_merged_points_expire_on_the_survivor_when_they_would_have(two_cards):
    a, b, ma, mb = two_cards
    # Just after the duplicate's oldest points expire (the survivor's oldest went before).
    at = min(PointLot.objects.filter(member=mb, points_remaining__gt=0).values_list("expires_at", flat=True)) \
        + timedelta(minutes=1)
    would = {m.pk: sum(p for (_av, expires), p in _lots(m).items() if expires <= at) for m in (ma, mb)}
    assert all(would.values())
    balance = Member.objects.filter(pk__in=[ma.pk, mb.pk]).aggregate(s=Sum("points_balance"))["s"]
    customer_merge(actor=Actor.system("tests"), survivor=a, duplicate=b)
    with time_machine.travel(at, tick=False):
        run = points_expire()
    assert run.points_expired == sum(would.values()) and run.members_affected == 1
    assert Member.objects.get(pk=ma.pk).points_balance == balance - sum(would.values())
    assert ledger_check() == []


def test_after_a_merge_returns_backfill_and_bonuses_follow_the_moved_points(two_cards, catalog):
    a, b, ma, mb = two_cards
    b_recent = LedgerEntry.objects.filter(member=mb, kind=EntryKind.EARN).order_by("-occurred_at").first()
    customer_merge(actor=Actor.system("tests"), survivor=a, duplicate=b)
    survivor = Member.objects.get(pk=ma.pk).points_balance
    # A return of the duplicate's order (now the survivor's) takes its points from the survivor.
    from fideliza.sales.models import Order

    order = Order.objects.get(pk=int(b_recent.cause_id))
    assert order.customer_id == a.pk
    make_return(order, line_quantities={1: 1})
    assert Member.objects.get(pk=ma.pk).points_balance == survivor - b_recent.points
    assert not LedgerEntry.objects.filter(member=mb, kind=EntryKind.REVERSE, occurred_at__gte=NOW).exists()
    # Running the backfill again credits nothing twice, nor takes anything twice.
    entries = LedgerEntry.objects.count()
    assert points_backfill() == (0, 0)
    assert returns_clawback(list(order.returns.values_list("pk", flat=True))) == 0
    assert LedgerEntry.objects.count() == entries
    assert ledger_check() == []


def test_a_merged_cards_bonus_is_not_given_again_to_the_survivor(program, catalog):
    a, b = make_customer(), make_customer()
    for c in (a, b):
        make_order(c, [(catalog["nails"], 1)], placed_at=NOW - timedelta(days=3))
    mb = Member.objects.get(customer=b)
    given = bonus_award(member=mb, cause_type=CauseType.BIRTHDAY, cause_id="2026", actor=Actor.system("t"), points=40)
    customer_merge(actor=Actor.system("tests"), survivor=a, duplicate=b)
    ma = Member.objects.get(customer=a)
    balance = ma.points_balance
    again = bonus_award(member=ma, cause_type=CauseType.BIRTHDAY, cause_id="2026", actor=Actor.system("t"), points=40)
    assert again == given
    assert Member.objects.get(pk=ma.pk).points_balance == balance


def test_the_yearly_cap_counts_the_merged_cards_points(api, program, catalog):
    Program.objects.filter(pk=program.pk).update(max_points_per_member_year=700)
    a, b = make_customer(), make_customer()
    make_order(a, [(catalog["drill"], 1)], placed_at=NOW - timedelta(days=20))   # 300
    make_order(b, [(catalog["drill"], 1)], placed_at=NOW - timedelta(days=10))   # 300
    customer_merge(actor=Actor.system("tests"), survivor=a, duplicate=b)
    r = api.post("/api/v1/loyalty/preview", {"customer_id": a.pk, "lines": [{"sku": "TAL-1", "quantity": 1}]})
    assert r.json()["points"] == 100
    order = make_order(a, [(catalog["drill"], 1)], placed_at=timezone.now())
    assert LedgerEntry.objects.get(cause_type=CauseType.ORDER, cause_id=str(order.pk), kind=EntryKind.EARN).points == 100


def test_merge_undo_merge_again_and_the_other_way(two_cards):
    a, b, ma, mb = two_cards
    actor = Actor.system("tests")
    rows, before = _rows(), _state(ma, mb)
    for survivor, duplicate in ((a, b), (a, b), (b, a)):
        merge = customer_merge(actor=actor, survivor=survivor, duplicate=duplicate)
        assert ledger_check() == []
        customer_merge_undo(actor=actor, merge=merge)
        assert ledger_check() == []
        assert _state(ma, mb) == before
    after = _rows()
    assert {pk: after[pk] for pk in rows} == rows
    assert LedgerEntry.objects.filter(kind__in=TRANSFERS).aggregate(s=Sum("points"))["s"] == 0


def test_a_merge_recorded_before_transfers_is_undone_by_transfer(two_cards):
    """Merges recorded by the earlier engine re-pointed the duplicate's rows to the survivor;
    undoing one now moves them back with transfers."""
    _a, _b, ma, mb = two_cards
    before = _state(ma, mb)
    ids = {name: list(model.objects.filter(member=mb).values_list("pk", flat=True))
           for name, model in (("entries", LedgerEntry), ("lots", PointLot))}
    # What the earlier engine did (the rows re-pointed, the balances added up):
    LedgerEntry.objects.filter(pk__in=ids["entries"]).update(member=ma)
    PointLot.objects.filter(pk__in=ids["lots"]).update(member=ma)
    Member.objects.filter(pk=ma.pk).update(points_balance=before[ma.pk][0] + before[mb.pk][0])
    Member.objects.filter(pk=mb.pk).update(points_balance=0)
    assert ledger_check() == []
    record = {"duplicate_member": mb.pk, "survivor_member": ma.pk, "renamed": {}, **ids, "notices": [],
              "redemptions": [], "referrals": [], "balances": [before[ma.pk][0], before[mb.pk][0]],
              "survivor_tier": [ma.tier_id, ma.tier_since.isoformat() if ma.tier_since else None]}
    members_merge.undo({"members": [record]})
    assert ledger_check() == []
    assert _state(ma, mb) == before
