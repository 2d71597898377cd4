"""REST API of surveys (read-only): the surveys, a survey's figures, and its responses.

Visibility as everywhere: a sales representative reads the responses (and the figures) of
the customers assigned to them only; anonymous responses are never shown to one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from fideliza.accounts.auth import request_user
from fideliza.api_support import (
    CURSOR_DOC,
    DEFAULT_LIMIT,
    ERRORS_READ,
    MAX_LIMIT,
    DbId,
    SortKey,
    api_validation_error,
    cursor_pattern,
    paginate,
    sort_key,
)

from .models import Answer, QuestionKind, Response, ResponseChannel, Survey, SurveyStatus
from .selectors import Scores, responses_visible_to, survey_results, surveys_all

router = Router(tags=["surveys"])

SURVEY_SORTS = (SortKey.on("id", "id"), SortKey.on("-id", "id", descending=True))
RESPONSE_SORTS = (
    SortKey.on("started_at", "started_at", kind="datetime"),
    SortKey.on("-started_at", "started_at", descending=True, kind="datetime"),
    SortKey.on("id", "id"),
)


class QuestionOut(Schema):
    id: int
    position: int
    kind: QuestionKind
    text: str
    choices: list[str]
    required: bool
    show_if: int | None = Field(description="Shown only when this question's answer is at most `show_if_max`")
    show_if_max: int | None

    @staticmethod
    def resolve_show_if(obj: Any) -> int | None:
        return obj.show_if_id


class SurveyOut(Schema):
    id: int
    name: str
    status: SurveyStatus
    is_anonymous: bool
    link_valid_days: int
    reminder_days: int | None
    created_at: datetime
    questions: list[QuestionOut]

    @staticmethod
    def resolve_questions(obj: Survey) -> list[Any]:
        return list(obj.questions.all())


class SurveyPage(Schema):
    items: list[SurveyOut]
    next: str | None = Field(description="Cursor of the next page; null on the last page")


class SurveyFilters(Schema):
    status: SurveyStatus | None = None
    sort: Literal["id", "-id"] = "-id"
    cursor: str | None = Field(None, pattern=cursor_pattern(SURVEY_SORTS), description=CURSOR_DOC)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class ScoresOut(Schema):
    nps: float | None = Field(description="% promoters − % detractors, −100 … 100; null without NPS answers")
    nps_margin: float | None = Field(description="± points at 95 % (normal approximation); null below 2 answers")
    promoters: int
    passives: int
    detractors: int
    csat: float | None = Field(description="% of 4–5 answers to 1–5 CSAT questions")
    csat_answers: int
    ces: float | None = Field(description="Mean of 1–7 CES answers")
    ces_answers: int
    started: int
    finished: int


class MonthOut(ScoresOut):
    month: date


class ResultsOut(Schema):
    survey_id: int
    total: ScoresOut
    invited: int
    response_rate: float | None = Field(description="% of invitations answered to the end")
    trend: list[MonthOut]


class ResultsFilters(Schema):
    start: date | None = Field(None, description="First business day of the period (responses started)")
    end: date | None = Field(None, description="Last business day of the period")


class AnswerOut(Schema):
    question_id: int
    number: int | None
    text: str
    options: list[str]


class ResponseOut(Schema):
    id: int
    survey_id: int
    customer_id: int | None = Field(description="null in an anonymous survey")
    channel: ResponseChannel
    started_at: datetime
    finished_at: datetime | None
    nps: int | None
    csat: int | None
    ces: int | None
    answers: list[AnswerOut]

    @staticmethod
    def resolve_answers(obj: Response) -> list[Answer]:
        return list(obj.answers.all())


class ResponsePage(Schema):
    items: list[ResponseOut]
    next: str | None = Field(description="Cursor of the next page; null on the last page")


class ResponseFilters(Schema):
    customer: DbId | None = None
    finished: bool | None = Field(None, description="true: finished only; false: partial only")
    sort: Literal["started_at", "-started_at", "id"] = "-started_at"
    cursor: str | None = Field(None, pattern=cursor_pattern(RESPONSE_SORTS), description=CURSOR_DOC)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


def _scores(scores: Scores) -> dict[str, Any]:
    nps = scores.nps
    return {"nps": nps.score if nps else None, "nps_margin": nps.margin if nps else None,
            "promoters": nps.promoters if nps else 0, "passives": nps.passives if nps else 0,
            "detractors": nps.detractors if nps else 0, "csat": scores.csat, "csat_answers": scores.csat_answers,
            "ces": scores.ces, "ces_answers": scores.ces_answers, "started": scores.started,
            "finished": scores.finished}


@router.get("", response={200: SurveyPage, **ERRORS_READ}, url_name="survey_list")
def list_surveys(request: HttpRequest, filters: Query[SurveyFilters]) -> dict[str, Any]:
    """The surveys with their questions, in cursor pages."""
    qs = surveys_all().prefetch_related("questions")
    if filters.status:
        qs = qs.filter(status=filters.status.value)
    return paginate(qs, sort=sort_key(SURVEY_SORTS, filters.sort), sorts=SURVEY_SORTS, cursor=filters.cursor,
                    limit=filters.limit)


@router.get("/{int:survey_id}/results", response={200: ResultsOut, **ERRORS_READ}, url_name="survey_results")
def get_results(request: HttpRequest, survey_id: DbId, filters: Query[ResultsFilters]) -> dict[str, Any]:
    """NPS (with its margin), CSAT, CES, response rate and the month trend of the responses
    the caller may see."""
    survey = get_object_or_404(surveys_all(), pk=survey_id)
    if filters.start and filters.end and filters.start > filters.end:
        raise api_validation_error([(("query", "end"), _("La fecha final es anterior a la inicial."), "range")])
    results = survey_results(survey=survey, user=request_user(request), start=filters.start, end=filters.end)
    return {"survey_id": survey.pk, "total": _scores(results.scores), "invited": results.invited,
            "response_rate": results.rate,
            "trend": [{"month": month, **_scores(scores)} for month, scores in results.trend]}


@router.get("/{int:survey_id}/responses", response={200: ResponsePage, **ERRORS_READ}, url_name="survey_responses")
def list_responses(request: HttpRequest, survey_id: DbId, filters: Query[ResponseFilters]) -> dict[str, Any]:
    """The responses the caller may see, with their answers, in cursor pages."""
    survey = get_object_or_404(surveys_all(), pk=survey_id)
    qs = responses_visible_to(request_user(request)).filter(survey=survey).prefetch_related("answers")
    if filters.customer is not None:
        qs = qs.filter(customer_id=filters.customer)
    if filters.finished is not None:
        qs = qs.filter(finished_at__isnull=not filters.finished)
    return paginate(qs, sort=sort_key(RESPONSE_SORTS, filters.sort), sorts=RESPONSE_SORTS, cursor=filters.cursor,
                    limit=filters.limit)
