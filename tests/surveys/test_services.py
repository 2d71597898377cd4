"""Surveys through a campaign: invitations, signed links, answers, the detractor's
follow-up, survey points once, the promoter's invitation, reminders, testimonials."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from fideliza.accounts.services import Actor
from fideliza.campaigns.services import MessageContent, campaign_create, campaign_launch
from fideliza.engagement.models import Message
from fideliza.followups.models import FollowUp, FollowUpOrigin
from fideliza.loyalty.models import CauseType, LedgerEntry, Member
from fideliza.surveys import selectors
from fideliza.surveys.models import Invitation, QuestionKind, Response, Survey
from fideliza.surveys.services import (
    LinkClosed,
    add_business_days,
    invitation_for_token,
    link_token,
    question_save,
    reminders_send,
    response_answer,
    response_for_invitation,
    survey_attach,
    survey_from_template,
    survey_save,
)
from fideliza.surveys.services import testimonial_record as record_testimonial
from fideliza.surveys.services import testimonial_revoke as revoke_testimonial

from .conftest import NOW, SURVEY_POINTS

pytestmark = pytest.mark.django_db

EMAIL = MessageContent(subject="Su opinión, {{ nombre }}", body_text="Hola {{ nombre }}.\nBaja: %%unsubscribe_url%%",
                       body_html="<html><body><p>Hola {{ nombre }}</p></body></html>")


def _launch(owner, segment, survey) -> list[Message]:
    campaign = campaign_create(user=owner, name="Encuesta NPS", segment=segment, channels=["email"],
                               messages={"email": EMAIL}, holdout_share=Decimal(0), survey=survey)
    campaign_launch(campaign, now=NOW)
    return list(Message.objects.filter(source=f"campaign:{campaign.pk}").order_by("customer_id"))


def _token(message: Message) -> str:
    match = re.search(r"/e/([^/?\"]+)/", message.body_text)
    assert match, message.body_text
    return match.group(1)


def test_templates_build_the_seed_questionnaire_and_conditions(owner, clock):
    seed = survey_from_template(actor=Actor.of(owner), template="seed")
    texts = list(seed.questions.order_by("position").values_list("text", flat=True))
    assert texts[:3] == ["¿Recordás por qué nos elegiste?", "¿Qué hacemos mejor?", "¿Dónde fallamos?"]
    assert texts[3].startswith("¿Nos recomendarías")
    nps = survey_from_template(actor=Actor.of(owner), template="nps")
    follow = nps.questions.get(position=2)
    assert follow.show_if is not None and follow.show_if.kind == QuestionKind.NPS and follow.show_if_max == 8
    for key in ("csat_purchase", "csat_complaint"):
        assert survey_from_template(actor=Actor.of(owner), template=key).questions.filter(kind="csat").exists()


def test_builder_rejects_bad_questions_in_spanish(owner, nps_survey):
    with pytest.raises(ValidationError) as exc:
        question_save(survey=nps_survey, kind="single", text="¿Dónde nos conoció?", choices=["Radio"])
    assert "al menos dos opciones" in str(exc.value)
    text_q = nps_survey.questions.get(position=3)
    with pytest.raises(ValidationError) as exc:
        question_save(survey=nps_survey, kind="text", text="¿Por qué?", show_if=text_q, show_if_max=3)
    assert "puntuación" in str(exc.value)


def test_campaign_sends_personal_links_with_the_scale(owner, shop, nps_survey):
    messages = _launch(owner, shop["segment"], nps_survey)
    assert len(messages) == 3
    assert Invitation.objects.filter(survey=nps_survey).count() == 3
    body = messages[0].body_html
    for n in range(11):
        assert f"?nota={n}" in body
    assert nps_survey.questions.get(position=1).text in body
    tokens = {_token(m) for m in messages}
    assert len(tokens) == 3


def test_a_forged_or_damaged_link_finds_nothing(owner, shop, nps_survey):
    token = _token(_launch(owner, shop["segment"], nps_survey)[0])
    nonce, _sep, signature = token.partition(":")
    assert invitation_for_token(token) is not None
    assert invitation_for_token(f"{nonce}:{signature[:-1]}x") is None
    assert invitation_for_token(link_token("otro-nonce-inventado")) is None  # well signed, unknown
    assert invitation_for_token(nonce) is None


def test_detractor_creates_a_followup_and_points_are_given_once(owner, rep, shop, nps_survey, program):
    message = _launch(owner, shop["segment"], nps_survey)[0]
    invitation = invitation_for_token(_token(message))
    assert invitation is not None
    customer = invitation.customer
    response = response_for_invitation(invitation=invitation, now=NOW)
    nps_q, why_q, _best_q = nps_survey.questions.order_by("position")
    outcome = response_answer(response=response, answers={nps_q.pk: "3"}, finish=False, now=NOW)
    followup = FollowUp.objects.get(pk=outcome.followup_id)
    assert followup.customer == customer and followup.assignee == rep
    assert followup.origin_kind == FollowUpOrigin.SURVEY and followup.origin_id == response.pk
    assert followup.due_at.date() == date(2026, 6, 17)  # two business days after Monday
    # The partial answer resumes: the same response, with the score kept.
    again = response_for_invitation(invitation=invitation, now=NOW + timedelta(minutes=5))
    assert again.pk == response.pk and again.nps == 3
    done = response_answer(response=again, answers={why_q.pk: "La entrega llegó tarde"}, finish=True,
                           now=NOW + timedelta(minutes=6))
    assert done.points == SURVEY_POINTS and done.followup_id == followup.pk
    followup.refresh_from_db()
    assert "La entrega llegó tarde" in followup.notes
    assert FollowUp.objects.filter(origin_kind="survey").count() == 1
    member = Member.objects.get(customer=customer)
    assert LedgerEntry.objects.filter(member=member, cause_type=CauseType.SURVEY).count() == 1
    # A finished link is closed: it neither opens nor answers again.
    with pytest.raises(LinkClosed) as exc:
        response_for_invitation(invitation=invitation, now=NOW + timedelta(minutes=7))
    assert exc.value.reason == "finished"
    with pytest.raises(LinkClosed):
        response_answer(response=again, answers={nps_q.pk: "10"}, finish=True, now=NOW + timedelta(minutes=7))
    # A second invitation to the same survey: answered again, but no second bonus.
    second = Invitation.objects.create(survey=nps_survey, customer=customer, nonce="segunda", source="manual",
                                       created_at=NOW, expires_at=NOW + timedelta(days=3))
    r2 = response_for_invitation(invitation=second, now=NOW + timedelta(hours=1))
    assert response_answer(response=r2, answers={nps_q.pk: "9"}, finish=True,
                           now=NOW + timedelta(hours=1)).points == 0
    assert LedgerEntry.objects.filter(member=member, cause_type=CauseType.SURVEY).count() == 1


def test_expired_link_is_closed(owner, shop, nps_survey):
    invitation = invitation_for_token(_token(_launch(owner, shop["segment"], nps_survey)[0]))
    assert invitation is not None
    with pytest.raises(LinkClosed) as exc:
        response_for_invitation(invitation=invitation, now=NOW + timedelta(days=nps_survey.link_valid_days))
    assert exc.value.reason == "expired"


def test_required_and_conditional_questions(owner, shop, nps_survey):
    invitation = invitation_for_token(_token(_launch(owner, shop["segment"], nps_survey)[0]))
    assert invitation is not None
    response = response_for_invitation(invitation=invitation, now=NOW)
    nps_q, why_q, best_q = nps_survey.questions.order_by("position")
    with pytest.raises(ValidationError) as exc:
        response_answer(response=response, answers={best_q.pk: "Todo"}, finish=True, now=NOW)
    assert f"q{nps_q.pk}" in exc.value.message_dict
    with pytest.raises(ValidationError):
        response_answer(response=response, answers={nps_q.pk: "11"}, finish=False, now=NOW)
    # A 10 hides "¿Qué deberíamos mejorar?": its answer is not kept.
    response_answer(response=response, answers={nps_q.pk: "10", why_q.pk: "nada", best_q.pk: "El trato"},
                    finish=True, now=NOW)
    response.refresh_from_db()
    assert set(response.answers.values_list("question_id", flat=True)) == {nps_q.pk, best_q.pk}
    assert response.verbatim == "El trato" and response.followup_id is None


def test_skipped_recipients_get_no_invitation(owner, shop, nps_survey):
    from fideliza.customers.services import consent_record

    consent_record(customer=shop["customers"][0], channel="email", granted=False, source="tests",
                   at=NOW - timedelta(days=1))
    assert len(_launch(owner, shop["segment"], nps_survey)) == 2
    assert Invitation.objects.filter(survey=nps_survey).count() == 2


def test_promoter_receives_the_referral_code_and_testimonial_request(owner, shop, nps_survey):
    survey_save(actor=Actor.of(owner), survey=nps_survey, promoter_referral=True)
    invitation = invitation_for_token(_token(_launch(owner, shop["segment"], nps_survey)[0]))
    assert invitation is not None and invitation.customer is not None
    response = response_for_invitation(invitation=invitation, now=NOW)
    nps_q = nps_survey.questions.get(position=1)
    response_answer(response=response, answers={nps_q.pk: "10"}, finish=True, now=NOW)
    code = Member.objects.get(customer=invitation.customer).referral_code
    thanks = Message.objects.get(source=f"survey:{nps_survey.pk}", customer=invitation.customer)
    assert code and code in thanks.body_text
    assert "/e/t/" in thanks.body_text


def test_reminder_goes_once_to_those_who_did_not_answer(owner, shop, nps_survey, clock):
    survey_save(actor=Actor.of(owner), survey=nps_survey, reminder_days=3)
    messages = _launch(owner, shop["segment"], nps_survey)
    answered = invitation_for_token(_token(messages[0]))
    assert answered is not None
    response = response_for_invitation(invitation=answered, now=NOW)
    response_answer(response=response, answers={nps_survey.questions.get(position=1).pk: "8"}, finish=True, now=NOW)
    assert reminders_send(now=NOW + timedelta(days=2)) == 0
    later = NOW + timedelta(days=3, hours=1)
    assert reminders_send(now=later) == 2
    assert reminders_send(now=later + timedelta(days=1)) == 0
    reminders = Message.objects.filter(source=f"survey:{nps_survey.pk}:reminder")
    assert reminders.count() == 2 and answered.customer_id not in {m.customer_id for m in reminders}


def test_results_and_the_nps_selector(owner, rep, shop, nps_survey):
    messages = _launch(owner, shop["segment"], nps_survey)
    nps_q = nps_survey.questions.get(position=1)
    for message, score in zip(messages, ("10", "3", "8"), strict=True):
        invitation = invitation_for_token(_token(message))
        assert invitation is not None
        response = response_for_invitation(invitation=invitation, now=NOW)
        response_answer(response=response, answers={nps_q.pk: score}, finish=True, now=NOW)
    results = selectors.survey_results(survey=nps_survey, user=owner)
    assert results.scores.nps is not None and results.scores.nps.score == pytest.approx(0.0)
    assert results.invited == 3 and results.rate == pytest.approx(100.0)
    assert [m for m, _s in results.trend] == [date(2026, 6, 1)]
    day = NOW.date()
    whole = selectors.nps(day, day)
    assert whole is not None and whole.answers == 3
    assert selectors.nps(day, day, rep=rep) == whole
    assert selectors.nps(day - timedelta(days=10), day - timedelta(days=1)) is None


def test_testimonial_consent_and_revocation(owner, shop, clock):
    customer = shop["customers"][0]
    with pytest.raises(ValidationError) as exc:
        record_testimonial(customer=customer, text="Muy buen trato", consent=True)
    assert "consent_where" in exc.value.message_dict
    row = record_testimonial(customer=customer, text="Muy buen trato", consent=True, consent_where="web",
                             consent_until=date(2027, 1, 1))
    assert list(selectors.testimonials_published()) == [row]
    assert not selectors.testimonials_published(today=date(2027, 1, 2)).exists()
    revoke_testimonial(testimonial=row)
    assert not selectors.testimonials_published().exists()


def test_business_days_skip_weekends():
    assert add_business_days(date(2026, 6, 12), 1) == date(2026, 6, 15)  # Friday → Monday
    assert add_business_days(date(2026, 6, 15), 5) == date(2026, 6, 22)
    assert add_business_days(date(2026, 6, 13), 0) == date(2026, 6, 13)


def test_attach_refuses_a_closed_survey(owner, nps_survey):
    survey_save(actor=Actor.of(owner), survey=nps_survey, status="closed")
    with pytest.raises(ValidationError):
        survey_attach(source="campaign:999", survey=nps_survey)


def test_anonymous_surveys_cannot_be_made_named_after_answers(owner, shop, nps_survey):
    survey_save(actor=Actor.of(owner), survey=nps_survey, is_anonymous=True)
    invitation = invitation_for_token(_token(_launch(owner, shop["segment"], nps_survey)[0]))
    assert invitation is not None
    response_answer(response=response_for_invitation(invitation=invitation, now=NOW),
                    answers={nps_survey.questions.get(position=1).pk: "5"}, finish=True, now=NOW)
    assert Response.objects.get().customer_id is None
    with pytest.raises(ValidationError):
        survey_save(actor=Actor.of(owner), survey=Survey.objects.get(pk=nps_survey.pk), is_anonymous=False)


def test_an_unknown_time_zone_free_due_date_is_a_business_moment(owner, shop, nps_survey):
    invitation = invitation_for_token(_token(_launch(owner, shop["segment"], nps_survey)[0]))
    assert invitation is not None
    friday = datetime(2026, 6, 19, 17, 0, tzinfo=NOW.tzinfo)
    response = Response.objects.create(survey=nps_survey, invitation=invitation, customer=invitation.customer,
                                       channel="link", started_at=friday)
    outcome = response_answer(response=response, answers={nps_survey.questions.get(position=1).pk: "0"},
                              finish=False, now=friday)
    due = FollowUp.objects.get(pk=outcome.followup_id).due_at.astimezone(NOW.tzinfo)
    assert (due.date(), due.hour) == (date(2026, 6, 23), 18)  # Friday + 2 business days = Tuesday, 18:00


def test_an_automation_step_carries_the_survey(owner, shop, program):
    """A post-purchase journey whose first step sends the CSAT survey: the message has the
    personal link and the scale, through the same outbox as any step."""
    from fideliza.automations.services import automation_save, automations_run
    from tests.factories.sales import order_make

    survey = survey_from_template(actor=Actor.of(owner), template="csat_purchase")
    customer = shop["customers"][0]
    order_make(customer, placed_at=NOW - timedelta(days=3), total="40.00")
    automation = automation_save(
        actor=Actor.of(owner),
        data={"name": "Tras la compra", "trigger_kind": "post_purchase", "channels": ["email"],
              "trigger_params": {"days_after": 3, "lookback_days": 5}, "holdout_share": 0, "is_active": True},
        steps=[{"position": 1, "email_subject": "¿Qué tal su compra?", "email_text": "Hola {{ nombre }}",
                "email_html": "<html><body><p>Hola {{ nombre }}</p></body></html>", "survey": survey}],
        include_existing=True)
    automations_run(now=NOW)
    message = Message.objects.get(source=f"automation:{automation.pk}:step:1")
    assert message.customer_id == customer.pk
    assert "?nota=1" in message.body_html and "?nota=5" in message.body_html and "?nota=6" not in message.body_html
    invitation = invitation_for_token(_token(message))
    assert invitation is not None and invitation.customer_id == customer.pk
    assert invitation.source == f"automation:{automation.pk}:step:1"
    # Saving the steps again without a survey drops it; an API-style save without the key keeps it.
    automation_save(actor=Actor.of(owner), automation=automation, data={}, steps=[
        {"position": 1, "email_subject": "¿Qué tal?", "email_text": "Hola"}])
    assert selectors.survey_for_source(f"automation:{automation.pk}:step:1") == survey
    automation_save(actor=Actor.of(owner), automation=automation, data={}, steps=[
        {"position": 1, "email_subject": "¿Qué tal?", "email_text": "Hola", "survey": None}])
    assert selectors.survey_for_source(f"automation:{automation.pk}:step:1") is None


def test_an_unassigned_detractor_goes_to_the_owners_and_a_role_wins(owner, shop, nps_survey, django_user_model):
    from fideliza.customers.models import Customer

    customer = shop["customers"][0]
    Customer.objects.filter(pk=customer.pk).update(account_executive=None)
    invitation = invitation_for_token(_token(_launch(owner, shop["segment"], nps_survey)[0]))
    assert invitation is not None
    response = response_for_invitation(invitation=invitation, now=NOW)
    outcome = response_answer(response=response, answers={nps_survey.questions.get(position=1).pk: "1"},
                              finish=True, now=NOW)
    followup = FollowUp.objects.get(pk=outcome.followup_id)
    assert followup.assignee is None and followup.assignee_role == "owner"
    survey_save(actor=Actor.of(owner), survey=nps_survey, followup_role="support")
    second = Invitation.objects.create(survey=nps_survey, customer=shop["customers"][1], nonce="otra",
                                       source="manual", created_at=NOW, expires_at=NOW + timedelta(days=3))
    r2 = response_for_invitation(invitation=second, now=NOW)
    out2 = response_answer(response=r2, answers={nps_survey.questions.get(position=1).pk: "2"}, finish=True, now=NOW)
    assert FollowUp.objects.get(pk=out2.followup_id).assignee_role == "support"
