"""What other apps read from surveys: segment rules (NPS category, last satisfaction,
answered survey X), the dashboard's NPS and CSAT cards, and the card's answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Q

from fideliza.accounts.services import Actor
from fideliza.customers.models import Customer
from fideliza.insights.feedback import satisfaction_cards
from fideliza.segments.rules import compile_rules
from fideliza.surveys.models import Invitation
from fideliza.surveys.services import (
    response_answer,
    response_for_invitation,
    survey_attach,
    survey_content,
    survey_from_template,
)

from .conftest import NOW

pytestmark = pytest.mark.django_db


def _answer(survey, customer, answers_by_position: dict[int, str], *, at=NOW) -> None:
    source = f"tests:{survey.pk}:{customer.pk}:{at.timestamp()}"
    survey_attach(source=source, survey=survey)
    survey_content(source=source, customer_ids=[customer.pk], now=at)
    invitation = Invitation.objects.get(source=source)
    response = response_for_invitation(invitation=invitation, now=at)
    questions = {q.position: q.pk for q in survey.questions.all()}
    response_answer(response=response, finish=True, now=at,
                    answers={questions[p]: v for p, v in answers_by_position.items()})


def _members(rules: dict) -> set[str]:
    q: Q = compile_rules(rules)
    return set(Customer.objects.filter(q).values_list("first_name", flat=True))


def test_segment_rules_on_nps_category_satisfaction_and_answered(owner, shop):
    lucia, tomas, elena = shop["customers"]
    nps = survey_from_template(actor=Actor.of(owner), template="nps")
    csat = survey_from_template(actor=Actor.of(owner), template="csat_purchase")
    _answer(nps, lucia, {1: "10"}, at=NOW - timedelta(days=30))
    _answer(nps, lucia, {1: "4"})  # the latest answer decides: now a detractor
    _answer(nps, tomas, {1: "9"})
    _answer(csat, elena, {1: "2"})
    _answer(csat, tomas, {1: "5"})
    rule = {"op": "and", "rules": [{"field": "nps_category", "cmp": "eq", "value": "detractor"}]}
    assert _members(rule) == {"Lucía"}
    rule["rules"][0] = {"field": "nps_category", "cmp": "in", "value": ["promoter", "passive"]}
    assert _members(rule) == {"Tomás"}
    rule["rules"][0] = {"field": "nps_category", "cmp": "ne", "value": "promoter"}
    assert _members(rule) == {"Lucía"}  # Elena gave no NPS answer: in no band
    rule["rules"][0] = {"field": "last_satisfaction", "cmp": "lte", "value": 2}
    assert _members(rule) == {"Elena"}
    rule["rules"][0] = {"field": "responded_survey", "cmp": "is_true", "value": str(csat.pk)}
    assert _members(rule) == {"Elena", "Tomás"}
    rule["rules"][0] = {"field": "responded_survey", "cmp": "is_false", "value": str(csat.pk)}
    assert _members(rule) == {"Lucía"}


def test_dashboard_cards_read_the_answers(owner, rep, shop):
    lucia, tomas, elena = shop["customers"]
    survey = survey_from_template(actor=Actor.of(owner), template="seed")
    for customer, score in ((lucia, "10"), (tomas, "9"), (elena, "2")):
        _answer(survey, customer, {4: score})
    cards = {c["id"]: c for c in satisfaction_cards(owner) or []}
    assert cards["nps"]["value"] == "+33"
    assert "95 %" in cards["nps"]["note"] and "3 respuestas" in cards["nps"]["note"]
    assert cards["csat"]["value"] == "—"


def test_dashboard_cards_without_answers_say_so(owner, shop):
    cards = {c["id"]: c for c in satisfaction_cards(owner) or []}
    assert cards["nps"]["value"] == "—" and "sin respuestas" in cards["nps"]["note"]


def test_till_link_answers_count_for_their_store(owner, shop, nps_survey):
    from django.test import Client
    from django.urls import reverse

    from fideliza.surveys import selectors
    from fideliza.surveys.services import survey_save
    from tests.factories.sales import store_make

    store_make("CEN", "Tienda Centro")
    survey_save(actor=Actor.of(owner), survey=nps_survey, public_enabled=True)
    url = reverse("surveys_public:public", args=[nps_survey.public_token])
    score = nps_survey.questions.get(position=1)
    assert Client().post(f"{url}?tienda=CEN", {f"q{score.pk}": "10"}).status_code == 200
    assert Client().post(f"{url}?tienda=NO-EXISTE", {f"q{score.pk}": "2"}).status_code == 200
    results = selectors.survey_results(survey=nps_survey, user=owner)
    by_store = {name: s.started for name, s in results.by_store}
    assert by_store == {"Tienda Centro": 1, "—": 1}
