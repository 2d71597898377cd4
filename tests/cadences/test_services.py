"""The cadence clock and the daily run, with the clock pinned (time_machine): one follow-up
per due customer, none twice, reset by a counting interaction and not by another kind, for
rules by tier and by segment, across months and the two DST changes of Madrid."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from fideliza.accounts.services import Actor
from fideliza.cadences.models import CadenceRule
from fideliza.cadences.selectors import losing_touch
from fideliza.cadences.services import cadence_rule_save, cadence_rule_set_active, cadences_run
from fideliza.followups.models import FollowUp, FollowUpStatus
from fideliza.followups.services import followup_cancel, local_moment
from fideliza.interactions.services import interaction_log
from fideliza.segments.services import segment_create, segment_static_add
from tests.clock import FALL_BACK, SPRING_FORWARD

from .conftest import NOW, TZ, rule_make, shop_build

pytestmark = pytest.mark.django_db


def _cadence_followups(rule: CadenceRule) -> list[FollowUp]:
    return list(FollowUp.objects.filter(origin_kind="cadence", origin_id=rule.pk).order_by("customer_id"))


def _log(customer, kind: str, at: datetime, user=None, **kw):
    with time_machine.travel(at, tick=False):
        return interaction_log(actor=Actor.of(user), customer=customer, kind=kind, occurred_at=at, **kw)


def test_one_followup_per_due_customer_to_the_executive_else_the_role(shop, owner, rep, rep2):
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60), role="support",
                         name="Platino: llamar cada 30 días")
        assert cadences_run() == {rule.pk: 4}
        rows = _cadence_followups(rule)
    assert {f.customer_id for f in rows} == {c.pk for c in shop.platinum}  # not the Oro customer
    by_customer = {f.customer_id: f for f in rows}
    assert by_customer[shop.mine[0].pk].assignee_id == rep.pk
    assert by_customer[shop.theirs.pk].assignee_id == rep2.pk
    assert (by_customer[shop.nobody.pk].assignee_id, by_customer[shop.nobody.pk].assignee_role) == (None, "support")
    assert all(f.due_at == local_moment(NOW.date(), time(9)) and f.status == "open" for f in rows)
    assert by_customer[shop.mine[0].pk].title == \
        "Contactar con Lucía García: 60 días sin contacto (Platino: llamar cada 30 días)"


def test_a_second_run_and_the_next_days_create_nothing_more(shop, owner):
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
        cadences_run()
        assert cadences_run() == {rule.pk: 0}
    for days in (1, 2, 31):
        with time_machine.travel(NOW + timedelta(days=days), tick=False):
            assert cadences_run() == {rule.pk: 0}
    assert len(_cadence_followups(rule)) == 4


def test_the_rule_start_holds_back_customers_never_contacted(shop, owner):
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=29))
        assert cadences_run() == {rule.pk: 0}
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert cadences_run() == {rule.pk: 4}


def test_a_counting_interaction_resets_the_clock_and_another_kind_does_not(shop, owner, rep):
    lucia, pedro = shop.mine
    _log(lucia, "call", NOW - timedelta(days=10), user=rep)
    _log(pedro, "note", NOW - timedelta(days=10), user=rep)  # notes do not count here
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
        cadences_run()
    due = {f.customer_id for f in _cadence_followups(rule)}
    assert lucia.pk not in due and pedro.pk in due
    # Lucía's call was 10 days ago: her clock runs out 20 days from now, not a day earlier.
    with time_machine.travel(NOW + timedelta(days=19), tick=False):
        cadences_run()
    assert lucia.pk not in {f.customer_id for f in _cadence_followups(rule)}
    with time_machine.travel(NOW + timedelta(days=20), tick=False):
        cadences_run()
    assert lucia.pk in {f.customer_id for f in _cadence_followups(rule)}


def test_completing_the_followup_with_a_call_resets_the_clock(shop, owner, rep):
    lucia = shop.mine[0]
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
        cadences_run()
    followup = FollowUp.objects.get(origin_kind="cadence", origin_id=rule.pk, customer=lucia)
    later = NOW + timedelta(hours=3)
    _log(lucia, "call", later, user=rep, text="Hablamos de la obra", completes=followup)
    followup.refresh_from_db()
    assert followup.status == FollowUpStatus.DONE
    for days in (1, 29):
        with time_machine.travel(NOW + timedelta(days=days), tick=False):
            cadences_run()
    assert FollowUp.objects.filter(origin_kind="cadence", origin_id=rule.pk, customer=lucia).count() == 1
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        cadences_run()
    assert FollowUp.objects.filter(origin_kind="cadence", origin_id=rule.pk, customer=lucia,
                                   status="open").count() == 1


def test_a_pending_followup_is_never_doubled_even_when_the_clock_ran_out_long_ago(shop, owner, rep):
    """A note logged on the open follow-up's customer does not count: the follow-up stays,
    and no second one is added however long nobody calls."""
    lucia = shop.mine[0]
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
        cadences_run()
    _log(lucia, "note", NOW + timedelta(days=5), user=rep, text="Prefiere la tarde")
    for days in (6, 40, 70):
        with time_machine.travel(NOW + timedelta(days=days), tick=False):
            cadences_run()
    assert FollowUp.objects.filter(origin_kind="cadence", origin_id=rule.pk, customer=lucia).count() == 1


def test_the_database_refuses_a_second_pending_followup_of_one_cadence(shop, owner):
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
        cadences_run()
        first = FollowUp.objects.get(origin_kind="cadence", origin_id=rule.pk, customer=shop.nobody)
        with pytest.raises(IntegrityError), transaction.atomic():
            FollowUp.objects.create(customer=shop.nobody, title="Otra", assignee_role="owner", due_at=NOW,
                                    origin_kind="cadence", origin_id=rule.pk)
        # Closed, it no longer blocks: the next one may be written.
        followup_cancel(actor=Actor.of(owner), followup=first, reason="Ya no es cliente")
        FollowUp.objects.create(customer=shop.nobody, title="Otra", assignee_role="owner", due_at=NOW,
                                origin_kind="cadence", origin_id=rule.pk)


def test_a_cancelled_followup_restarts_the_clock(shop, owner):
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
        cadences_run()
        followup_cancel(actor=Actor.of(owner), followup=FollowUp.objects.get(customer=shop.nobody),
                        reason="De vacaciones")
    with time_machine.travel(NOW + timedelta(days=29), tick=False):
        assert cadences_run() == {rule.pk: 0}
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        assert cadences_run() == {rule.pk: 1}


def test_a_rule_by_segment(shop, owner, rep):
    with time_machine.travel(NOW, tick=False):
        segment = segment_create(user=owner, name="Clientes A dormidos", kind="static")
        segment_static_add(segment=segment, customer_ids=[shop.gold.pk, shop.theirs.pk])
        rule = rule_make(owner, segment=segment, every_days=90, kinds=("visit",),
                         starts_on=NOW.date() - timedelta(days=200), name="Clientes A dormidos: visita cada 90 días")
        _log(shop.gold, "call", NOW - timedelta(days=5), user=rep)  # a call is not a visit
        assert cadences_run() == {rule.pk: 2}
    assert {f.customer_id for f in _cadence_followups(rule)} == {shop.gold.pk, shop.theirs.pk}


def test_an_inactive_rule_creates_nothing(shop, owner):
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
        cadence_rule_set_active(actor=Actor.of(owner), rule=rule, active=False)
        assert cadences_run() == {}
    assert not _cadence_followups(rule)


@pytest.mark.parametrize(("pin", "label"), [(SPRING_FORWARD, "spring"), (FALL_BACK, "autumn")])
def test_across_months_and_dst_changes_a_customer_falls_due_on_their_calendar_day(owner, rep, rep2, pin, label):
    """The last call a month earlier (crossing a month end); 30 calendar days later is the
    day of the DST change, a 23- or 25-hour day: due from its first minute, not before,
    and the follow-up is due at 09:00 on that local day."""
    change_day = pin.date()
    shop = shop_build(owner, rep, rep2, at=pin - timedelta(days=400))
    called = datetime.combine(change_day - timedelta(days=30), time(23, 30), tzinfo=TZ)
    for c in shop.platinum:
        _log(c, "call", called, user=None)
    with time_machine.travel(pin - timedelta(days=40), tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=change_day - timedelta(days=60))
    with time_machine.travel(datetime.combine(change_day - timedelta(days=1), time(23, 59), tzinfo=TZ), tick=False):
        assert cadences_run() == {rule.pk: 0}
    with time_machine.travel(datetime.combine(change_day, time(0, 1), tzinfo=TZ), tick=False):
        assert cadences_run() == {rule.pk: 4}
    due_at = {f.due_at for f in _cadence_followups(rule)}
    assert due_at == {datetime.combine(change_day, time(9), tzinfo=TZ)}
    # After the change (other UTC offset), 30 days after a call at 23:30: the same rule.
    recalled = datetime.combine(change_day + timedelta(days=1), time(0, 30), tzinfo=TZ)
    for f in _cadence_followups(rule):
        _log(f.customer, "visit", recalled, completes=f)
    with time_machine.travel(datetime.combine(change_day + timedelta(days=30), time(23, 59), tzinfo=TZ), tick=False):
        assert cadences_run() == {rule.pk: 0}
    with time_machine.travel(datetime.combine(change_day + timedelta(days=31), time(0, 0), tzinfo=TZ), tick=False):
        assert cadences_run() == {rule.pk: 4}


def test_rules_are_validated_field_by_field(shop, owner):
    with time_machine.travel(NOW, tick=False), pytest.raises(ValidationError) as exc:
        cadence_rule_save(actor=Actor.of(owner), data={
            "name": "Mala", "audience": "tier", "tier": None, "every_days": 0, "kinds": [],
            "title_template": "Llamar a {{ nombre_completo", "starts_on": NOW.date()})
    assert set(exc.value.message_dict) >= {"kinds", "tier", "title_template", "every_days"}
    with time_machine.travel(NOW, tick=False), pytest.raises(ValidationError) as exc:
        cadence_rule_save(actor=Actor.of(owner), data={
            "name": "Mala", "audience": "tier", "tier": shop.platino, "every_days": 30, "kinds": ["call"],
            "title_template": "Llamar a {{ nombre_completoo }}", "starts_on": NOW.date()})
    assert "nombre_completo" in exc.value.message_dict["title_template"][0]


def test_losing_touch_by_how_far_and_only_the_reps_own(shop, owner, rep):
    lucia, pedro = shop.mine
    _log(lucia, "call", NOW - timedelta(days=45), user=rep)
    _log(pedro, "call", NOW - timedelta(days=35), user=rep)
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=100))
        mine = losing_touch(user=rep, today=NOW.date())
        everyone = losing_touch(user=owner, today=NOW.date())
        late = losing_touch(user=owner, today=NOW.date(), min_overdue=60)
    assert [(r.customer_id, r.days_overdue) for r in mine.rows] == [(lucia.pk, 15), (pedro.pk, 5)]
    assert mine.total == 2 and mine.rows[0].rule == rule and mine.rows[0].last_contact is not None
    assert {r.customer_id for r in everyone.rows} == {c.pk for c in shop.platinum}
    assert everyone.rows[0].days_overdue == 70 and everyone.rows[0].last_contact is None
    assert {r.customer_id for r in late.rows} == {shop.theirs.pk, shop.nobody.pk}


def test_the_daily_job_is_scheduled_and_runs_the_rules(shop, owner):
    from fideliza.cadences.tasks import cadences_daily
    from fideliza.core.scheduler import schedule_jobs

    job = next(j for j in schedule_jobs() if j.name == "cadences")
    assert (job.task_path, job.at, job.every_minutes) == ("fideliza.cadences.tasks.cadences_daily", time(6), 0)
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
        assert cadences_daily.enqueue().return_value == {str(rule.pk): 4}
        assert cadences_daily.enqueue().return_value == {str(rule.pk): 0}


def test_a_title_may_use_the_loyalty_variables_of_the_messages(shop, owner):
    with time_machine.travel(NOW, tick=False):
        rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=45),
                         title_template="{{ nombre }} ({{ nivel }}): {{ dias_sin_contacto }} días; "
                                        "último contacto {{ ultimo_contacto|default('nunca') }}; cada {{ cada_dias }}")
        cadences_run()
    title = FollowUp.objects.get(origin_kind="cadence", origin_id=rule.pk, customer=shop.mine[0]).title
    assert title == "Lucía (Platino): 45 días; último contacto nunca; cada 30"
