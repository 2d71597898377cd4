"""The demo business under the scheduler: its first start writes to nobody by itself, and
with every automation switched on for the whole backlog, running the automations again (one
after the other, and two at once on PostgreSQL) never gives a customer the same message
twice — checked on the outbox and on what actually left (e-mail and SMS files)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from fideliza.accounts.services import Actor
from fideliza.automations.models import Automation, Enrollment, Occurrence, StepRun
from fideliza.automations.services import automation_set_active, automations_run
from fideliza.core.scheduler import enqueue_due_jobs
from fideliza.demo.services import demo_populate
from fideliza.engagement.models import Message
from fideliza.loyalty.expiry import expiry_notices_create

from .conftest import make_customer, make_order

MADRID = ZoneInfo("Europe/Madrid")
TODAY = date(2026, 11, 23)
START = datetime(2026, 11, 23, 10, 0, tzinfo=MADRID)  # the demo is loaded; `fideliza run` starts
ACTOR = Actor.system("tests")


@pytest.fixture
def demo(tmp_path, settings):
    settings.FIDELIZA_SMS_GATEWAY = "file"
    settings.FIDELIZA_SMS_FILE_PATH = str(tmp_path / "sms")
    with time_machine.travel(START, tick=False):
        demo_populate(customers=300, seed=5, years=2, today=TODAY, out_dir=tmp_path / "demo")
    return tmp_path


def _automation_messages():
    return Message.objects.filter(source__startswith="automation:")


def _with_the_backlog() -> None:
    """Every demo automation switched off and on again, this time including who already matches."""
    at = START + timedelta(minutes=1)
    for automation in Automation.objects.all():
        automation_set_active(actor=ACTOR, automation=automation, active=False)
        automation_set_active(actor=ACTOR, automation=automation, active=True, include_existing=True, now=at)


def _assert_each_message_once(sms_dir) -> int:
    """No customer has two messages with the same content or from the same automation step,
    in the outbox, in the step log, and among what was sent. Returns the messages sent."""
    rows = list(_automation_messages().values_list("pk", "customer_id", "channel", "source", "subject",
                                                   "body_text", "status"))
    same_content = Counter((cid, subject, body) for _pk, cid, _ch, _src, subject, body, _st in rows)
    same_step = Counter((cid, source) for _pk, cid, _ch, source, *_rest in rows)
    assert [k for k, n in same_content.items() if n > 1] == []
    assert [k for k, n in same_step.items() if n > 1] == []
    runs = Counter(StepRun.objects.values_list("enrollment__customer_id", "automation_id", "position"))
    assert [k for k, n in runs.items() if n > 1] == []
    active = Counter(Enrollment.objects.filter(state="active").values_list("automation_id", "customer_id"))
    assert [k for k, n in active.items() if n > 1] == []

    # The sent side: each sent message left exactly once, nothing else left.
    from django.core import mail

    sent = {(pk, channel) for pk, _cid, channel, _src, _s, _b, status in rows if status == "sent"}
    emails = Counter(int(m.extra_headers["X-Fideliza-Message"]) for m in mail.outbox
                     if m.extra_headers.get("X-Fideliza-Message"))
    sms = Counter(int(json.loads(p.read_text(encoding="utf-8"))["reference"]) for p in sms_dir.glob("*.json")) \
        if sms_dir.exists() else Counter()
    assert [k for k, n in (emails + sms).items() if n > 1] == []
    assert set(emails) == {pk for pk, channel in sent if channel == "email"}
    assert set(sms) == {pk for pk, channel in sent if channel == "sms"}
    return len(sent)


@pytest.mark.django_db
def test_the_first_start_of_the_demo_writes_to_nobody_by_itself(demo, mailoutbox):
    with time_machine.travel(START + timedelta(minutes=2), tick=False):
        started = enqueue_due_jobs()   # loyalty's nightly job, the recompute, the automations …
    assert {"loyalty_daily", "automations", "events_daily"} <= set(started)
    assert not _automation_messages().exists() and not Enrollment.objects.exists()
    # The demo's events are history: no invitation, reminder or notice is queued.
    assert not Message.objects.filter(source__startswith="event:").exists()
    # There was a backlog; it was left out as the demo switched the automations on.
    assert {a.activation_scope for a in Automation.objects.filter(is_active=True)} == {"new"}
    assert Occurrence.objects.filter(outcome="existing").count() > 50

    # The automations are on: a first purchase after the start is welcomed.
    with time_machine.travel(START + timedelta(minutes=20), tick=False):
        newcomer = make_customer(first_name="Nueva")
        make_order(newcomer, START + timedelta(minutes=10))
        enqueue_due_jobs()
    # Enrolled once; the 10 % holdout is drawn on the customer's id, which depends on what ran
    # before (ids are not reused after a flush), so the message depends on the group drawn.
    enrolled = list(Enrollment.objects.values_list("customer_id", "group"))
    assert [cid for cid, _group in enrolled] == [newcomer.pk]
    written = list(_automation_messages().values_list("customer_id", flat=True))
    if enrolled[0][1] == "holdout":   # walks the journey, nothing written
        assert written == [] and StepRun.objects.filter(enrollment__customer=newcomer, status="holdout").exists()
    else:
        assert written == [newcomer.pk]


@pytest.mark.django_db
def test_the_scheduler_twice_over_the_whole_backlog_sends_each_message_once(demo, mailoutbox):
    _with_the_backlog()
    with time_machine.travel(START + timedelta(minutes=2), tick=False):
        enqueue_due_jobs()             # loyalty writes the expiry notices, the automations run
    first = _automation_messages().count()
    with time_machine.travel(START + timedelta(minutes=17), tick=False):
        enqueue_due_jobs()             # the next 15-minute slot
        automations_run()              # and once more at the same moment, by hand
    assert first > 50 and _automation_messages().count() == first
    # Customers with points expiring on several days got one enrolment, the rest folded.
    assert Occurrence.objects.filter(outcome="folded", automation__trigger_kind="points_expiring").exists()
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        call_command("outbox", "sweep")
    assert _assert_each_message_once(demo / "sms") > 50


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_over_the_whole_backlog_send_each_message_once(demo, mailoutbox):
    _with_the_backlog()
    with time_machine.travel(START + timedelta(minutes=2), tick=False):
        expiry_notices_create()

    def both_at(at: datetime) -> list[str]:
        barrier = threading.Barrier(2)

        def one(_i: int) -> str:
            try:
                barrier.wait()
                automations_run(now=at)
                return "ok"
            except Exception as exc:  # a failure the test must show
                return repr(exc)
            finally:
                connection.close()

        with ThreadPoolExecutor(2) as pool:
            return list(pool.map(one, range(2)))

    with time_machine.travel(START + timedelta(minutes=3), tick=False):
        assert both_at(START + timedelta(minutes=3)) == ["ok", "ok"]
    first = _automation_messages().count()
    with time_machine.travel(START + timedelta(minutes=18), tick=False):
        assert both_at(START + timedelta(minutes=18)) == ["ok", "ok"]
    assert first > 50 and _automation_messages().count() == first
    assert Occurrence.objects.filter(outcome="folded", automation__trigger_kind="points_expiring").exists()
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        call_command("outbox", "sweep")
    assert _assert_each_message_once(demo / "sms") > 50
