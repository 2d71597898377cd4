"""The contact budget: rolling windows, quiet hours across DST, several sources, send-time
re-checks, and (PostgreSQL) two campaigns queuing for the same customers at once."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from fideliza.engagement.budget import Budget, quiet_hours_end, slot_find, window_allows
from fideliza.engagement.models import BudgetScope, ContactBudget, ContactDecision, Message
from fideliza.engagement.outbox import messages_send
from fideliza.engagement.services import messages_queue

from .conftest import make_customer, request

MADRID = ZoneInfo("Europe/Madrid")
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=MADRID)
B2 = Budget(max_messages=2, window=timedelta(days=7))


def test_window_is_rolling_and_half_open():
    times = [T0, T0 + timedelta(days=1)]
    assert not window_allows(times, T0 + timedelta(days=2), B2)
    assert not window_allows(times, T0 + timedelta(days=7) - timedelta(seconds=1), B2)
    assert window_allows(times, T0 + timedelta(days=7), B2)  # T0 has left its window
    # A future (deferred) message counts too: nothing fits just before it.
    assert not window_allows([T0 + timedelta(days=3), T0 + timedelta(days=4)], T0, B2)


def test_slot_find_defers_to_when_a_slot_frees():
    times = [T0, T0 + timedelta(days=1)]
    slot = slot_find(times, T0 + timedelta(days=2), B2, MADRID)
    assert slot.at == T0 + timedelta(days=7) and slot.over_budget and not slot.quiet_hours
    assert slot_find(times, T0, B2, MADRID, horizon=timedelta(days=3)).at is None
    assert slot_find([], T0, Budget(0, timedelta(days=7)), MADRID).at is None


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=30 * 24), max_size=12),
       st.integers(min_value=0, max_value=4), st.integers(min_value=1, max_value=10))
def test_slots_found_one_by_one_never_break_any_window(hours, max_messages, window_days):
    """Adding messages at the slots slot_find returns keeps every window within budget."""
    budget = Budget(max_messages=max_messages, window=timedelta(days=window_days))
    times: list[datetime] = []
    for h in sorted(hours):
        slot = slot_find(times, T0 + timedelta(hours=h), budget, MADRID, horizon=timedelta(days=60))
        if slot.at is not None:
            assert slot.at >= T0 + timedelta(hours=h)
            times = sorted([*times, slot.at])
    for s in times:
        inside = [t for t in times if s <= t < s + budget.window]
        assert len(inside) <= max_messages


def test_quiet_hours_spanning_midnight_and_dst():
    budget = Budget(5, timedelta(days=7), quiet_start=time(21), quiet_end=time(9))
    late = datetime(2026, 3, 28, 23, 30, tzinfo=MADRID)  # the night the clocks go forward
    end = quiet_hours_end(late, budget, MADRID)
    assert end == datetime(2026, 3, 29, 9, 0, tzinfo=MADRID) and end.utcoffset() == timedelta(hours=2)
    assert quiet_hours_end(datetime(2026, 3, 29, 8, 59, tzinfo=MADRID), budget, MADRID).hour == 9
    assert quiet_hours_end(datetime(2026, 3, 29, 9, 0, tzinfo=MADRID), budget, MADRID) is None
    day = Budget(5, timedelta(days=7), quiet_start=time(14), quiet_end=time(16))
    assert quiet_hours_end(datetime(2026, 3, 29, 15, 0, tzinfo=MADRID), day, MADRID).hour == 16
    assert quiet_hours_end(datetime(2026, 3, 29, 21, 0, tzinfo=MADRID), day, MADRID) is None


@pytest.mark.django_db
def test_two_per_seven_days_across_campaigns_and_automations_every_skip_recorded():
    ContactBudget.objects.create(scope=BudgetScope.GLOBAL, max_messages=2, window_days=7)
    customers = [make_customer() for _ in range(5)]
    sources = ["campaign:1", "campaign:2", "campaign:3", "automation:1:step:1", "automation:2:step:1"]
    for day, source in enumerate(sources):
        # One source per call and per day, channels mixed: the budget is one across channels.
        channel = "sms" if day % 2 else "email"
        messages_queue([request(c, source=source, channel=channel,
                                over_budget="defer" if source.startswith("automation") else "skip")
                        for c in customers], now=T0 + timedelta(days=day))
    for c in customers:
        times = sorted(Message.objects.filter(customer=c).values_list("send_at", flat=True))
        for s in times:
            assert len([t for t in times if s <= t < s + timedelta(days=7)]) <= 2
        assert len(times) == 4  # 2 now, and the two deferred automations in the next window
    decisions = ContactDecision.objects.filter(customer__in=customers)
    assert decisions.filter(status="skipped", reason="over_budget").count() == 5  # campaign:3
    assert decisions.filter(status="deferred", reason="over_budget").count() == 10
    deferred = Message.objects.filter(status="deferred")
    assert {m.send_at for m in deferred} == {T0 + timedelta(days=7), T0 + timedelta(days=8)}


@pytest.mark.django_db
def test_deferred_message_is_rechecked_at_send_time(smtp_sink, noon, time_machine):
    now = noon
    time_machine.move_to(now, tick=False)  # the send-time re-check reads the clock
    budget = ContactBudget.objects.create(scope=BudgetScope.GLOBAL, max_messages=1, window_days=7)
    c = make_customer()
    _first, second = messages_queue([request(c, source="campaign:1"), request(c, source="campaign:2",
                                                                             over_budget="defer")],
                                   now=now - timedelta(days=8))
    assert second.status == "deferred" and second.send_at == now - timedelta(days=1)
    # Meanwhile the owner widened the window to 12 days: at send time the slot is gone, the
    # next one is 4 days away.
    budget.window_days = 12
    budget.save()
    assert messages_send([second.message_id]) == {"deferred": 1}
    message = Message.objects.get(pk=second.message_id)
    assert message.status == "deferred" and message.send_at == now + timedelta(days=4)
    assert ContactDecision.objects.filter(message=message, status="deferred").count() == 2
    # 30 days: the next slot lies beyond FIDELIZA_BUDGET_MAX_DEFER_DAYS, so it is dropped.
    budget.window_days = 30
    budget.save()
    Message.objects.filter(pk=message.pk).update(send_at=now - timedelta(minutes=1))
    assert messages_send([second.message_id]) == {"cancelled": 1}
    assert ContactDecision.objects.filter(message=message, status="cancelled", reason="over_budget").exists()
    assert smtp_sink.messages == []


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_campaigns_queuing_at_once_never_exceed_the_budget():
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL (SQLite serialises writers)")
    ContactBudget.objects.create(scope=BudgetScope.GLOBAL, max_messages=2, window_days=7)
    customers = [make_customer() for _ in range(40)]
    go = threading.Barrier(4)
    errors: list[str] = []

    def campaign(n: int) -> None:
        try:
            reqs = [request(c, source=f"campaign:{n}") for c in customers]
            go.wait()
            messages_queue(reqs)
        except Exception as exc:  # the test must see it
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=campaign, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for c in customers:
        assert Message.objects.filter(customer=c).count() == 2
        assert ContactDecision.objects.filter(customer=c, reason="over_budget").count() == 2
