"""Triggers on their own: who enters, with which occurrence key (no messages involved)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from fideliza.automations.models import Enrollment
from fideliza.automations.services import enrollments_create
from fideliza.automations.triggers import (
    birthday_hits,
    birthday_matches,
    inactivity_hits,
    post_purchase_hits,
    trigger_hits,
    trigger_params_clean,
    welcome_hits,
    winback_hits,
)

from .conftest import make_automation, make_customer, make_metrics, make_order, snapshot

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


@pytest.fixture
def travellers():
    """Three customers born on 10 May, in three time zones; one with the business's zone."""
    born = date(1990, 5, 10)
    return {
        "madrid": make_customer(birth_date=born, timezone="Europe/Madrid"),
        "mexico": make_customer(birth_date=born, timezone="America/Mexico_City"),
        "tokyo": make_customer(birth_date=born, timezone="Asia/Tokyo"),
        "local": make_customer(birth_date=born, timezone=""),  # settings.TIME_ZONE = Europe/Madrid
    }


def _who(automation, at: datetime, people: dict) -> set[str]:
    ids = {h.customer_id for h in birthday_hits(automation, at)}
    return {name for name, c in people.items() if c.pk in ids}


@pytest.mark.parametrize(("instant", "expected"), [
    # 9 May 14:59 UTC = 23:59 in Tokyo: nobody's birthday yet anywhere.
    (datetime(2026, 5, 9, 14, 59, tzinfo=UTC), set()),
    # 15:01 UTC = 00:01 on the 10th in Tokyo only.
    (datetime(2026, 5, 9, 15, 1, tzinfo=UTC), {"tokyo"}),
    # 21:59 UTC = 23:59 in Madrid (CEST): still the 9th there.
    (datetime(2026, 5, 9, 21, 59, tzinfo=UTC), {"tokyo"}),
    (datetime(2026, 5, 9, 22, 1, tzinfo=UTC), {"tokyo", "madrid", "local"}),
    # 00:30 UTC on the 10th: the UTC date is the birthday but Mexico City is at 18:30 on
    # the 9th. Comparing UTC dates here is mautic#9040's "a day early".
    (datetime(2026, 5, 10, 0, 30, tzinfo=UTC), {"tokyo", "madrid", "local"}),
    (datetime(2026, 5, 10, 5, 59, tzinfo=UTC), {"tokyo", "madrid", "local"}),
    (datetime(2026, 5, 10, 6, 1, tzinfo=UTC), {"tokyo", "madrid", "local", "mexico"}),
    # 15:01 UTC on the 10th = 00:01 on the 11th in Tokyo: Tokyo's day is over.
    (datetime(2026, 5, 10, 15, 1, tzinfo=UTC), {"madrid", "local", "mexico"}),
    (datetime(2026, 5, 10, 22, 1, tzinfo=UTC), {"mexico"}),
    (datetime(2026, 5, 11, 6, 1, tzinfo=UTC), set()),
])
def test_birthday_fires_on_the_local_day_only(travellers, instant, expected):
    automation = make_automation("birthday")
    with time_machine.travel(instant, tick=False):
        assert _who(automation, timezone.now(), travellers) == expected


def test_birthday_key_is_the_local_year(travellers):
    automation = make_automation("birthday")
    # 31 Dec 2025 15:30 UTC = 1 Jan 2026 00:30 in Tokyo.
    tokyo = make_customer(birth_date=date(1980, 1, 1), timezone="Asia/Tokyo")
    madrid = make_customer(birth_date=date(1980, 1, 1), timezone="Europe/Madrid")
    hits = {h.customer_id: h.trigger_key for h in birthday_hits(automation, datetime(2025, 12, 31, 15, 30,
                                                                                          tzinfo=UTC))}
    assert hits == {tokyo.pk: "birthday:2026"}
    assert madrid.pk not in hits


def test_leap_day_birthdays():
    assert birthday_matches(date(2000, 2, 29), date(2027, 2, 28))
    assert not birthday_matches(date(2000, 2, 29), date(2028, 2, 28))
    assert birthday_matches(date(2000, 2, 29), date(2028, 2, 29))
    assert not birthday_matches(date(2000, 2, 28), date(2028, 2, 29))
    automation = make_automation("birthday")
    leap = make_customer(birth_date=date(2000, 2, 29), timezone="Asia/Tokyo")
    # 28 Feb 2027 00:30 in Tokyo (2027 is not a leap year).
    assert [h.customer_id for h in birthday_hits(automation, datetime(2027, 2, 27, 15, 30, tzinfo=UTC))] == [leap.pk]
    assert birthday_hits(automation, datetime(2027, 2, 27, 14, 30, tzinfo=UTC)) == []


def test_unknown_zone_falls_back_to_the_business_zone():
    automation = make_automation("birthday")
    odd = make_customer(birth_date=date(1990, 5, 10), timezone="Mars/Olympus")
    assert birthday_hits(automation, datetime(2026, 5, 9, 21, 59, tzinfo=UTC)) == []
    assert [h.customer_id for h in birthday_hits(automation, datetime(2026, 5, 9, 22, 1, tzinfo=UTC))] == [odd.pk]


def test_birthday_enrols_once_per_year(travellers):
    automation = make_automation("birthday")
    for instant in (datetime(2026, 5, 9, 15, 1, tzinfo=UTC), datetime(2026, 5, 9, 23, 0, tzinfo=UTC),
                    datetime(2026, 5, 10, 12, 0, tzinfo=UTC), datetime(2026, 5, 10, 20, 0, tzinfo=UTC)):
        enrollments_create(automation=automation, hits=trigger_hits(automation, instant), now=instant)
    assert sorted(Enrollment.objects.filter(automation=automation).values_list("trigger_key", flat=True)) == \
        ["birthday:2026"] * 4
    # Last year's greeting went out (its one step ran): a new journey starts next year.
    Enrollment.objects.filter(automation=automation).update(state="completed", next_step=None, next_due_at=None)
    nxt = datetime(2027, 5, 10, 12, 0, tzinfo=UTC)
    enrollments_create(automation=automation, hits=trigger_hits(automation, nxt), now=nxt)
    assert Enrollment.objects.filter(automation=automation, trigger_key="birthday:2027").count() == 4


def test_inactivity_uses_each_customers_own_interval():
    today = date(2026, 6, 1)
    run = snapshot(today)
    weekly = make_customer()      # buys every 10 days, 15 days ago: overdue
    monthly = make_customer()     # buys every 30 days, 15 days ago: on time
    one_timer = make_customer()   # no interval of their own
    came_back = make_customer()   # overdue in the snapshot, but bought since
    borderline = make_customer()  # exactly at their interval: not past it
    make_metrics(weekly, run, days_since=15, interval=10)
    make_metrics(monthly, run, days_since=15, interval=30)
    make_metrics(one_timer, run, days_since=200, interval=None, state="lost")
    make_metrics(came_back, run, days_since=40, interval=10)
    make_metrics(borderline, run, days_since=20, interval=20)
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    make_order(came_back, datetime(2026, 6, 2, 10, tzinfo=UTC))
    automation = make_automation("inactivity")
    later = datetime(2026, 6, 2, 12, tzinfo=UTC)
    assert {h.customer_id for h in inactivity_hits(automation, now)} == {weekly.pk, came_back.pk}
    # The next day: the order after the snapshot counts, and a day more of silence is added.
    assert {h.customer_id for h in inactivity_hits(automation, later)} == {weekly.pk, borderline.pk}
    # A stricter factor: 1.4 × own interval.
    strict = make_automation("inactivity", params={"factor": 1.4})
    assert {h.customer_id for h in inactivity_hits(strict, now)} == {weekly.pk, came_back.pk}
    stricter = make_automation("inactivity", params={"factor": 2})
    assert {h.customer_id for h in inactivity_hits(stricter, now)} == {came_back.pk}
    key = next(h.trigger_key for h in inactivity_hits(automation, now) if h.customer_id == weekly.pk)
    assert key == f"inactive:{today - timedelta(days=15)}"


def test_winback_takes_the_dormant_state_from_the_snapshot():
    run = snapshot(date(2026, 6, 1))
    dormant, lost, risky = make_customer(), make_customer(), make_customer()
    make_metrics(dormant, run, days_since=90, interval=12, state="dormant")
    make_metrics(lost, run, days_since=400, interval=None, state="lost")
    make_metrics(risky, run, days_since=25, interval=12, state="at_risk")
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert {h.customer_id for h in winback_hits(make_automation("winback"), now)} == {dormant.pk}
    both = make_automation("winback", params={"states": ["dormant", "lost"]})
    assert {h.customer_id for h in winback_hits(both, now)} == {dormant.pk, lost.pk}


def test_welcome_only_after_the_first_purchase():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    new, regular, old = make_customer(), make_customer(), make_customer()
    make_order(new, now - timedelta(hours=3))
    make_order(new, now - timedelta(hours=1))
    make_order(regular, now - timedelta(days=100))
    make_order(regular, now - timedelta(hours=2))
    make_order(old, now - timedelta(days=5))
    hits = welcome_hits(make_automation("welcome"), now)
    assert [(h.customer_id, h.trigger_key) for h in hits] == [(new.pk, "first_purchase")]


def test_post_purchase_n_days_later():
    now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    c = make_customer()
    order = make_order(c, now - timedelta(days=7, hours=5))
    make_order(make_customer(), now - timedelta(days=3))
    automation = make_automation("post_purchase", params={"days_after": 7})
    assert [(h.customer_id, h.trigger_key) for h in post_purchase_hits(automation, now)] == \
        [(c.pk, f"order:{order.pk}")]
    assert post_purchase_hits(make_automation("post_purchase", params={"days_after": 7, "min_total": "60"}),
                              now) == []


def test_params_are_validated_per_kind():
    assert trigger_params_clean("post_purchase", {"days_after": 3}) == \
        {"days_after": 3, "lookback_days": 2, "min_total": "0"}
    with pytest.raises(ValidationError):
        trigger_params_clean("birthday", {"days_after": 3})
    with pytest.raises(ValidationError):
        trigger_params_clean("inactivity", {"factor": "mucho"})
    with pytest.raises(ValidationError):
        trigger_params_clean("winback", {"states": ["active"]})
    with pytest.raises(ValidationError):
        trigger_params_clean("tier_change", {"direction": "sideways"})
    with pytest.raises(ValidationError):
        trigger_params_clean("welcome", {"lookback_days": 2.5})
