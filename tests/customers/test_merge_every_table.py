"""Two cards of one person with rows in every table that refers to a customer: the merge
follows each table's policy, undo restores both cards exactly, erasure leaves no personal
data anywhere and keeps the totals."""

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db.models import Count, Sum

from fideliza.accounts.services import Actor
from fideliza.automations.merging import FOLDED
from fideliza.automations.models import Automation, AutomationStep, Enrollment, StepRun
from fideliza.campaigns.models import Campaign, CampaignRecipient
from fideliza.complaints.services import Filing, complaint_file, exit_reason_keep, gesture_give
from fideliza.customers.contacts import contact_create
from fideliza.customers.export import customer_export_data
from fideliza.customers.merging import customer_merge, customer_merge_undo
from fideliza.customers.models import (
    Contact,
    ContactConsentRecord,
    Customer,
    DataSubjectRequest,
    MatchCandidate,
)
from fideliza.customers.privacy import customer_erase
from fideliza.customers.references import customer_keys
from fideliza.customers.services import consent_record, customer_create
from fideliza.engagement.models import (
    ContactBudget,
    ContactDecision,
    DeliveryEvent,
    Message,
    TopicPreference,
)
from fideliza.followups.models import FollowUp
from fideliza.insights.models import CustomerMetrics, RfmMonthly, SnapshotRun
from fideliza.interactions.documents import document_add
from fideliza.interactions.models import Document, Interaction
from fideliza.interactions.services import NextStep, interaction_log
from fideliza.loyalty.models import Affiliate, Coupon, CouponRedemption, Member, Program, Referral
from fideliza.loyalty.services import member_enroll
from fideliza.sales.models import Order
from fideliza.segments.models import Segment, SegmentKind, SegmentMember
from fideliza.surveys.models import Invitation, Survey
from fideliza.surveys.services import (
    response_answer,
    response_for_invitation,
    survey_attach,
    survey_content,
    survey_from_template,
)
from fideliza.surveys.services import testimonial_record as record_testimonial
from tests.factories.sales import order_make
from tests.loyalty.ledger_views import export_held

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 6, 15, 11, 0, tzinfo=TZ)
SECRETS = ("Wenceslao", "Olabarrieta", "wence.ola@correo-privado.es", "+34677112233", "wenceslao.viejo@antiguo.es",
           "Calle del Olmo 9", "44556677K", "Eustaquio Berganza", "eustaquio@berganza-privado.es", "+34655443322")


def _automation(name: str) -> Automation:
    automation = Automation.objects.create(name=name, trigger_kind="welcome", channels=["email"],
                                           holdout_share=Decimal(0), is_active=True)
    AutomationStep.objects.create(automation=automation, position=1, email_subject="Hola {{ nombre }}",
                                  email_text="Hola {{ nombre }}")
    return automation


def _enroll(automation, customer, key, *, days_ago, state="active", context=None):
    at = NOW - timedelta(days=days_ago)
    return Enrollment.objects.create(
        automation=automation, customer=customer, trigger_key=key, group="treated", enrolled_at=at,
        state=state, next_step=1 if state == "active" else None,
        next_due_at=NOW + timedelta(hours=1) if state == "active" else None, context=context or {})


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """NOW for the fixtures too (the decorators below pin only the test bodies)."""
    time_machine.move_to(NOW, tick=False)


def _order(customer, ext, total):
    """Through order_record: the card joins the program with this order and earns its points."""
    return order_make(customer, external_id=ext, total=total, placed_at=NOW - timedelta(days=30))


def _rows_everywhere(actor, card, *, tag, program, segment, campaign, automations, run, other):
    """Rows for `card` in every table that refers to a customer."""
    consent_record(customer=card, channel="email", granted=True, source="form", ip_address="203.0.113.7",
                   wording=f"Acepto, {card.email}")
    order = _order(card, f"{tag}-1", "40.00" if tag == "a" else "15.50")
    member_enroll(program=program, customer=card, actor=actor, at=NOW - timedelta(days=90))
    coupon = Coupon.objects.create(code=f"CUPON-{tag}", name="Regalo", customer=card, value=Decimal(5))
    CouponRedemption.objects.create(coupon=coupon, customer=card, order=order, discount=Decimal(5),
                                    redeemed_at=NOW - timedelta(days=29))
    SegmentMember.objects.create(segment=segment, customer=card)
    message = Message.objects.create(customer=card, channel="email", kind="marketing", source=f"campaign:{campaign.pk}",
                                     dedupe_key=f"m-{tag}", address=card.email, subject=f"Hola {card.first_name}",
                                     body_text=f"Hola {card.first_name} {card.last_name}", send_at=NOW - timedelta(days=2))
    DeliveryEvent.objects.create(message=message, customer=card, kind="clicked", at=NOW - timedelta(days=1),
                                 detail={"url": "https://tienda.example/oferta", "ua": "Firefox"})
    ContactDecision.objects.create(customer=card, channel="sms", kind="marketing", source="campaign:1",
                                   dedupe_key=f"d-{tag}", status="skipped", reason="no_consent", decided_at=NOW)
    TopicPreference.objects.create(customer=card, topic="ofertas", subscribed=tag == "a")
    ContactBudget.objects.create(scope="customer", customer=card, max_messages=2 if tag == "a" else 5, window_days=30)
    CampaignRecipient.objects.create(campaign=campaign, customer=card, group="treated", channel="email",
                                     status="queued", message_id=message.pk)
    CustomerMetrics.objects.create(
        customer=card, run=run, first_purchase=date(2026, 5, 16), last_purchase=date(2026, 5, 16), orders=1,
        revenue=order.total, average_order_value=order.total, frequency=0, recency=0, age=30,
        monetary_value=Decimal(0), r_score=3, f_score=1, m_score=2, rfm_segment="new", abc_revenue="C",
        value_tier="bronce", activity_state="active", days_since_last=30, usual_interval_days=None,
        clv_historic=order.total)
    RfmMonthly.objects.create(customer=card, period_end=date(2026, 5, 31), r_score=3, f_score=1, m_score=2,
                              segment="new")
    welcome, expiring, winback = automations
    # The same occurrence on both cards, and two different causes running in one automation.
    _enroll(welcome, card, "first_purchase", days_ago=5 if tag == "a" else 3)
    _enroll(expiring, card, f"expiry:2026-07-0{1 if tag == 'a' else 2}", days_ago=4 if tag == "a" else 6,
            context={"points": 130})
    _enroll(winback, card, f"lapsed:{tag}", days_ago=60, state="completed")
    try:  # causes recorded without an enrolment of their own (a table another change adds)
        occurrence = apps.get_model("automations", "Occurrence")
    except LookupError:
        occurrence = None
    if occurrence is not None:
        occurrence.objects.create(automation=welcome, customer=card, trigger_key="birthday:2026",
                                  outcome="existing", recorded_at=NOW - timedelta(days=10))
    # Contact persons with their own consent: the same person on both cards (same phone),
    # and on the first card a second one.
    contact = contact_create(actor=actor, customer=card, data={
        "name": f"{card.first_name} {card.last_name}", "role": "Gerente", "email": card.email,
        "phone": "+34677112233"}, consents={"email": True}, consent_source="form", ip_address="203.0.113.8")
    if tag == "a":
        contact_create(actor=actor, customer=card, data={
            "name": "Eustaquio Berganza", "email": "eustaquio@berganza-privado.es", "phone": "+34655443322",
            "notes": "Llamar a Eustaquio Berganza por la tarde"}, consents={"sms": True})
    # The relationship log: a call with a next step (an open follow-up) that quotes the person.
    interaction_log(actor=actor, customer=card, kind="call", occurred_at=NOW - timedelta(days=1), contact=contact,
                    contact_name=f"{card.first_name} {card.last_name}", text=f"Escribir a {card.email}",
                    next_step=NextStep(title=f"Llamar a {card.first_name} al {card.phone or '+34677112233'}",
                                       due_at=NOW + timedelta(days=2)))
    document_add(customer=card, user=None, description=f"DNI de {card.first_name} {card.last_name}",
                 upload=SimpleUploadedFile(f"{card.last_name}.pdf", b"%PDF-1.4 " + card.email.encode()))
    # The complaints book: a complaint taken at the counter that quotes the person, a
    # recovery coupon for it, and the reason they gave when they unsubscribed.
    complaint = complaint_file(actor=actor, channel="counter", send_copy=False, now=NOW - timedelta(days=3),
                               filing=Filing(rules="ES", subdivision="AN", kind="queja",
                                             name=f"{card.first_name} {card.last_name}", email=card.email,
                                             description=f"{card.first_name} {card.last_name} esperó una hora"))
    gesture_give(actor=actor, complaint=complaint, kind="coupon", value=Decimal(5), now=NOW - timedelta(days=2))
    exit_reason_keep(card.pk, "unsubscribe", "too_many", f"Escríbanme a {card.email} menos", NOW - timedelta(days=1))
    # Both cards invited to the same event (the survivor's invitation stands on a merge).
    from fideliza.events.models import Event
    from fideliza.events.models import Invitation as EventInvitation

    event = Event.objects.filter(title="Jornada").first() or Event.objects.create(
        title="Jornada", starts_at=NOW + timedelta(days=10), ends_at=NOW + timedelta(days=10, hours=2),
        place="Tienda", status="published")
    EventInvitation.objects.create(event=event, customer=card, invited_at=NOW - timedelta(days=3),
                              response="yes" if tag == "a" else "no", responded_at=NOW - timedelta(days=2))
    # A survey answered by the card (a detractor: a follow-up too), with a comment that quotes
    # the person, and a testimonial.
    survey = Survey.objects.filter(name="Opinión").first() or survey_from_template(
        actor=actor, template="nps", name="Opinión")
    survey_attach(source=f"tests:{tag}", survey=survey)
    survey_content(source=f"tests:{tag}", customer_ids=[card.pk], now=NOW)
    response = response_for_invitation(invitation=Invitation.objects.get(source=f"tests:{tag}"), now=NOW)
    score, why, _best = survey.questions.order_by("position")
    response_answer(response=response, finish=True, now=NOW, answers={
        score.pk: "3", why.pk: f"Soy {card.first_name} {card.last_name}, escríbanme a {card.email}"})
    record_testimonial(customer=card, text=f"{card.first_name} {card.last_name} recomienda la tienda",
                       consent=True, consent_where="web")


@pytest.fixture
def person(owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    from fideliza.loyalty import models as loyalty_models

    actor = Actor.of(owner)
    a = customer_create(actor=actor, data={
        "first_name": "Wenceslao", "last_name": "Olabarrieta", "email": "wence.ola@correo-privado.es",
        "phone": "677112233", "tax_id": "44556677K", "address": "Calle del Olmo 9",
        "acquisition_date": date(2020, 1, 1)}, source="tpv", external_id="C000001", interests=["pesca"])
    b = customer_create(actor=actor, data={
        "first_name": "WENCESLAO", "last_name": "OLABARRIETA", "email": "wenceslao.viejo@antiguo.es",
        "acquisition_date": date(2022, 1, 1)}, source="web", external_id="1007", interests=["caza"])
    referrer = customer_create(actor=actor, data={"first_name": "Rosa", "last_name": "Amiga"})
    program = Program.objects.create(name="Club", point_value=Decimal("0.01"), join_points=50, expiry_days=365)
    loyalty_models.EarningRule.objects.create(program=program, name="Base", kind="per_amount", points=1)
    segment = Segment.objects.create(name="Todos", kind=SegmentKind.STATIC, member_count=2)
    campaign = Campaign.objects.create(name="Verano", segment=segment, channels=["email"])
    automations = (_automation("Bienvenida"), _automation("Puntos"), _automation("Recuperación"))
    thanks = _automation("Gracias")
    run = SnapshotRun.objects.create(status="succeeded", as_of=NOW.date())
    referrer_member = member_enroll(program=program, customer=referrer, actor=actor)
    for tag, card in (("a", a), ("b", b)):
        _rows_everywhere(actor, card, tag=tag, program=program, segment=segment, campaign=campaign,
                         automations=automations, run=run, other=b if card is a else a)
        referral = Referral.objects.create(program=program, referrer=referrer_member, referred=card,
                                           first_contact_at=NOW - timedelta(days=40))
        _enroll(thanks, referrer, f"referral:{referral.pk}", days_ago=1 if tag == "a" else 20,
                state="active" if tag == "a" else "completed", context={"friend": card.first_name})
    Affiliate.objects.create(name="Wenceslao Olabarrieta", email="wence.ola@correo-privado.es", customer=b,
                             code="WENCE", commission_value=Decimal(5))
    DataSubjectRequest.objects.create(customer=b, kind="access", received_at=NOW - timedelta(days=1),
                                      due_date=date(2026, 7, 15),
                                      details="Pide copia de sus datos a wenceslao.viejo@antiguo.es")
    MatchCandidate.objects.create(customer_a=a, customer_b=b, score=0.99, reasons="mismo NIF")
    return actor, a, b


def _counts(card):
    return {f"{m._meta.label}.{f.name}": m._default_manager.filter(**{f.name: card}).count()
            for m, f in customer_keys()}


def test_the_fixture_fills_every_table(person):
    _actor, a, b = person
    empty = [k for k, n in _counts(a).items() if n == 0 and _counts(b)[k] == 0]
    # Only tables whose rows a card cannot have before being merged or erased.
    assert set(empty) <= {"customers.Customer.merged_into", "customers.CustomerMerge.survivor",
                          "customers.CustomerMerge.duplicate", "customers.ErasureRecord.customer"}


@time_machine.travel(NOW, tick=False)
def test_merge_follows_every_policy_and_undo_restores_both_cards(person):
    actor, a, b = person
    before = (customer_export_data(a), customer_export_data(b))
    campaign_before = list(CampaignRecipient.objects.values("campaign").annotate(n=Count("pk")))
    points_before = Member.objects.aggregate(s=Sum("points_balance"))["s"]

    merge = customer_merge(actor=actor, survivor=a, duplicate=b)

    a.refresh_from_db()
    assert (a.first_name, a.last_name) == ("Wenceslao", "Olabarrieta")
    for model in (Order, Message, DeliveryEvent, ContactDecision, Coupon, CouponRedemption, Affiliate,
                  DataSubjectRequest, Interaction, FollowUp, Document):
        assert not model.objects.filter(customer=b).exists(), model
    assert a.source_ids.count() == 2 and a.consents.count() == 2
    # The same contact person on both cards is folded into the survivor's (their consent
    # history with it); the duplicate's row stays behind, inactive. One primary contact.
    assert list(Contact.objects.filter(customer=a, is_active=True).order_by("pk").values_list("name", flat=True)) \
        == ["Wenceslao Olabarrieta", "Eustaquio Berganza"]
    assert Contact.objects.filter(customer=a, is_primary=True).count() == 1
    folded = Contact.objects.get(customer=b)
    assert not folded.is_active and not folded.consents.exists()
    assert ContactConsentRecord.objects.filter(contact__customer=a, channel="email").count() == 2
    # One membership with both balances (50 welcome points each, plus 40 and 15 earned by
    # their orders); the second card's referral stays with it.
    assert Member.objects.get(customer=a).points_balance == 155
    assert Member.objects.aggregate(s=Sum("points_balance"))["s"] == points_before
    assert Referral.objects.filter(referred=a).count() == 1 and Referral.objects.filter(referred=b).count() == 1
    # The opt-out on either card wins; the survivor's own budget stands.
    assert not TopicPreference.objects.get(customer=a).subscribed
    assert ContactBudget.objects.get(customer=a).max_messages == 2
    # Campaign figures do not change: each recipient row stays with its card.
    assert list(CampaignRecipient.objects.values("campaign").annotate(n=Count("pk"))) == campaign_before
    # Enrolments: at most one running per automation; the one enrolled first goes on.
    running = (Enrollment.objects.filter(state="active").values("automation", "customer")
               .annotate(n=Count("pk")).filter(n__gt=1))
    assert list(running) == []
    welcome, expiring, winback = Automation.objects.filter(name__in=["Bienvenida", "Puntos", "Recuperación"]
                                                           ).order_by("pk")
    dup_welcome = Enrollment.objects.get(automation=welcome, trigger_key="first_purchase", customer=b)
    assert (dup_welcome.state, dup_welcome.stop_reason) == ("stopped", FOLDED)  # same occurrence: stays behind
    kept = Enrollment.objects.get(automation=expiring, customer=a, state="active")
    assert kept.trigger_key == "expiry:2026-07-02"  # b's, enrolled two days earlier, moved over
    assert Enrollment.objects.get(automation=expiring, trigger_key="expiry:2026-07-01").stop_reason == FOLDED
    assert Enrollment.objects.filter(automation=winback, customer=a).count() == 2  # history moves

    contacts_before_undo = list(Contact.objects.order_by("pk").values_list("pk", flat=True))

    customer_merge_undo(actor=actor, merge=merge)
    assert list(Contact.objects.order_by("pk").values_list("pk", flat=True)) == contacts_before_undo
    folded.refresh_from_db()
    assert folded.is_active and folded.is_primary and folded.consents.count() == 1
    assert Contact.objects.filter(customer=a).count() == 2 and ContactConsentRecord.objects.filter(
        contact__customer=a).count() == 2
    after = (customer_export_data(Customer.objects.get(pk=a.pk)), customer_export_data(Customer.objects.get(pk=b.pk)))
    # The ledger only grows (transfers); what each card holds is back exactly.
    assert export_held(after[0]) == export_held(before[0])
    assert export_held(after[1]) == export_held(before[1])


@time_machine.travel(NOW, tick=False)
def test_steps_run_on_the_merged_card_after_the_merge(person):
    from fideliza.automations.services import automations_run

    actor, a, b = person
    customer_merge(actor=actor, survivor=a, duplicate=b)
    automations_run(now=NOW + timedelta(hours=2))
    # One run per automation for the surviving card: nothing folded was sent.
    sent = StepRun.objects.filter(enrollment__customer=a).values("automation").annotate(n=Count("pk"))
    assert all(row["n"] == 1 for row in sent)
    assert not StepRun.objects.filter(enrollment__customer=b).exists()


def _dump() -> str:
    out = io.StringIO()
    call_command("dumpdata", "--natural-foreign", stdout=out, exclude=["contenttypes", "auth.permission"])
    return out.getvalue()


@time_machine.travel(NOW, tick=False)
def test_erasure_of_a_merged_card_leaves_no_personal_data_in_any_table(person):
    actor, a, b = person
    customer_merge(actor=actor, survivor=a, duplicate=b)
    assert all(s.lower() in _dump().lower() for s in SECRETS)  # the check below is not vacuous
    totals = (Order.objects.aggregate(t=Sum("total"))["t"], Member.objects.aggregate(s=Sum("points_balance"))["s"],
              CampaignRecipient.objects.count())
    record = customer_erase(actor=actor, customer=a)
    dump = _dump().lower()
    assert [s for s in SECRETS if s.lower() in dump] == []
    assert (Order.objects.aggregate(t=Sum("total"))["t"], Member.objects.aggregate(s=Sum("points_balance"))["s"],
            CampaignRecipient.objects.count()) == totals
    assert not Enrollment.objects.filter(customer__in=[a, b], state="active").exists()
    assert set(Enrollment.objects.filter(trigger_key__startswith="referral:").values_list("context__friend", flat=True)
               ) == {"[suprimido]"}
    assert not Affiliate.objects.get(code="WENCE").is_active
    assert not SegmentMember.objects.filter(customer__in=[a, b]).exists()
    assert not MatchCandidate.objects.exists()
    # The log keeps that the people were called (2 calls), not what was said; nobody is
    # asked to call an erased person any more.
    assert Interaction.objects.filter(customer=a, text="", contact_name="").count() == 2
    assert set(FollowUp.objects.values_list("status", "title")) == {("cancelled", "[suprimido]")}
    assert not Document.objects.exists()  # the person's papers go
    assert record.summary["cards"] == 2
    # The contact persons stay as anonymous, inactive rows (interactions keep naming them);
    # their consent proof keeps channel, status and date.
    assert set(Contact.objects.values_list("name", "is_active", "is_primary")) == {("[suprimido]", False, False)}
    assert not ContactConsentRecord.objects.exclude(ip_address=None).exists()
    assert ContactConsentRecord.objects.count() == 3
