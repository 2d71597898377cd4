"""Reads of surveys: results (NPS, CSAT, CES, response rate, trend, breakdowns, verbatims),
a customer's answers, and the figures other apps show (dashboard, segment rules, goals).

Visibility: a sales representative sees the responses of their own customers only;
anonymous responses (no customer) are shown to the other roles. Every figure is computed in
the database (counts per band and month), then combined by `fideliza.analytics.feedback`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from fideliza.accounts.models import User
from fideliza.analytics.feedback import NpsResult, nps_from_counts, response_rate, word_frequencies
from fideliza.customers.selectors import customers_visible_to
from fideliza.followups.services import local_moment
from fideliza.sales.selectors import store_names

from .models import (
    Answer,
    Invitation,
    Question,
    Response,
    Survey,
    SurveySend,
    SurveyStatus,
    Testimonial,
)

VERBATIMS_SHOWN = 50


def surveys_all() -> QuerySet[Survey]:
    return Survey.objects.all()


def survey_questions(survey: Survey) -> list[Question]:
    return list(survey.questions.order_by("position").select_related("show_if"))


def responses_visible_to(user: User) -> QuerySet[Response]:
    """Responses of the customers `user` may see; anonymous ones for everyone but a
    representative. Those who see every customer get every response without a per-row
    check (a merged card's responses move to the card that stays)."""
    if not user.is_authenticated:
        return Response.objects.none()
    if user.sees_all_customers:
        return Response.objects.all()
    return Response.objects.filter(Exists(customers_visible_to(user).filter(pk=OuterRef("customer_id"))))


def _between(qs: QuerySet[Any], field: str, start: date | None, end: date | None) -> QuerySet[Any]:
    """Rows whose `field` falls on the business's days [start, end] (an index range, not a
    date conversion per row)."""
    if start is not None:
        qs = qs.filter(**{f"{field}__gte": local_moment(start, time(0))})
    if end is not None:
        qs = qs.filter(**{f"{field}__lt": local_moment(end + timedelta(days=1), time(0))})
    return qs


COUNTS = {
    "promoters": Count("pk", filter=Q(nps__gte=9)),
    "passives": Count("pk", filter=Q(nps__gte=7, nps__lte=8)),
    "detractors": Count("pk", filter=Q(nps__lte=6)),
    "csat_n": Count("csat"), "csat_top": Count("pk", filter=Q(csat__gte=4)),
    "ces_n": Count("ces"), "ces_sum": Sum("ces"),
    "finished": Count("pk", filter=Q(finished_at__isnull=False)), "started": Count("pk"),
}


def _bands(qs: QuerySet[Response]) -> dict[str, int]:
    return {k: v or 0 for k, v in qs.aggregate(**COUNTS).items()}


@dataclass
class Scores:
    nps: NpsResult | None
    csat: float | None
    csat_answers: int
    ces: float | None
    ces_answers: int
    started: int
    finished: int


def _scores(row: dict[str, Any]) -> Scores:
    return Scores(
        nps=nps_from_counts(row["promoters"], row["passives"], row["detractors"]),
        csat=100.0 * row["csat_top"] / row["csat_n"] if row["csat_n"] else None, csat_answers=row["csat_n"],
        ces=row["ces_sum"] / row["ces_n"] if row["ces_n"] else None, ces_answers=row["ces_n"],
        started=row["started"], finished=row["finished"])


@dataclass
class Results:
    survey: Survey
    scores: Scores
    invited: int
    rate: float | None
    trend: list[tuple[date, Scores]] = field(default_factory=list)
    by_store: list[tuple[str, Scores]] = field(default_factory=list)
    by_tier: list[tuple[str, Scores]] = field(default_factory=list)
    by_abc: list[tuple[str, Scores]] = field(default_factory=list)
    by_segment: list[tuple[str, Scores]] = field(default_factory=list)


def _add(into: dict[str, int], row: dict[str, Any]) -> None:
    for key in COUNTS:
        into[key] = into.get(key, 0) + (row[key] or 0)


def survey_results(*, survey: Survey, user: User, start: date | None = None, end: date | None = None,
                   segments: list[Any] | None = None) -> Results:
    """The survey's figures for the responses `user` may see, started on the business's
    days [start, end]: ONE grouped scan (month × store × tier × ABC class) gives the total,
    the trend and the breakdowns; each chosen segment is one more count."""
    qs = _between(responses_visible_to(user).filter(survey=survey), "started_at", start, end)
    total: dict[str, int] = dict.fromkeys(COUNTS, 0)
    groups: dict[str, dict[Any, dict[str, int]]] = {"month": {}, "store": {}, "tier": {}, "abc": {}}
    stores: dict[int, str] | None = None
    for row in qs.order_by().values("month", "store_id", "tier", "abc_class").annotate(**COUNTS):
        if row["store_id"] is not None and stores is None:
            stores = store_names()
        _add(total, row)
        for name, key in (("month", row["month"]), ("store", (stores or {}).get(row["store_id"], "—")),
                          ("tier", row["tier"] or "—"), ("abc", row["abc_class"] or "—")):
            _add(groups[name].setdefault(key, {}), row)
    invitations = _between(Invitation.objects.filter(survey=survey), "created_at", start, end)
    if user.is_sales_rep:
        invitations = invitations.filter(Exists(customers_visible_to(user).filter(pk=OuterRef("customer_id"))))
    counted = invitations.aggregate(invited=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)))
    results = Results(survey=survey, scores=_scores(total), invited=counted["invited"],
                      rate=response_rate(counted["answered"], counted["invited"]))
    results.trend = sorted(((m, _scores(r)) for m, r in groups["month"].items() if m is not None),
                           key=lambda t: t[0])
    results.by_store = sorted(((k, _scores(r)) for k, r in groups["store"].items()), key=lambda t: -t[1].started)
    results.by_tier = sorted(((k, _scores(r)) for k, r in groups["tier"].items()), key=lambda t: -t[1].started)
    results.by_abc = sorted(((k, _scores(r)) for k, r in groups["abc"].items()), key=lambda t: t[0])
    for segment in segments or []:
        from fideliza.segments.selectors import segment_customers

        members = qs.filter(customer_id__in=segment_customers(segment).values("pk"))
        results.by_segment.append((segment.name, _scores(_bands(members))))
    return results


def verbatims(*, survey: Survey, user: User, search: str = "", limit: int = VERBATIMS_SHOWN
              ) -> list[Response]:
    """The latest free-text comments, newest first; `search` finds words in them."""
    qs = responses_visible_to(user).filter(survey=survey).exclude(verbatim="")
    for word in search.split()[:5]:
        qs = qs.filter(verbatim__icontains=word)
    return list(qs.select_related("customer").order_by("-started_at", "-pk")[:limit])


def verbatim_words(*, survey: Survey, user: User, top: int = 30, sample: int = 5000) -> list[tuple[str, int]]:
    """The most used words of the latest `sample` comments."""
    texts = (responses_visible_to(user).filter(survey=survey).exclude(verbatim="")
             .order_by("-started_at").values_list("verbatim", flat=True)[:sample])
    return word_frequencies(texts, top=top)


def responses_for_export(*, survey: Survey, user: User) -> QuerySet[Response]:
    return (responses_visible_to(user).filter(survey=survey).select_related("customer", "store")
            .prefetch_related("answers").order_by("started_at", "pk"))


def customer_responses(*, customer_id: int, limit: int = 20) -> list[Response]:
    """A card's survey answers, newest first, with their answers and questions."""
    answers = Answer.objects.select_related("question").order_by("question__position")
    return list(Response.objects.filter(customer_id=customer_id).select_related("survey")
                .prefetch_related(Prefetch("answers", queryset=answers)).order_by("-started_at", "-pk")[:limit])


def testimonials_visible_to(user: User) -> QuerySet[Testimonial]:
    return Testimonial.objects.filter(Exists(customers_visible_to(user).filter(pk=OuterRef("customer_id"))))


def testimonials_published(*, today: date | None = None) -> QuerySet[Testimonial]:
    """What may be shown now: with consent, not revoked, within its date."""
    today = today or timezone.localdate()
    return (Testimonial.objects.filter(consent=True, revoked_at__isnull=True)
            .filter(Q(consent_until__isnull=True) | Q(consent_until__gte=today)))


def survey_for_source(source: str) -> Survey | None:
    row = SurveySend.objects.select_related("survey").filter(source=source).first()
    return row.survey if row is not None else None


def surveys_open() -> QuerySet[Survey]:
    return Survey.objects.filter(status=SurveyStatus.ACTIVE)


# --- for other apps -----------------------------------------------------------------------

def nps(period_start: date, period_end: date, store: Any = None, rep: User | None = None) -> NpsResult | None:
    """The NPS of every response started in [period_start, period_end] (business dates),
    optionally of one store (a Store or its id) and of one representative's customers;
    None when there is no NPS answer."""
    qs = _between(Response.objects.filter(nps__isnull=False), "started_at", period_start, period_end)
    if store is not None:
        qs = qs.filter(store_id=getattr(store, "pk", store))
    if rep is not None:
        qs = qs.filter(Exists(customers_visible_to(rep).filter(pk=OuterRef("customer_id"))))
    row = _bands(qs)
    return nps_from_counts(row["promoters"], row["passives"], row["detractors"])


def nps_bands(*, since: datetime, until: datetime, customers: QuerySet[Any] | None = None) -> tuple[int, int, int]:
    """(promoters, passives, detractors) of the NPS answers started in [since, until), of
    `customers` (a query of customers) when given: a retention goal's NPS."""
    qs = Response.objects.filter(nps__isnull=False, started_at__gte=since, started_at__lt=until)
    if customers is not None:
        qs = qs.filter(customer__in=customers.values("pk"))
    row = _bands(qs)
    return row["promoters"], row["passives"], row["detractors"]


def satisfaction_figures(*, user: User, now: datetime | None = None, days: int = 365) -> dict[str, Any]:
    """The dashboard's cards: NPS (with its margin) and CSAT of the last `days`."""
    now = now or timezone.now()
    qs = responses_visible_to(user).filter(started_at__gte=now - timedelta(days=days))
    scores = _scores(_bands(qs))
    return {"nps": scores.nps, "csat": scores.csat, "csat_answers": scores.csat_answers,
            "ces": scores.ces, "responses": scores.started}


def last_nps_subquery() -> Subquery:
    """The latest NPS answer of the customer OuterRef("pk")."""
    return Subquery(Response.objects.filter(customer=OuterRef("pk"), nps__isnull=False)
                    .order_by("-started_at", "-pk").values("nps")[:1])


def last_csat_subquery() -> Subquery:
    return Subquery(Response.objects.filter(customer=OuterRef("pk"), csat__isnull=False)
                    .order_by("-started_at", "-pk").values("csat")[:1])


def responded_filter(survey_ids: list[int]) -> Exists:
    """Customers OuterRef("pk") who finished one of the surveys."""
    return Exists(Response.objects.filter(customer=OuterRef("pk"), survey_id__in=survey_ids,
                                          finished_at__isnull=False))


def customer_last_answer(customer_id: int) -> datetime | None:
    return Response.objects.filter(customer_id=customer_id).aggregate(m=Max("started_at"))["m"]
