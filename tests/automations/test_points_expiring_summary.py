"""Points about to expire: one message for all the lots, with their total and the earliest
date, whatever the number of expiry days loyalty noticed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from fideliza.accounts.services import Actor
from fideliza.automations.demo import STANDARD
from fideliza.automations.models import Automation, Enrollment, Occurrence
from fideliza.automations.services import automation_save, automation_set_active, automations_run
from fideliza.engagement.models import Message
from fideliza.engagement.templating import recipients_context, template_validate
from fideliza.loyalty.expiry import expiry_notices_create
from fideliza.loyalty.models import Member, Program
from fideliza.loyalty.services import points_adjust

from .conftest import make_customer

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")
# 20 December: the lots below expire this year and next, across the change of year.
NOW = datetime(2026, 12, 20, 11, 0, tzinfo=MADRID)
ACTOR = Actor.system("tests")


def _points(member: Member, points: int, expires: datetime) -> None:
    """`points` that expire at `expires` (earned a year before: the program keeps them 365 days)."""
    with time_machine.travel(expires - timedelta(days=365), tick=False):
        points_adjust(member=member, points=points, reason="prueba", actor=ACTOR)


@pytest.fixture
def member():
    program = Program.objects.create(name="Club", expiry_days=365, expiry_notice_days=30)
    customer = make_customer(first_name="Lucía")
    member = Member.objects.create(program=program, customer=customer, joined_at=NOW - timedelta(days=800),
                                   referral_code="LUCIA1")
    _points(member, 130, datetime(2026, 12, 24, 10, 0, tzinfo=MADRID))
    _points(member, 40, datetime(2026, 12, 24, 18, 0, tzinfo=MADRID))   # same day: one line
    _points(member, 50, datetime(2026, 12, 31, 10, 0, tzinfo=MADRID))
    _points(member, 20, datetime(2027, 1, 9, 10, 0, tzinfo=MADRID))
    _points(member, 900, datetime(2027, 3, 1, 10, 0, tzinfo=MADRID))   # beyond the 30-day notice
    return member


def _demo_points_automation() -> Automation:
    spec = next(s for s in STANDARD if s["data"]["trigger_kind"] == "points_expiring")
    automation = automation_save(actor=ACTOR, data={**spec["data"], "channels": ["email", "sms"],
                                                    "holdout_share": 0, "is_active": False},
                                 steps=spec["steps"])
    automation_set_active(actor=ACTOR, automation=automation, active=True, include_existing=True,
                          now=NOW - timedelta(days=10))
    return automation


def test_one_message_sums_every_expiring_lot_with_the_earliest_date(member):
    automation = _demo_points_automation()
    with time_machine.travel(NOW, tick=False):
        notices = expiry_notices_create(now=NOW)
        assert sorted((n.expires_on, n.points) for n in notices) == [
            (date(2026, 12, 24), 170), (date(2026, 12, 31), 50), (date(2027, 1, 9), 20)]
        automations_run(now=NOW)
        automations_run(now=NOW + timedelta(minutes=15))
    [enrollment] = Enrollment.objects.filter(automation=automation)
    assert enrollment.trigger_key == "expiry:2026-12-24"
    assert sorted(Occurrence.objects.filter(enrollment=enrollment).values_list("trigger_key", flat=True)) == \
        ["expiry:2026-12-31", "expiry:2027-01-09"]
    [message] = Message.objects.filter(customer=member.customer)
    assert message.subject == "Tus 240 puntos caducan pronto"
    assert ("pronto caducan 240 de tus puntos: 170 puntos el 24 de diciembre, 50 puntos el 31 de diciembre "
            "y 20 puntos el 9 de enero de 2027.") in message.body_text
    assert "Tienes 1.140 puntos en total: úsalos antes del 24 de diciembre de 2026." in message.body_text


def test_the_context_names_the_total_the_date_and_each_lot(member):
    with time_machine.travel(NOW, tick=False):
        ctx = recipients_context([member.customer_id], now=NOW)[member.customer_id]
    assert ctx["puntos_por_caducar"] == 240
    assert ctx["fecha_caducidad"] == date(2026, 12, 24) and ctx["puntos_que_caducan"] == 170
    assert ctx["caducidades"] == ("170 puntos el 24 de diciembre, 50 puntos el 31 de diciembre "
                                  "y 20 puntos el 9 de enero de 2027")
    assert template_validate("{{ puntos_por_caducar|numero }}: {{ caducidades }}") == []


def test_points_spent_before_the_message_are_not_announced(member):
    with time_machine.travel(NOW, tick=False):
        points_adjust(member=member, points=-150, reason="canje en tienda", actor=ACTOR)  # oldest lots first
        ctx = recipients_context([member.customer_id], now=NOW)[member.customer_id]
    assert ctx["puntos_por_caducar"] == 90
    assert ctx["caducidades"] == ("20 puntos el 24 de diciembre, 50 puntos el 31 de diciembre "
                                  "y 20 puntos el 9 de enero de 2027")


def test_nothing_expiring_leaves_the_variables_empty():
    customer = make_customer()
    Member.objects.create(program=Program.objects.create(name="Club", expiry_days=365), customer=customer,
                          joined_at=NOW, referral_code="NADA01")
    ctx = recipients_context([customer.pk], now=NOW)[customer.pk]
    assert ctx["puntos_por_caducar"] is None and ctx["caducidades"] is None
