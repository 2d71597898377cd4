"""The surveys API (read-only): surveys with questions, figures, and responses filtered to
the caller's customers."""

from __future__ import annotations

import pytest

from fideliza.accounts.services import Actor, api_token_create
from fideliza.surveys.models import Invitation
from fideliza.surveys.services import (
    response_answer,
    response_for_invitation,
    survey_attach,
    survey_content,
)
from tests.api.conftest import ApiClient
from tests.factories.customers import customer_make

from .conftest import NOW

pytestmark = pytest.mark.django_db


def _api(user) -> ApiClient:
    _token, plain = api_token_create(user=user, name=f"api-{user.username}", created_by=user)
    return ApiClient(plain)


def test_results_and_responses_follow_the_callers_customers(owner, rep, shop, nps_survey):
    other = customer_make(actor=Actor.of(owner), first_name="Ajena", email="ajena@example.com")
    survey_attach(source="tests:api", survey=nps_survey)
    people = [*shop["customers"], other]
    survey_content(source="tests:api", customer_ids=[c.pk for c in people], now=NOW)
    score = nps_survey.questions.get(position=1)
    for customer, value in zip(people, ("10", "9", "3", "0"), strict=True):
        invitation = Invitation.objects.get(customer=customer)
        response_answer(response=response_for_invitation(invitation=invitation, now=NOW),
                        answers={score.pk: value}, finish=True, now=NOW)
    surveys = _api(rep).get("/api/v1/surveys").json()["items"]
    assert surveys[0]["id"] == nps_survey.pk and surveys[0]["questions"][1]["show_if"] == score.pk
    mine = _api(rep).get(f"/api/v1/surveys/{nps_survey.pk}/results").json()
    assert mine["total"]["nps"] == pytest.approx(100 * (2 - 1) / 3) and mine["invited"] == 3
    everyone = _api(owner).get(f"/api/v1/surveys/{nps_survey.pk}/results").json()
    assert everyone["total"]["nps"] == 0 and everyone["response_rate"] == 100
    assert everyone["trend"][0]["month"] == "2026-06-01"
    rows = _api(rep).get(f"/api/v1/surveys/{nps_survey.pk}/responses", {"limit": 2}).json()
    assert len(rows["items"]) == 2 and rows["next"]
    rest = _api(rep).get(f"/api/v1/surveys/{nps_survey.pk}/responses", {"cursor": rows["next"]}).json()
    ids = {r["customer_id"] for r in rows["items"] + rest["items"]}
    assert ids == {c.pk for c in shop["customers"]}
    assert _api(rep).get(f"/api/v1/surveys/{nps_survey.pk}/responses", {"customer": other.pk}).json()["items"] == []
    bad = _api(owner).get(f"/api/v1/surveys/{nps_survey.pk}/results", {"start": "2026-06-10", "end": "2026-06-01"})
    assert bad.status_code == 422
    assert _api(owner).get("/api/v1/surveys/999999/results").status_code == 404
