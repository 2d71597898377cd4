"""Issue 6, Done when: with a budget of 2 messages per 7 days, three overlapping campaigns and
two automations deliver at most 2 per customer, and every skip/defer is recorded with its
reason (engagement's ContactDecision, and the automation's own StepRun log)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from fideliza.automations.models import StepRun
from fideliza.automations.services import automations_run
from fideliza.campaigns.services import MessageContent, campaign_create, campaign_launch
from fideliza.engagement.models import COUNTED, ContactDecision, Message
from fideliza.segments.models import Segment, SegmentKind, SegmentMember

from .conftest import make_automation, make_customer, make_order

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")
START = datetime(2026, 5, 12, 10, 0, tzinfo=MADRID)  # a Tuesday morning, outside quiet hours
EMAIL = MessageContent(subject="Hola {{ nombre }}", body_text="Novedades para ti, {{ nombre }}.", topic="")


def _window_max(times: list[datetime], window: timedelta) -> int:
    """The most messages inside any rolling window (starting at one of them)."""
    times = sorted(times)
    return max((sum(1 for t in times if start <= t < start + window) for start in times), default=0)


@pytest.fixture
def budget_two_per_week(settings):
    settings.FIDELIZA_BUDGET_MAX_MESSAGES = 2
    settings.FIDELIZA_BUDGET_WINDOW_DAYS = 7


def test_three_campaigns_and_two_automations_share_one_budget(budget_two_per_week, owner):
    people = [make_customer(birth_date=date(1985, 5, 12), timezone="Europe/Madrid") for _ in range(12)]
    for c in people:  # everybody's first purchase was this morning: the welcome fires too
        make_order(c, START - timedelta(hours=1))
    segment = Segment.objects.create(name="Todos", kind=SegmentKind.STATIC, member_count=len(people))
    SegmentMember.objects.bulk_create([SegmentMember(segment=segment, customer=c) for c in people])
    campaigns = [campaign_create(user=owner, name=f"Campaña {i}", segment=segment, channels=["email"],
                                 messages={"email": EMAIL}, holdout_share=Decimal(0),
                                 over_budget="defer" if i == 1 else "skip")
                 for i in range(3)]
    welcome = make_automation("welcome", over_budget="skip")
    birthday = make_automation("birthday", over_budget="defer")

    # Overlapping: campaign, automations, campaign, automations again, campaign.
    campaign_launch(campaigns[0], now=START)
    automations_run(now=START + timedelta(minutes=15))
    campaign_launch(campaigns[1], now=START + timedelta(hours=1))
    automations_run(now=START + timedelta(hours=1, minutes=15))
    campaign_launch(campaigns[2], now=START + timedelta(hours=2))

    window = timedelta(days=7)
    for c in people:
        times = list(Message.objects.filter(customer=c, kind="marketing", status__in=COUNTED)
                     .values_list("send_at", flat=True))
        assert _window_max(times, window) <= 2, c
    # Nothing over budget was sent now: the first two messages of each customer are the
    # first campaign and the welcome; everything else was skipped or deferred past the window.
    sent_now = Message.objects.filter(kind="marketing", status="queued", send_at__lt=START + timedelta(days=1))
    assert sent_now.count() == 2 * len(people)
    # Every request that did not get a slot now is recorded with its reason.
    decisions = ContactDecision.objects.filter(customer__in=people)
    assert decisions.count() == 3 * len(people)  # 5 sources × 12 customers − 2 × 12 sent now
    assert set(decisions.values_list("reason", flat=True)) == {"over_budget"}
    assert set(decisions.values_list("status", flat=True)) == {"skipped", "deferred"}
    deferred = Message.objects.filter(status="deferred", customer__in=people)
    assert all(m.send_at >= START + window for m in deferred)
    # The automations' own log says the same as the delivery layer, per customer.
    for automation, expected in ((welcome, "queued"), (birthday, "deferred")):
        runs = StepRun.objects.filter(automation=automation)
        assert runs.count() == len(people)
        assert set(runs.values_list("status", "reason")) == {(expected, "" if expected == "queued" else "over_budget")}
        for run in runs.filter(status="deferred"):
            decision = ContactDecision.objects.get(dedupe_key=Message.objects.get(pk=run.message_id).dedupe_key)
            assert (decision.status, decision.reason) == ("deferred", "over_budget")
