"""Switching an automation on asks whether the customers who already match enter too,
shows how many they are, and by default lets in only causes from that moment on."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from fideliza.accounts.models import AuditLog
from fideliza.accounts.services import Actor
from fideliza.automations.models import Automation, Enrollment, Occurrence
from fideliza.automations.services import (
    automation_activation_preview,
    automation_save,
    automation_set_active,
    automations_run,
)
from fideliza.engagement.models import Message
from fideliza.loyalty.expiry import expiry_notices_create
from fideliza.loyalty.models import Member, Program
from fideliza.loyalty.services import points_adjust

from .conftest import make_automation, make_customer, make_metrics, make_order, snapshot

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=MADRID)
ACTOR = Actor.system("tests")


def _messages(automation):
    return Message.objects.filter(source__startswith=f"automation:{automation.pk}:")


def _inactive_customers(n: int, days_since: int):
    run = snapshot(NOON.date())
    people = [make_customer() for _ in range(n)]
    for c in people:
        make_metrics(c, run, days_since=days_since, interval=30)
    return people, run


def test_switching_on_lets_in_only_new_causes_by_default():
    _already, run = _inactive_customers(4, days_since=90)   # inactive long before
    automation = make_automation("inactivity", active=False)
    assert automation_activation_preview(automation=automation, now=NOON) == 4
    automation_set_active(actor=ACTOR, automation=automation, active=True, now=NOON)
    automation.refresh_from_db()
    assert automation.is_active and automation.activated_at == NOON and automation.activation_scope == "new"
    assert Occurrence.objects.filter(automation=automation, outcome="existing").count() == 4

    # A customer who crosses the line after the activation is a new cause.
    newcomer = make_customer()
    make_metrics(newcomer, run, days_since=20, interval=30)   # 20 days + 11 later > 30
    for at in (NOON + timedelta(minutes=15), NOON + timedelta(days=11)):
        automations_run(now=at)
    assert list(Enrollment.objects.filter(automation=automation).values_list("customer_id", flat=True)) == \
        [newcomer.pk]
    assert list(_messages(automation).values_list("customer_id", flat=True)) == [newcomer.pk]
    audit = AuditLog.objects.filter(entity="automations.automation", entity_id=str(automation.pk)).latest("pk")
    assert audit.context["include_existing"] is False and audit.context["existing_left_out"] == 4


def test_switching_on_with_who_already_matches_enrols_them_at_the_next_run():
    already, _run = _inactive_customers(3, days_since=90)
    automation = make_automation("inactivity", active=False)
    automation_set_active(actor=ACTOR, automation=automation, active=True, include_existing=True, now=NOON)
    automation.refresh_from_db()
    assert automation.activation_scope == "existing" and not Occurrence.objects.exists()
    automations_run(now=NOON + timedelta(minutes=15))
    assert sorted(_messages(automation).values_list("customer_id", flat=True)) == sorted(c.pk for c in already)


def test_switching_on_again_later_leaves_out_what_happened_while_off():
    buyer = make_customer()
    automation = make_automation("welcome", active=False)
    automation_set_active(actor=ACTOR, automation=automation, active=True, now=NOON)
    automation_set_active(actor=ACTOR, automation=automation, active=False)
    make_order(buyer, NOON + timedelta(hours=1))   # bought while the automation was off
    automation_set_active(actor=ACTOR, automation=automation, active=True, now=NOON + timedelta(hours=2))
    automations_run(now=NOON + timedelta(hours=2, minutes=15))
    assert not Enrollment.objects.exists()


def test_points_already_inside_the_notice_period_count_as_existing():
    """The nightly notices may not be written yet when the automation is switched on (a new
    program, the demo's first start): those points are not a new cause either."""
    program = Program.objects.create(name="Club", expiry_days=365, expiry_notice_days=30)
    old, later = make_customer(), make_customer()
    for customer, expires in ((old, NOON + timedelta(days=10)), (later, NOON + timedelta(days=40))):
        member = Member.objects.create(program=program, customer=customer, joined_at=NOON - timedelta(days=900),
                                       referral_code=f"R{customer.pk}")
        with time_machine.travel(expires - timedelta(days=365), tick=False):
            points_adjust(member=member, points=100, reason="prueba", actor=ACTOR)
    automation = make_automation("points_expiring", active=False)
    assert automation_activation_preview(automation=automation, now=NOON) == 1
    automation_set_active(actor=ACTOR, automation=automation, active=True, now=NOON)
    for day in range(0, 15):   # the nightly job, then the automations, for two weeks
        at = NOON + timedelta(days=day)
        with time_machine.travel(at, tick=False):
            expiry_notices_create(now=at)
        automations_run(now=at + timedelta(minutes=5))
    # `later`'s points entered the 30-day notice period after the activation: a new cause.
    assert list(_messages(automation).values_list("customer_id", flat=True)) == [later.pk]


def _login(django_user_model, role="marketing"):
    user = django_user_model.objects.create_user(username="mk", password="clave-segura-1", role=role)
    client = Client()
    client.force_login(user)
    return client


def test_the_activation_page_asks_shows_how_many_and_defaults_to_new_causes(django_user_model):
    with time_machine.travel(NOON, tick=False):
        for _ in range(2):
            make_order(make_customer(), NOON - timedelta(hours=1))
        automation = make_automation("welcome", active=False)
        client = _login(django_user_model)
        url = reverse("automations:toggle", args=[automation.pk])
        page = client.get(url).content.decode()
        assert "Ahora mismo 2 clientes ya cumplen la condición." in page
        assert 'value="new"' in page and 'checked' in page.split('value="new"')[1].split(">")[0]
        assert "También a los clientes que ya cumplen la condición (2 clientes)" in page
        # A bare POST (an old button, a double click) does not switch it on without the answer.
        client.post(url)
        automation.refresh_from_db()
        assert not automation.is_active
        response = client.post(url, {"scope": "new", "next": reverse("automations:report", args=[automation.pk])})
        assert response.status_code == 302 and response.url == reverse("automations:report", args=[automation.pk])
        automation.refresh_from_db()
        assert automation.is_active and automation.activation_scope == "new"
        client.post(url, {"scope": "new"})   # the same answer twice (a double click) changes nothing
        automation.refresh_from_db()
        assert automation.is_active
        report = client.get(response.url).content.decode()
        assert "Solo causas nuevas, desde la activación" in report
        assert "ya se cumplían al activarla (no inscritas): 2" in report
        # Switching off is immediate; an outside `next` is not followed.
        response = client.post(url, {"next": "https://elsewhere.example/"})
        assert response.url == reverse("automations:list")
        automation.refresh_from_db()
        assert not automation.is_active


def test_the_list_offers_switching_on_through_the_question(django_user_model):
    automation = make_automation("welcome", active=False)
    client = _login(django_user_model)
    listing = client.get(reverse("automations:list")).content.decode()
    assert f'href="{reverse("automations:toggle", args=[automation.pk])}"' in listing
    assert _login_other(django_user_model).get(reverse("automations:toggle", args=[automation.pk])).status_code == 403


def _login_other(django_user_model):
    user = django_user_model.objects.create_user(username="sop", password="clave-segura-1", role="support")
    client = Client()
    client.force_login(user)
    return client


def test_saving_an_active_automation_keeps_it_on_without_asking_again():
    automation = automation_save(actor=ACTOR, data={"name": "Hola", "trigger_kind": "welcome", "channels": ["email"],
                                                    "holdout_share": 0, "is_active": True},
                                 steps=[{"position": 1, "email_subject": "Hola", "email_text": "Gracias"}])
    first = Automation.objects.get(pk=automation.pk).activated_at
    assert first is not None
    automation_save(actor=ACTOR, automation=automation, data={"name": "Hola de nuevo", "is_active": True},
                    steps=[{"position": 1, "email_subject": "Hola", "email_text": "Gracias"}])
    assert Automation.objects.get(pk=automation.pk).activated_at == first


def test_the_api_tells_when_and_how_an_automation_was_switched_on(django_user_model):
    automation = make_automation("welcome", active=False)
    automation_set_active(actor=ACTOR, automation=automation, active=True, now=NOON)
    [row] = _login(django_user_model).get("/api/v1/automations").json()
    assert row["is_active"] and row["activation_scope"] == "new"
    assert datetime.fromisoformat(row["activated_at"]) == NOON
