"""Follow-up services: create (assignee rules), complete, snooze, cancel, reassign, and the
business-zone due times across DST changes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from fideliza.accounts.services import Actor
from fideliza.followups.models import FollowUp, FollowUpPriority, FollowUpStatus
from fideliza.followups.selectors import home_today, my_day
from fideliza.followups.services import (
    followup_cancel,
    followup_complete,
    followup_create,
    followup_reassign,
    followup_snooze,
    later_same_time,
    local_day_bounds,
    local_moment,
)
from fideliza.insights.models import CustomerMetrics, SnapshotRun

from .conftest import NOW, TZ

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


def _due(days: int = 0, hour: int = 9) -> datetime:
    return local_moment(NOW.date() + timedelta(days=days), time(hour))


# --- due times in the business's zone ----------------------------------------------------

def test_local_moment_is_the_wall_clock_time_in_madrid():
    assert local_moment(date(2026, 1, 15), time(9)) == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert local_moment(date(2026, 7, 15), time(9)) == datetime(2026, 7, 15, 7, 0, tzinfo=UTC)


def test_a_time_skipped_by_the_spring_change_moves_forward_and_a_repeated_one_is_the_first():
    # 29 March 2026, 02:00 → 03:00 in Madrid: 02:30 does not exist.
    assert local_moment(date(2026, 3, 29), time(2, 30)).astimezone(TZ).time() == time(3, 30)
    # 25 October 2026, 03:00 → 02:00: 02:30 happens twice; the first one (summer time, +02:00).
    assert local_moment(date(2026, 10, 25), time(2, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_a_day_has_23_or_25_hours_on_dst_changes():
    start, end = local_day_bounds(date(2026, 3, 29))
    assert end - start == timedelta(hours=23)
    start, end = local_day_bounds(date(2026, 10, 25))
    assert end - start == timedelta(hours=25)


def test_later_same_time_keeps_the_wall_clock_across_a_dst_change():
    before = local_moment(date(2026, 3, 28), time(9))
    after = later_same_time(before, 1)
    assert after.astimezone(TZ).time() == time(9)
    assert after - before == timedelta(hours=23)


# --- create --------------------------------------------------------------------------------

def test_without_an_assignee_it_goes_to_the_account_executive_else_to_its_creator(people, owner, rep):
    actor = Actor.of(owner)
    mine = followup_create(actor=actor, customer=people["mine"], title="Llamar", due_at=_due())
    assert mine.assignee == rep and mine.assignee_role == "" and mine.status == FollowUpStatus.OPEN
    nobody = followup_create(actor=actor, customer=people["nobody"], title="Llamar", due_at=_due())
    assert nobody.assignee == owner


def test_a_role_may_be_responsible_when_nobody_is_named(people, owner):
    followup = followup_create(actor=Actor.of(owner), customer=people["nobody"], title="Visitar",
                               due_at=_due(), assignee_role="support")
    assert followup.assignee is None and followup.assignee_role == "support"
    assert followup.assignee_label == "Atención al cliente"


def test_a_representative_cannot_be_given_another_representatives_customer(people, owner, rep):
    with pytest.raises(ValidationError) as exc:
        followup_create(actor=Actor.of(owner), customer=people["theirs"], title="Llamar", due_at=_due(),
                        assignee=rep)
    assert "assignee" in exc.value.message_dict
    assert not FollowUp.objects.exists()


def test_a_naive_due_time_and_an_empty_title_are_refused(people, owner):
    with pytest.raises(ValidationError):
        followup_create(actor=Actor.of(owner), customer=people["nobody"], title="Llamar",
                        due_at=datetime(2026, 6, 16, 9, 0))
    with pytest.raises(ValidationError):
        followup_create(actor=Actor.of(owner), customer=people["nobody"], title="   ", due_at=_due())
    assert not FollowUp.objects.exists()


# --- state changes -------------------------------------------------------------------------

def test_complete_records_outcome_who_and_when_and_a_closed_one_cannot_change(people, owner, rep):
    followup = followup_create(actor=Actor.of(owner), customer=people["mine"], title="Llamar", due_at=_due())
    done = followup_complete(actor=Actor.of(rep), followup=followup, outcome="Vendrá el jueves")
    assert (done.status, done.outcome, done.closed_by, done.closed_at) == (
        FollowUpStatus.DONE, "Vendrá el jueves", rep, NOW)
    for change in (lambda: followup_complete(actor=Actor.of(rep), followup=followup),
                   lambda: followup_cancel(actor=Actor.of(rep), followup=followup, reason="x"),
                   lambda: followup_snooze(actor=Actor.of(rep), followup=followup, until=_due(2), reason="x")):
        with pytest.raises(ValidationError):
            change()


def test_snooze_needs_a_reason_and_a_future_date_and_a_snoozed_one_can_be_completed(people, owner, rep):
    followup = followup_create(actor=Actor.of(owner), customer=people["mine"], title="Llamar", due_at=_due())
    with pytest.raises(ValidationError):
        followup_snooze(actor=Actor.of(rep), followup=followup, until=_due(2), reason=" ")
    with pytest.raises(ValidationError):
        followup_snooze(actor=Actor.of(rep), followup=followup, until=NOW - timedelta(minutes=1), reason="Viaje")
    snoozed = followup_snooze(actor=Actor.of(rep), followup=followup, until=_due(2), reason="De viaje")
    assert (snoozed.status, snoozed.snoozed_until, snoozed.status_reason) == (
        FollowUpStatus.SNOOZED, _due(2), "De viaje")
    done = followup_complete(actor=Actor.of(rep), followup=followup)
    assert done.status == FollowUpStatus.DONE and done.snoozed_until is None


def test_cancel_needs_a_reason(people, owner):
    followup = followup_create(actor=Actor.of(owner), customer=people["nobody"], title="Llamar", due_at=_due())
    with pytest.raises(ValidationError):
        followup_cancel(actor=Actor.of(owner), followup=followup, reason="")
    cancelled = followup_cancel(actor=Actor.of(owner), followup=followup, reason="Ya compró")
    assert (cancelled.status, cancelled.status_reason) == (FollowUpStatus.CANCELLED, "Ya compró")


def test_reassign_to_a_person_or_a_role_with_the_same_rules_as_create(people, owner, rep, rep2):
    followup = followup_create(actor=Actor.of(owner), customer=people["mine"], title="Llamar", due_at=_due())
    with pytest.raises(ValidationError):
        followup_reassign(actor=Actor.of(owner), followup=followup, assignee=rep2)
    to_role = followup_reassign(actor=Actor.of(owner), followup=followup, assignee=None, assignee_role="marketing")
    assert (to_role.assignee, to_role.assignee_role) == (None, "marketing")
    back = followup_reassign(actor=Actor.of(owner), followup=followup, assignee=owner)
    assert (back.assignee, back.assignee_role) == (owner, "")


# --- «Mi día» --------------------------------------------------------------------------------

def _metrics(customer, clv: str, risk: float) -> None:
    run = SnapshotRun.objects.first() or SnapshotRun.objects.create(status="succeeded", as_of=NOW.date())
    CustomerMetrics.objects.create(
        customer=customer, run=run, first_purchase=date(2025, 1, 1), last_purchase=date(2026, 1, 1), orders=2,
        revenue=Decimal(100), average_order_value=Decimal(50), frequency=1, recency=100, age=500,
        monetary_value=Decimal(50), r_score=2, f_score=2, m_score=2, rfm_segment="at_risk", abc_revenue="B",
        value_tier="plata", activity_state="at_risk", days_since_last=165, clv_historic=Decimal(100),
        clv_predicted=Decimal(clv), churn_risk=risk)


def test_my_day_sections_and_the_stated_order(people, owner, rep):
    actor = Actor.of(owner)
    extra = {name: people["mine"].__class__.objects.create(first_name=name, account_executive=rep)
             for name in ("Ana", "Bruno", "Carla")}
    _metrics(extra["Ana"], "1000.00", 0.1)    # 100 at risk
    _metrics(extra["Bruno"], "500.00", 0.8)   # 400 at risk
    low_value_early = followup_create(actor=actor, customer=extra["Ana"], title="A", due_at=_due(0, 8))
    high_value_late = followup_create(actor=actor, customer=extra["Bruno"], title="B", due_at=_due(0, 18))
    no_metrics = followup_create(actor=actor, customer=extra["Carla"], title="C", due_at=_due(0, 7))
    urgent = followup_create(actor=actor, customer=extra["Carla"], title="U", due_at=_due(0, 20),
                             priority=FollowUpPriority.HIGH)
    overdue = followup_create(actor=actor, customer=people["mine"], title="Vencido", due_at=_due(-3))
    tomorrow = followup_create(actor=actor, customer=people["mine"], title="Mañana", due_at=_due(1))
    back = followup_create(actor=actor, customer=people["mine"], title="Vuelve", due_at=_due(-1))
    followup_snooze(actor=actor, followup=back, until=_due(0, 16), reason="Pidió que le llamemos a las 4")
    later = followup_create(actor=actor, customer=people["mine"], title="Más tarde", due_at=_due(-1))
    followup_snooze(actor=actor, followup=later, until=_due(3), reason="Vacaciones")
    done = followup_create(actor=actor, customer=people["mine"], title="Hecho", due_at=_due(0))
    followup_complete(actor=actor, followup=done)
    someone_else = followup_create(actor=actor, customer=people["nobody"], title="De la dueña", due_at=_due(0))

    day = my_day(user=rep)
    assert day.day == NOW.date()
    assert [i.followup for i in day.overdue] == [overdue]
    assert [i.followup for i in day.today] == [urgent, high_value_late, low_value_early, no_metrics]
    assert [i.value_at_risk for i in day.today] == [None, Decimal("400.00"), Decimal("100.00"), None]
    assert [i.followup for i in day.returning] == [back]
    assert tomorrow.pk not in {i.followup.pk for i in day.today + day.overdue}
    assert someone_else.pk not in {i.followup.pk for i in day.today}


def test_role_follow_ups_reach_the_people_of_that_role_within_their_customers(people, owner, rep, rep2):
    actor = Actor.of(owner)
    for who in ("mine", "theirs"):
        followup_create(actor=actor, customer=people[who], title=f"Para un comercial ({who})", due_at=_due(),
                        assignee_role="sales_rep")
    assert [i.followup.customer for i in my_day(user=rep).today] == [people["mine"]]
    assert [i.followup.customer for i in my_day(user=rep2).today] == [people["theirs"]]


def test_home_today_counts_mine_and_the_teams_overdue_per_person(people, owner, rep, rep2):
    actor = Actor.of(owner)
    followup_create(actor=actor, customer=people["mine"], title="Hoy", due_at=_due())
    followup_create(actor=actor, customer=people["mine"], title="Vencido 1", due_at=_due(-2))
    followup_create(actor=actor, customer=people["theirs"], title="Vencido 2", due_at=_due(-2))
    followup_create(actor=actor, customer=people["theirs"], title="Vencido 3", due_at=_due(-1))
    followup_create(actor=actor, customer=people["nobody"], title="De la dueña", due_at=_due(-1))
    owner_view = home_today(user=owner)
    assert (owner_view.due_today, owner_view.overdue) == (0, 1)
    assert [(r.label, r.count) for r in owner_view.team_overdue] == [("Marta", 2), ("Javier", 1)]
    rep_view = home_today(user=rep)
    assert (rep_view.due_today, rep_view.overdue, rep_view.team_overdue_total) == (1, 1, 0)


@time_machine.travel(datetime(2026, 3, 29, 23, 30, tzinfo=TZ), tick=False)
def test_today_is_the_business_day_on_the_short_dst_day(people, owner, rep):
    actor = Actor.of(owner)
    late = followup_create(actor=actor, customer=people["mine"], title="Tarde", due_at=local_moment(
        date(2026, 3, 29), time(23, 45)))
    next_day = followup_create(actor=actor, customer=people["mine"], title="Lunes", due_at=local_moment(
        date(2026, 3, 30), time(0, 15)))
    day = my_day(user=rep)
    assert day.day == date(2026, 3, 29)
    assert [i.followup for i in day.today] == [late]
    assert next_day.pk not in {i.followup.pk for i in day.today + day.overdue}


def test_a_crowded_day_shows_the_first_in_the_stated_order_and_counts_them_all(people, owner, rep, monkeypatch):
    from fideliza.followups import selectors

    monkeypatch.setattr(selectors, "SHOWN", 3)
    monkeypatch.setattr(selectors, "CANDIDATES", 4)
    actor = Actor.of(owner)
    for hour in range(8, 14):
        followup_create(actor=actor, customer=people["mine"], title=f"Vencido {hour}", due_at=_due(-1, hour))
    urgent = followup_create(actor=actor, customer=people["mine"], title="Urgente", due_at=_due(-1, 20),
                             priority=FollowUpPriority.HIGH)
    today = followup_create(actor=actor, customer=people["mine"], title="Hoy", due_at=_due(0, 9))
    day = my_day(user=rep)
    assert (day.overdue_count, day.today_count, day.truncated) == (7, 1, True)
    assert [i.followup.title for i in day.overdue] == ["Urgente", "Vencido 8", "Vencido 9"]
    assert [i.followup for i in day.today] == [today] and day.overdue[0].followup == urgent
