"""messages_queue: the gate (consent, suppression, topics, budget, quiet hours) and its log."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError

from fideliza.engagement.models import (
    BudgetScope,
    ContactBudget,
    ContactDecision,
    Message,
    MessageStatus,
    Suppression,
    TopicPreference,
)
from fideliza.engagement.services import channel_choose, messages_queue

from .conftest import make_customer, request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock(time_machine, noon):
    """Tuesday 10 March 2026 at noon: consents recorded "now" are dated then."""
    time_machine.move_to(noon, tick=False)


def test_queues_marketing_with_consent_and_records_nothing_else(noon):
    c = make_customer()
    [d] = messages_queue([request(c)], now=noon)
    assert d.status == "queued" and d.reason == "" and d.send_at == noon
    m = Message.objects.get(pk=d.message_id)
    assert m.address == c.email and m.status == MessageStatus.QUEUED and m.token
    assert not ContactDecision.objects.exists()


def test_skips_are_recorded_with_reason(noon):
    no_consent = make_customer(consent=())
    no_email = make_customer(email="")
    suppressed = make_customer()
    Suppression.objects.create(channel="email", address=suppressed.email, reason="unsubscribed")
    topic_out = make_customer()
    TopicPreference.objects.create(customer=topic_out, topic="ofertas", subscribed=False)
    reqs = [request(no_consent), request(no_email), request(suppressed), request(topic_out, topic="ofertas")]
    decisions = messages_queue(reqs, now=noon)
    assert [(d.status, d.reason) for d in decisions] == [
        ("skipped", "no_consent"), ("skipped", "no_address"), ("skipped", "suppressed"),
        ("skipped", "topic_opt_out")]
    logged = {(r.customer_id, r.status, r.reason) for r in ContactDecision.objects.all()}
    assert logged == {(no_consent.pk, "skipped", "no_consent"), (no_email.pk, "skipped", "no_address"),
                      (suppressed.pk, "skipped", "suppressed"), (topic_out.pk, "skipped", "topic_opt_out")}
    assert not Message.objects.exists()


def test_transactional_bypasses_marketing_gates_but_not_a_hard_bounce(noon):
    c = make_customer(consent=())
    Suppression.objects.create(channel="email", address=c.email, reason="unsubscribed")
    for _ in range(5):
        [d] = messages_queue([request(c, kind="transactional")], now=noon.replace(hour=23))
        assert d.status == "queued" and d.send_at == noon.replace(hour=23)  # no quiet hours either
    Suppression.objects.filter(address=c.email).update(reason="hard_bounce")
    [d] = messages_queue([request(c, kind="transactional")], now=noon)
    assert (d.status, d.reason) == ("skipped", "suppressed")


def test_duplicate_dedupe_key_is_reported_not_queued_twice(noon):
    c = make_customer()
    first = messages_queue([request(c, key="k1"), request(c, key="k1")], now=noon)
    assert [d.status for d in first] == ["queued", "duplicate"]
    again = messages_queue([request(c, key="k1")], now=noon)
    assert again[0].status == "duplicate" and Message.objects.count() == 1


def test_invalid_request_raises_and_writes_nothing(noon):
    c = make_customer()
    with pytest.raises(ValidationError):
        messages_queue([request(c), request(c, channel="fax")], now=noon)
    assert not Message.objects.exists()


def test_budget_skip_and_defer(noon):
    ContactBudget.objects.create(scope=BudgetScope.GLOBAL, max_messages=2, window_days=7)
    c = make_customer()
    reqs = [request(c, source=f"campaign:{i}", over_budget=policy)
            for i, policy in enumerate(["skip", "skip", "skip", "defer"])]
    decisions = messages_queue(reqs, now=noon)
    assert [(d.status, d.reason) for d in decisions] == [
        ("queued", ""), ("queued", ""), ("skipped", "over_budget"), ("deferred", "over_budget")]
    assert decisions[3].send_at == noon + timedelta(days=7)
    deferred = Message.objects.get(pk=decisions[3].message_id)
    assert deferred.status == MessageStatus.DEFERRED
    rows = list(ContactDecision.objects.order_by("id").values_list("status", "reason", "source"))
    assert rows == [("skipped", "over_budget", "campaign:2"), ("deferred", "over_budget", "campaign:3")]


def test_quiet_hours_defer_to_their_end_in_the_customers_zone(noon):
    ContactBudget.objects.create(scope=BudgetScope.GLOBAL, max_messages=5, window_days=7,
                                 quiet_start=time(21), quiet_end=time(9))
    madrid = make_customer()
    mexico = make_customer(timezone="America/Mexico_City")
    # 12:00 in Madrid is 05:00 in Mexico City: quiet there until 09:00 local (16:00 Madrid).
    decisions = messages_queue([request(madrid), request(mexico)], now=noon)
    assert (decisions[0].status, decisions[0].send_at) == ("queued", noon)
    assert (decisions[1].status, decisions[1].reason) == ("deferred", "quiet_hours")
    assert decisions[1].send_at == noon.replace(hour=16)


def test_customer_and_segment_overrides(noon):
    from fideliza.segments.models import Segment, SegmentMember

    ContactBudget.objects.create(scope=BudgetScope.GLOBAL, max_messages=5, window_days=7)
    vip, strict, normal = make_customer(), make_customer(), make_customer()
    seg = Segment.objects.create(name="Pocos mensajes", kind="static")
    SegmentMember.objects.create(segment=seg, customer=strict)
    ContactBudget.objects.create(scope=BudgetScope.SEGMENT, segment=seg, max_messages=1, window_days=7)
    ContactBudget.objects.create(scope=BudgetScope.CUSTOMER, customer=vip, max_messages=0, window_days=7)
    reqs = [request(c, source=f"campaign:{i}") for c in (vip, strict, normal) for i in range(2)]
    statuses = [d.status for d in messages_queue(reqs, now=noon)]
    assert statuses == ["skipped", "skipped", "queued", "skipped", "queued", "queued"]


def test_channel_choose_prefers_the_customers_channel(noon):
    prefers_sms = make_customer(preferred_channel="sms")
    email_only = make_customer(consent=("email",), preferred_channel="sms")
    nothing = make_customer(consent=())
    chosen = channel_choose([prefers_sms.pk, email_only.pk, nothing.pk], ["email", "sms"])
    assert chosen == {prefers_sms.pk: "sms", email_only.pk: "email", nothing.pk: None}
    assert channel_choose([nothing.pk], ["email", "sms"], kind="transactional") == {nothing.pk: "email"}


def test_a_large_call_crosses_insert_batches_and_maps_every_id(noon):
    """1 500 recipients: several INSERT batches on SQLite, the COPY path on PostgreSQL."""
    from fideliza.customers.models import ConsentRecord, Customer

    customers = Customer.objects.bulk_create(
        [Customer(first_name=f"M{i}", email=f"m{i}@example.com") for i in range(1500)])
    ConsentRecord.objects.bulk_create([ConsentRecord(customer=c, channel="email", status="granted",
                                                     recorded_at=noon, source="tests")
                                       for c in customers if c.pk % 7])
    decisions = messages_queue([request(c, key=f"big:{c.pk}") for c in customers], now=noon)
    queued = [d for d in decisions if d.status == "queued"]
    assert len(queued) + sum(d.reason == "no_consent" for d in decisions) == 1500
    rows = dict(Message.objects.values_list("id", "dedupe_key"))
    assert all(rows[d.message_id] == d.request.dedupe_key for d in queued)
    assert len({m.token for m in Message.objects.only("token")}) == len(queued)
    assert Message.objects.filter(created_at=noon, send_at=noon, attempts=0, claim_id="").count() == len(queued)


def test_a_newer_opt_in_overrides_the_customers_own_unsubscribe_but_not_a_bounce(noon, time_machine):
    from datetime import timedelta

    from django.utils import timezone

    from fideliza.customers.services import consent_record
    from fideliza.engagement.services import message_unsubscribe

    c = make_customer()
    [d] = messages_queue([request(c)], now=noon)
    message_unsubscribe(message=Message.objects.get(pk=d.message_id))
    assert messages_queue([request(c)], now=noon)[0].reason in ("no_consent", "suppressed")
    # An old consent imported with its original date does not undo the unsubscribe...
    consent_record(customer=c, channel="email", granted=True, source="importación",
                   at=timezone.now() - timedelta(days=30))
    assert messages_queue([request(c)], now=noon)[0].reason == "no_consent"
    # ...a new sign-up at the till, ten minutes later, does.
    time_machine.shift(timedelta(minutes=10))
    consent_record(customer=c, channel="email", granted=True, source="tpv")
    assert messages_queue([request(c)], now=noon)[0].status == "queued"
    assert channel_choose([c.pk], ["email"]) == {c.pk: "email"}
    Suppression.objects.filter(address=c.email).update(reason="hard_bounce")
    consent_record(customer=c, channel="email", granted=True, source="tpv")
    assert messages_queue([request(c)], now=noon)[0].reason == "suppressed"
