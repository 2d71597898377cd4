"""The «crear seguimiento» step: a journey hands a customer to a person. One follow-up per
treated enrolment (origin: the automation), for the account executive or the step's role,
due N calendar days later, its title rendered with the messages' variables; nothing for
the holdout group, nothing twice on a rerun, and nothing sent to the customer."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from fideliza.accounts.services import Actor
from fideliza.automations.models import Automation, AutomationStep, StepRun
from fideliza.automations.selectors import automations_dry_run
from fideliza.automations.services import automation_save, automations_run
from fideliza.engagement.models import Message
from fideliza.followups.models import FollowUp

from .conftest import make_automation, make_customer, make_order

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")
NOON = datetime(2026, 3, 27, 12, 0, tzinfo=MADRID)  # a Friday; clocks go forward on Sunday


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOON, tick=False):
        yield


def _handover(automation: Automation, **fields) -> AutomationStep:
    data = {"position": 1, "kind": "followup", "followup_title": "Llamar a {{ nombre }} para darle la bienvenida",
            "followup_text": "Cliente nuevo: {{ nombre_completo }}", "followup_due_days": 2,
            "followup_assign_to": "executive", "followup_role": "support", "followup_priority": 1, **fields}
    automation.steps.all().delete()
    return AutomationStep.objects.create(automation=automation, **data)


def test_a_followup_step_hands_each_new_customer_to_a_person(django_user_model):
    rep = django_user_model.objects.create_user(username="comercial1", password="x", role="sales_rep")
    assigned = make_customer(first_name="Lucía", account_executive=rep)
    nobody = make_customer(first_name="Elena")
    for c in (assigned, nobody):
        make_order(c, NOON - timedelta(hours=2))
    welcome = make_automation("welcome")
    _handover(welcome)
    stats = automations_run(now=NOON)[welcome.pk]
    assert stats["enrolled"] == 2 and stats["followup"] == 2
    rows = {f.customer_id: f for f in FollowUp.objects.filter(origin_kind="automation", origin_id=welcome.pk)}
    assert rows[assigned.pk].assignee_id == rep.pk
    assert (rows[nobody.pk].assignee_id, rows[nobody.pk].assignee_role) == (None, "support")
    assert rows[assigned.pk].title == "Llamar a Lucía para darle la bienvenida"
    assert rows[assigned.pk].notes == "Cliente nuevo: Lucía"
    assert rows[assigned.pk].priority == 1
    # Two calendar days later at the same local time, across the DST change (Sunday).
    assert rows[assigned.pk].due_at == datetime(2026, 3, 29, 12, 0, tzinfo=MADRID)
    assert not Message.objects.filter(source__startswith=f"automation:{welcome.pk}:").exists()
    assert automations_run(now=NOON + timedelta(hours=1))[welcome.pk].get("followup", 0) == 0
    assert FollowUp.objects.filter(origin_kind="automation").count() == 2
    assert set(StepRun.objects.values_list("status", flat=True)) == {"followup"}


def test_the_holdout_group_gets_no_followup():
    for _n in range(10):
        make_order(make_customer(), NOON - timedelta(hours=2))
    welcome = make_automation("welcome", holdout="0.5")
    _handover(welcome, followup_assign_to="role", followup_role="owner")
    stats = automations_run(now=NOON)[welcome.pk]
    held = StepRun.objects.filter(automation=welcome, status="holdout").count()
    assert held > 0 and stats["followup"] == 10 - held
    assert FollowUp.objects.filter(origin_kind="automation").count() == 10 - held


def test_the_dry_run_names_the_handover_without_a_channel():
    make_order(make_customer(), NOON - timedelta(hours=2))
    welcome = make_automation("welcome")
    _handover(welcome)
    rows = automations_dry_run(automation_ids=[welcome.pk])
    assert [(r.channel, r.reason, r.subject) for r in rows] == \
        [(None, "", "Llamar a {{ nombre }} para darle la bienvenida")]


def test_a_followup_step_needs_a_title_and_valid_templates(owner):
    base = {"name": "Bienvenida personal", "trigger_kind": "welcome", "trigger_params": {}, "channels": ["email"],
            "holdout_share": 0, "over_budget": "skip", "conversion_days": 14, "is_active": False}
    with pytest.raises(ValidationError) as exc:
        automation_save(actor=Actor.of(owner), data=base, steps=[
            {"position": 1, "kind": "followup", "followup_title": ""},
            {"position": 2, "kind": "followup", "followup_title": "Llamar a {{ nombr }}"},
            {"position": 3, "kind": "followup", "followup_title": "Llamar", "offer_kind": "percent",
             "offer_value": 10}])
    text = " ".join(exc.value.message_dict["steps"])
    assert "Paso 1: escriba qué debe hacer" in text and "nombr" in text and "Paso 3: un seguimiento no lleva oferta" in text
    saved = automation_save(actor=Actor.of(owner), data=base, steps=[
        {"position": 1, "kind": "followup", "followup_title": "Llamar a {{ nombre_completo }}", "followup_due_days": 3}])
    assert saved.steps.get().kind == "followup"


def test_the_editor_saves_a_followup_step(owner):
    client = Client()
    client.force_login(owner)
    assert "seguimiento: qué hacer" in client.get(reverse("automations:create")).content.decode().lower()
    form = {"name": "Bienvenida personal", "description": "", "trigger_kind": "welcome", "trigger_params": "",
            "channels": ["email"], "topic": "", "holdout_share": "0", "over_budget": "skip", "conversion_days": "14",
            "steps-TOTAL_FORMS": "1", "steps-INITIAL_FORMS": "0", "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000", "steps-0-position": "1", "steps-0-delay_days": "0",
            "steps-0-delay_hours": "0", "steps-0-condition": "", "steps-0-kind": "followup",
            "steps-0-offer_kind": "", "steps-0-offer_value": "0", "steps-0-offer_valid_days": "30",
            "steps-0-offer_min_purchase": "0", "steps-0-followup_title": "Llamar a {{ nombre }}",
            "steps-0-followup_text": "", "steps-0-followup_due_days": "1", "steps-0-followup_assign_to": "role",
            "steps-0-followup_role": "marketing", "steps-0-followup_priority": "2"}
    response = client.post(reverse("automations:create"), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    step = AutomationStep.objects.get()
    assert (step.kind, step.followup_role, step.followup_due_days) == ("followup", "marketing", 1)
    report = client.get(reverse("automations:report", args=[step.automation_id])).content.decode()
    assert "Crear un seguimiento" in report and "Llamar a {{ nombre }}" in report
