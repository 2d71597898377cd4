"""Campaign services: validation, the launch (holdout, consent, coupons, idempotency),
scheduling, and the contact budget shared by overlapping campaigns."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from fideliza.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    RecipientGroup,
    RecipientStatus,
)
from fideliza.campaigns.services import (
    MessageContent,
    campaign_cancel,
    campaign_create,
    campaign_launch,
    campaign_preview,
    campaign_reach,
    campaign_send,
    campaign_update,
    campaigns_finish_sending,
    campaigns_launch_due,
)
from fideliza.campaigns.tasks import campaigns_tick
from fideliza.customers.models import ConsentRecord
from fideliza.engagement.models import ContactBudget, ContactDecision, Message, MessageStatus
from fideliza.loyalty.models import Coupon

from .conftest import EMAIL, LAUNCH, customer_make, segment_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """Launch day, mid-morning (the services that take no `now` read this one)."""
    time_machine.move_to(LAUNCH, tick=False)


def test_create_refuses_broken_template_with_field_errors(segment, marketing):
    bad = MessageContent(subject="Hola {{ nombre", body_text="Texto {{ no_such_variable }}")
    with pytest.raises(ValidationError) as exc:
        campaign_create(user=marketing, name="Rota", segment=segment, channels=["email"], messages={"email": bad})
    errors = exc.value.message_dict
    assert "email_subject" in errors
    assert "email_body_text" in errors
    assert not Campaign.objects.exists()


def test_create_needs_a_message_for_each_channel(segment, marketing):
    with pytest.raises(ValidationError) as exc:
        campaign_create(user=marketing, name="Sin SMS", segment=segment, channels=["email", "sms"],
                        messages={"email": EMAIL})
    assert "channels" in exc.value.message_dict


def test_campaign_keeps_its_own_copy_of_the_templates(segment, make_campaign, marketing):
    campaign = make_campaign(segment, channels=("email", "sms"))
    assert campaign.email_template.is_reusable is False
    assert campaign.sms_template.channel == "sms"
    campaign = campaign_update(campaign=campaign, user=marketing, channels=["email"],
                               messages={"email": MessageContent(subject="Nuevo {{ nombre }}",
                                                                 body_text="Cuerpo")})
    campaign.refresh_from_db()
    assert campaign.sms_template is None
    assert campaign.email_template.subject == "Nuevo {{ nombre }}"


def test_holdout_share_is_exact_and_reproducible(segment, make_campaign):
    campaign = make_campaign(segment, holdout="0.250")
    summary = campaign_launch(campaign, now=LAUNCH)
    assert summary.launched
    recipients = CampaignRecipient.objects.filter(campaign=campaign)
    assert recipients.count() == 40
    assert recipients.filter(group=RecipientGroup.HOLDOUT).count() == 10  # round(0.25 * 40)
    held = set(recipients.filter(group=RecipientGroup.HOLDOUT).values_list("customer_id", flat=True))
    # Nobody in the holdout got a message; everybody treated did.
    assert not Message.objects.filter(customer_id__in=held).exists()
    assert Message.objects.filter(source=f"campaign:{campaign.pk}").count() == 30
    # The same campaign id draws the same holdout (seeded), as the reach preview shows.
    reach = campaign_reach(Campaign.objects.get(pk=campaign.pk))
    assert reach["holdout"] == 10 and reach["treated"] == 30


def test_launch_is_idempotent(segment, make_campaign):
    campaign = make_campaign(segment, offer=True)
    first = campaign_launch(campaign, now=LAUNCH)
    second = campaign_launch(campaign, now=LAUNCH + timedelta(minutes=5))
    assert first.launched and not second.launched
    assert second.counts == first.counts
    assert Message.objects.count() == 36
    assert CampaignRecipient.objects.count() == 40
    assert Coupon.objects.count() == 36
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    assert campaign.launched_at == LAUNCH


def test_each_treated_recipient_gets_a_unique_coupon_in_their_message(segment, make_campaign):
    campaign = make_campaign(segment, offer=True, offer_min_purchase=Decimal("20"))
    campaign_launch(campaign, now=LAUNCH)
    treated = list(CampaignRecipient.objects.filter(campaign=campaign, group=RecipientGroup.TREATED)
                   .select_related("coupon"))
    codes = [r.coupon.code for r in treated]
    assert len(codes) == len(set(codes)) == 36
    for r in treated:
        assert r.coupon.customer_id == r.customer_id
        assert r.coupon.max_uses == 1 and r.coupon.kind == "percent" and r.coupon.value == Decimal("10")
        assert r.coupon.min_purchase == Decimal("20")
        assert r.coupon.valid_until == LAUNCH + timedelta(days=30)
        message = Message.objects.get(pk=r.message_id)
        assert r.coupon.code in message.body_text
        assert r.coupon.code in message.body_html
        assert r.customer.first_name in message.subject
    assert not CampaignRecipient.objects.filter(group=RecipientGroup.HOLDOUT, coupon__isnull=False).exists()


def test_consent_and_addresses_are_respected(marketing, make_campaign):
    ok = customer_make(1)
    no_consent = customer_make(2, consent=False)
    withdrawn = customer_make(3)
    ConsentRecord.objects.create(customer=withdrawn, channel="email", status="withdrawn",
                                 recorded_at=LAUNCH - timedelta(days=1), source="test")
    no_email = customer_make(4, email=False)
    sms_only = customer_make(5, email=False, phone="+34612345678", sms_consent=True)
    segment = segment_make("Mixto", [ok, no_consent, withdrawn, no_email, sms_only])
    campaign = make_campaign(segment, channels=("email", "sms"), holdout="0")
    campaign_launch(campaign, now=LAUNCH)
    by_customer = {r.customer_id: r for r in CampaignRecipient.objects.filter(campaign=campaign)}
    assert by_customer[ok.pk].status == RecipientStatus.QUEUED and by_customer[ok.pk].channel == "email"
    assert by_customer[sms_only.pk].status == RecipientStatus.QUEUED and by_customer[sms_only.pk].channel == "sms"
    for c in (no_consent, withdrawn, no_email):
        assert by_customer[c.pk].status == RecipientStatus.NO_CHANNEL
        assert by_customer[c.pk].message_id is None
    assert set(Message.objects.values_list("customer_id", flat=True)) == {ok.pk, sms_only.pk}
    sms = Message.objects.get(customer=sms_only)
    assert sms.body_text.startswith("Hola Nombre5")


def test_preview_renders_for_a_real_customer(segment, customers, make_campaign):
    campaign = make_campaign(segment, offer=True)
    rendered = campaign_preview(campaign, customers[3])
    assert "Nombre3" in rendered["subject"]
    assert "CUPON-EJEMPLO" in rendered["text"]
    assert not Coupon.objects.exists()  # a preview issues nothing


def test_three_overlapping_campaigns_respect_a_budget_of_two_per_week(marketing, make_campaign):
    ContactBudget.objects.create(scope="global", max_messages=2, window_days=7)
    people = [customer_make(i) for i in range(12)]
    segments = [segment_make("Todos", people), segment_make("Primeros", people[:8]),
                segment_make("Últimos", people[4:])]
    campaigns = [make_campaign(s, name=f"Campaña {k}", holdout="0") for k, s in enumerate(segments)]
    for k, campaign in enumerate(campaigns):
        campaign_launch(campaign, now=LAUNCH + timedelta(hours=k))
    for person in people:
        assert Message.objects.filter(customer=person, status__in=(MessageStatus.QUEUED, MessageStatus.SENT)).count() <= 2
    skipped = CampaignRecipient.objects.filter(status=RecipientStatus.SKIPPED)
    # People in all three segments (4..7) got two; their third was skipped and recorded.
    assert set(skipped.values_list("customer_id", flat=True)) == {p.pk for p in people[4:8]}
    assert set(skipped.values_list("reason", flat=True)) == {"over_budget"}
    decisions = ContactDecision.objects.filter(status="skipped", reason="over_budget")
    assert set(decisions.values_list("customer_id", flat=True)) == {p.pk for p in people[4:8]}
    assert decisions.filter(source=f"campaign:{campaigns[2].pk}").count() == 4


def test_over_budget_defer_policy_defers_instead_of_skipping(marketing, make_campaign):
    ContactBudget.objects.create(scope="global", max_messages=1, window_days=7)
    people = [customer_make(i) for i in range(3)]
    segment = segment_make("Pocos", people)
    first = make_campaign(segment, name="Una", holdout="0")
    second = make_campaign(segment, name="Otra", holdout="0", over_budget="defer")
    campaign_launch(first, now=LAUNCH)
    campaign_launch(second, now=LAUNCH + timedelta(hours=1))
    deferred = CampaignRecipient.objects.filter(campaign=second)
    assert set(deferred.values_list("status", flat=True)) == {RecipientStatus.DEFERRED}
    assert all(m.send_at >= LAUNCH + timedelta(days=7)
               for m in Message.objects.filter(source=f"campaign:{second.pk}"))


def test_skipped_recipients_coupons_are_deactivated(marketing, make_campaign):
    ContactBudget.objects.create(scope="global", max_messages=1, window_days=7)
    people = [customer_make(i) for i in range(3)]
    segment = segment_make("Pocos", people)
    campaign_launch(make_campaign(segment, name="Primera", holdout="0"), now=LAUNCH)
    second = make_campaign(segment, name="Con cupón", holdout="0", offer=True)
    campaign_launch(second, now=LAUNCH + timedelta(hours=1))
    recipients = CampaignRecipient.objects.filter(campaign=second).select_related("coupon")
    assert {r.status for r in recipients} == {RecipientStatus.SKIPPED}
    assert all(r.coupon is not None and not r.coupon.is_active for r in recipients)


def test_scheduled_campaign_is_launched_when_due(segment, make_campaign, marketing):
    campaign = make_campaign(segment, scheduled_at=LAUNCH + timedelta(days=1))
    outcome = campaign_send(campaign=campaign, user=marketing, now=LAUNCH)
    assert isinstance(outcome, Campaign) and outcome.status == CampaignStatus.SCHEDULED
    assert campaigns_launch_due(now=LAUNCH + timedelta(hours=2)) == []
    assert not Message.objects.exists()
    assert campaigns_launch_due(now=LAUNCH + timedelta(days=1, minutes=1)) == [campaign.pk]
    assert Message.objects.filter(source=f"campaign:{campaign.pk}").count() == 36
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING


def test_tick_marks_campaigns_sent_once_the_outbox_is_empty(segment, make_campaign):
    campaign = make_campaign(segment)
    campaign_launch(campaign, now=LAUNCH)
    assert campaigns_finish_sending() == []
    Message.objects.filter(source=f"campaign:{campaign.pk}").update(status=MessageStatus.SENT)
    result = campaigns_tick.call()
    assert result["finished"] == [campaign.pk]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_cancelled_campaign_cannot_be_launched_or_edited(segment, make_campaign, marketing):
    campaign = make_campaign(segment)
    campaign_cancel(campaign=campaign, user=marketing)
    with pytest.raises(ValidationError):
        campaign_launch(campaign, now=LAUNCH)
    with pytest.raises(ValidationError):
        campaign_update(campaign=campaign, user=marketing, messages={"email": EMAIL}, name="Otra")
    assert not Message.objects.exists()


def test_segment_members_at_launch_time_are_the_audience(customers, make_campaign):
    segment = segment_make("Cambia", customers[:10])
    campaign = make_campaign(segment, holdout="0")
    segment.members.filter(customer__in=customers[:5]).delete()
    campaign_launch(campaign, now=LAUNCH)
    assert set(CampaignRecipient.objects.values_list("customer_id", flat=True)) == {c.pk for c in customers[5:10]}


def test_schedule_enqueues_the_launch_for_its_time_when_the_backend_can_defer(
        segment, make_campaign, marketing, settings, django_capture_on_commit_callbacks):
    from django_tasks import task_backends

    # django-tasks rebuilds its backends when TASKS changes (and back after the test).
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend",
                                  "QUEUES": ["default", "outbox"]}}
    when = LAUNCH + timedelta(days=2)
    campaign = make_campaign(segment, scheduled_at=when)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_send(campaign=campaign, user=marketing, now=LAUNCH)
    [result] = task_backends["default"].results
    assert result.task.name == "campaign_launch_scheduled"
    assert result.task.run_after == when and list(result.args) == [campaign.pk]
    assert not Message.objects.exists()


def test_moving_a_scheduled_campaign_to_no_date_makes_it_a_draft_again(segment, make_campaign, marketing):
    from django.utils import timezone

    campaign = make_campaign(segment, scheduled_at=timezone.now() + timedelta(days=3))
    campaign_send(campaign=campaign, user=marketing)
    campaign = campaign_update(campaign=campaign, user=marketing, messages={"email": EMAIL}, scheduled_at=None)
    assert campaign.status == CampaignStatus.DRAFT
    assert campaigns_launch_due(now=timezone.now() + timedelta(days=4)) == []
