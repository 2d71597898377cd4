"""automations_run end to end through the real delivery layer (engagement.messages_queue)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from fideliza.automations.models import Automation, AutomationStep, Enrollment, StepRun, TierSeen
from fideliza.automations.selectors import automations_dry_run
from fideliza.automations.services import automations_run
from fideliza.automations.tasks import automations_run as automations_task
from fideliza.engagement.models import ContactDecision, Message
from fideliza.loyalty.models import Coupon

from .conftest import make_automation, make_customer, make_metrics, make_order, snapshot

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
MADRID = ZoneInfo("Europe/Madrid")
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=MADRID)  # outside quiet hours


def _messages(automation: Automation):
    return Message.objects.filter(source__startswith=f"automation:{automation.pk}:")


def _new_buyers(n: int, at: datetime):
    people = [make_customer() for _ in range(n)]
    for c in people:
        make_order(c, at - timedelta(hours=2))
    return people


def test_rerun_never_double_enrols_or_sends():
    people = _new_buyers(5, NOON)
    welcome = make_automation("welcome")
    first = automations_run(now=NOON)
    assert first[welcome.pk]["enrolled"] == 5 and first[welcome.pk]["queued"] == 5
    for later in (NOON, NOON + timedelta(minutes=15), NOON + timedelta(hours=5)):
        again = automations_run(now=later)
        assert again[welcome.pk]["enrolled"] == 0
    assert Enrollment.objects.filter(automation=welcome).count() == 5
    assert StepRun.objects.filter(automation=welcome).count() == 5
    assert sorted(_messages(welcome).values_list("customer_id", flat=True)) == sorted(c.pk for c in people)
    welcome.refresh_from_db()
    assert welcome.last_run_at == NOON + timedelta(hours=5)


def test_the_scheduled_task_exists_and_runs():
    _new_buyers(2, timezone.now())
    welcome = make_automation("welcome")
    result = automations_task.enqueue()
    assert result.return_value[str(welcome.pk)]["enrolled"] == 2
    assert _messages(welcome).count() == 2


def test_holdout_receives_nothing_but_is_tracked():
    people = _new_buyers(60, NOON)
    welcome = make_automation("welcome", holdout="0.5", steps=2, delay_days=1)
    automations_run(now=NOON)
    automations_run(now=NOON + timedelta(days=1, minutes=1))
    holdout = set(Enrollment.objects.filter(automation=welcome, group="holdout").values_list("customer_id", flat=True))
    treated = set(Enrollment.objects.filter(automation=welcome, group="treated").values_list("customer_id", flat=True))
    assert holdout | treated == {c.pk for c in people} and 15 < len(holdout) < 45
    assert not _messages(welcome).filter(customer_id__in=holdout).exists()
    assert _messages(welcome).filter(customer_id__in=treated).count() == 2 * len(treated)
    # Holdout enrolments walk the steps too, logged as "holdout", and complete.
    assert StepRun.objects.filter(automation=welcome, status="holdout").count() == 2 * len(holdout)
    assert set(Enrollment.objects.filter(automation=welcome).values_list("state", flat=True)) == {"completed"}


def test_stop_when_the_customer_buys():
    buyer, quiet = _new_buyers(2, NOON)
    welcome = make_automation("welcome", steps=3, delay_days=3, condition="stop_if_purchased")
    automations_run(now=NOON)
    make_order(buyer, NOON + timedelta(days=1))
    automations_run(now=NOON + timedelta(days=3, minutes=5))
    automations_run(now=NOON + timedelta(days=6, minutes=5))
    assert _messages(welcome).filter(customer=buyer).count() == 1
    assert _messages(welcome).filter(customer=quiet).count() == 3
    stopped = Enrollment.objects.get(automation=welcome, customer=buyer)
    assert (stopped.state, stopped.stop_reason) == ("stopped", "purchased")
    assert StepRun.objects.get(enrollment=stopped, position=2).status == "stopped"
    assert not StepRun.objects.filter(enrollment=stopped, position=3).exists()


def test_steps_follow_their_delays():
    _new_buyers(1, NOON)
    welcome = make_automation("welcome", steps=2, delay_days=2)
    automations_run(now=NOON)
    automations_run(now=NOON + timedelta(days=1, hours=23))
    assert _messages(welcome).count() == 1
    automations_run(now=NOON + timedelta(days=2, minutes=1))
    assert _messages(welcome).count() == 2


def test_steps_without_delay_go_out_in_the_same_run():
    _new_buyers(2, NOON)
    welcome = make_automation("welcome", steps=3, delay_days=0)
    assert automations_run(now=NOON)[welcome.pk]["queued"] == 6
    assert set(Enrollment.objects.filter(automation=welcome).values_list("state", flat=True)) == {"completed"}


def test_birthday_sends_once_on_the_local_birthday():
    born = date(1990, 5, 10)
    people = {name: make_customer(birth_date=born, timezone=tz) for name, tz in
              (("madrid", "Europe/Madrid"), ("mexico", "America/Mexico_City"), ("tokyo", "Asia/Tokyo"))}
    birthday = make_automation("birthday")
    start = datetime(2026, 5, 9, 12, 0, tzinfo=UTC)
    sent_day: dict[int, date] = {}
    for quarter in range(4 * 48):  # every 15 minutes for two days, as the scheduler would
        at = start + timedelta(minutes=15 * quarter)
        with time_machine.travel(at, tick=False):
            automations_run()
        for m in _messages(birthday).exclude(customer_id__in=sent_day):
            zone = ZoneInfo(m.customer.timezone)
            sent_day[m.customer_id] = at.astimezone(zone).date()
            # Decided on the local birthday, delivered on it (quiet hours may move it to 9:00).
            assert at.astimezone(zone).date() == date(2026, 5, 10)
            assert m.send_at.astimezone(zone).date() == date(2026, 5, 10)
    assert sent_day == {c.pk: date(2026, 5, 10) for c in people.values()}
    assert _messages(birthday).count() == 3
    tokyo = Enrollment.objects.get(automation=birthday, customer=people["tokyo"])
    assert tokyo.enrolled_at == datetime(2026, 5, 9, 15, 0, tzinfo=UTC)  # first run after 00:00 in Tokyo
    mexico = Enrollment.objects.get(automation=birthday, customer=people["mexico"])
    assert mexico.enrolled_at == datetime(2026, 5, 10, 6, 0, tzinfo=UTC)


def test_inactivity_escalates_to_a_winback_coupon():
    run = snapshot(date(2026, 6, 9))
    late, returns, regular = make_customer(), make_customer(), make_customer()
    make_metrics(late, run, days_since=30, interval=10)
    make_metrics(returns, run, days_since=30, interval=10)
    make_metrics(regular, run, days_since=5, interval=10, state="active")
    inactivity = make_automation("inactivity", steps=1)
    AutomationStep.objects.create(automation=inactivity, position=2, delay_days=14, condition="only_if_inactive",
                                  email_subject="Te echamos de menos", email_text="Un regalo para volver.",
                                  offer_kind="percent", offer_value=Decimal(15), offer_valid_days=30)
    automations_run(now=NOON)
    assert set(_messages(inactivity).values_list("customer_id", flat=True)) == {late.pk, returns.pk}
    make_order(returns, NOON + timedelta(days=3))
    automations_run(now=NOON + timedelta(days=14, minutes=1))
    second = _messages(inactivity).filter(source=f"automation:{inactivity.pk}:step:2")
    assert list(second.values_list("customer_id", flat=True)) == [late.pk]
    coupon = Coupon.objects.get(customer=late)
    assert (coupon.kind, coupon.value, coupon.max_uses, coupon.is_active) == ("percent", Decimal(15), 1, True)
    assert StepRun.objects.get(enrollment__customer=late, position=2).coupon == coupon
    assert not Coupon.objects.filter(customer=returns).exists()


def test_no_consent_is_logged_not_sent():
    silent = make_customer(consent=False)
    make_order(silent, NOON - timedelta(hours=1))
    welcome = make_automation("welcome")
    automations_run(now=NOON)
    run = StepRun.objects.get(automation=welcome)
    assert (run.status, run.reason) == ("skipped", "no_channel")
    assert not _messages(welcome).exists()


def _row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (Enrollment, StepRun, TierSeen, Message, ContactDecision, Coupon, Automation)}


def test_dry_run_writes_nothing(capsys):
    buyers = _new_buyers(3, NOON)
    run = snapshot(date(2026, 6, 9))
    late = make_customer()
    make_metrics(late, run, days_since=30, interval=10)
    welcome = make_automation("welcome", holdout="0")
    inactivity = make_automation("inactivity", holdout="0.2")
    AutomationStep.objects.filter(automation=inactivity).update(offer_kind="amount", offer_value=Decimal(5))
    make_automation("tier_change")
    before = _row_counts()
    rows = automations_dry_run(now=NOON)
    with time_machine.travel(NOON, tick=False):
        call_command("automations_dry_run")
    assert _row_counts() == before
    assert {(r.automation_id, r.customer_id) for r in rows} == \
        {(welcome.pk, c.pk) for c in buyers} | {(inactivity.pk, late.pk)}
    assert {r.action for r in rows if r.automation_id == welcome.pk} == {"send"}
    assert next(r for r in rows if r.automation_id == inactivity.pk).action == "draw"
    out = capsys.readouterr().out
    assert "no se ha escrito nada" in out and str(late) in out
    # And running for real then does what the dry run said.
    automations_run(now=NOON)
    assert set(_messages(welcome).values_list("customer_id", flat=True)) == {c.pk for c in buyers}


def test_dry_run_shows_stops_for_enrolled_customers():
    buyer, quiet = _new_buyers(2, NOON)
    welcome = make_automation("welcome", steps=2, delay_days=1, condition="stop_if_purchased")
    automations_run(now=NOON)
    make_order(buyer, NOON + timedelta(hours=20))
    rows = {r.customer_id: r for r in automations_dry_run(now=NOON + timedelta(days=1, minutes=1))}
    assert (rows[buyer.pk].action, rows[buyer.pk].reason) == ("stop", "purchased")
    assert rows[quiet.pk].action == "send" and rows[quiet.pk].position == 2
    assert Enrollment.objects.filter(automation=welcome, state="active").count() == 2


def test_demo_automations_are_valid_and_run():
    from fideliza.automations.demo import automations_demo_create

    created = automations_demo_create()
    assert [a.trigger_kind for a in created] == ["welcome", "birthday", "inactivity", "points_expiring"]
    assert automations_demo_create() == []  # idempotent
    buyer = make_customer(first_name="Lucía")
    make_order(buyer, NOON - timedelta(hours=1))
    automations_run(now=NOON)
    welcome = created[0]
    run = StepRun.objects.get(automation=welcome)
    if run.status == "queued":
        assert "Lucía" in Message.objects.get(pk=run.message_id).subject
    else:
        assert run.status == "holdout"


def test_one_broken_automation_does_not_stop_the_others():
    _new_buyers(2, NOON)
    broken = make_automation("welcome")
    # A template that passed no validation (written straight to the database) and fails to render.
    AutomationStep.objects.filter(automation=broken).update(email_subject="{{ nombre")
    sound = make_automation("welcome")
    result = automations_run(now=NOON)
    assert result[sound.pk]["queued"] == 2
    assert result[broken.pk]["skipped"] == 2
    assert all(r.startswith("render_error") for r in StepRun.objects.filter(automation=broken).values_list("reason", flat=True))
    Automation.objects.filter(pk=broken.pk).update(trigger_params={"nonsense": 1})
    _new_buyers(1, NOON + timedelta(hours=1))
    result = automations_run(now=NOON + timedelta(hours=1, minutes=30))
    assert "error" in result[broken.pk] and result[sound.pk]["queued"] == 1
    broken.refresh_from_db()
    assert "nonsense" in broken.last_run_stats["error"]
