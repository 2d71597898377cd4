"""REST endpoints of the analytics snapshot: per-customer scores and business metrics.

Everything is read from the stored snapshot (see `insights.models`), so every call is a
plain indexed read. Visibility: a sales representative gets the scores of their own
customers only (anyone else's customer is a 404) and no business-wide figures (403);
the other roles see everything. Recomputing is for the owner and marketing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.db.models import F
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from fideliza.accounts.auth import request_user
from fideliza.accounts.models import Role, User
from fideliza.api_support import (
    DEFAULT_LIMIT,
    ERRORS_READ,
    MAX_LIMIT,
    DbId,
    ErrorOut,
    MoneyOut,
    MoneyQuery,
    ValidationErrorOut,
)

from . import selectors
from .labels import run_warning_text
from .models import CustomerMetrics, SnapshotRun
from .services import snapshot_request

router = Router(tags=["insights"])

RECOMPUTE_ROLES = frozenset({Role.OWNER, Role.MARKETING})

# Business-wide figures answer 403 to a sales representative and 404 before the first
# snapshot; every operation answers 401 without credentials and 422 on a bad parameter.
ERRORS_BUSINESS: dict[int, Any] = {**ERRORS_READ, 403: ErrorOut}


# --- schemas -------------------------------------------------------------------------------

class CustomerScoresOut(Schema):
    customer_id: int
    as_of: date | None = Field(None, description="observation end of the snapshot")
    first_purchase: date
    last_purchase: date
    orders: int
    revenue: MoneyOut = Field(..., description="net of refunds")
    margin: MoneyOut | None
    average_order_value: MoneyOut
    frequency: int = Field(..., description="repeat purchase days (BTYD x)")
    recency: float = Field(..., description="days between first and last purchase (t_x)")
    age: float = Field(..., description="days between first purchase and as_of (T)")
    monetary_value: MoneyOut = Field(..., description="mean value of the repeat purchase days")
    r_score: int
    f_score: int
    m_score: int
    rfm_segment: str
    rfm_segment_label: str
    abc_revenue: str
    abc_margin: str
    value_tier: str
    activity_state: str
    days_since_last: int
    usual_interval_days: float | None
    predicted_purchases: float | None = Field(None, description="expected purchases in 12 months")
    p_alive: float | None
    churn_risk: float | None
    churn_band: str
    churn_reason: str
    expected_next_purchase: date | None
    clv_historic: MoneyOut
    clv_predicted: MoneyOut | None
    next_product_id: int | None
    next_product_name: str | None
    next_category: str
    next_reason: str
    path_step: str
    path_next_step: str

    @staticmethod
    def resolve_as_of(obj: CustomerMetrics) -> date | None:
        # Annotated by the queries below: joining the run would load its large JSON columns.
        return getattr(obj, "run_as_of", None)

    @staticmethod
    def resolve_rfm_segment_label(obj: CustomerMetrics) -> str:
        return selectors.label("rfm_segment", obj.rfm_segment)

    @staticmethod
    def resolve_next_product_name(obj: CustomerMetrics) -> str | None:
        return obj.next_product.name if obj.next_product is not None else None


class CustomerScoresPage(Schema):
    items: list[CustomerScoresOut]
    next: str | None


class SnapshotRunOut(Schema):
    id: int
    status: str
    trigger: str
    as_of: date | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: float
    stage: str
    customers: int
    transactions: int
    warnings: list[str]
    error: str = ""

    @staticmethod
    def resolve_warnings(obj: SnapshotRun) -> list[str]:
        # Stored as msgids with parameters: worded in the caller's language.
        return [run_warning_text(w) for w in obj.warnings or []]


class SnapshotRunDetailOut(SnapshotRunOut):
    parameters: dict[str, Any]
    timings: dict[str, Any]


class SnapshotStatusOut(Schema):
    current_run: SnapshotRunOut | None
    stale_since: datetime | None = Field(None, description="orders recorded since the snapshot")
    active_run: SnapshotRunOut | None


class CustomerScoreFilters(Schema):
    rfm_segment: str | None = None
    abc_revenue: str | None = None
    abc_margin: str | None = None
    value_tier: str | None = None
    activity_state: str | None = None
    churn_band: str | None = None
    min_churn_risk: float | None = Field(None, ge=0, le=1)
    max_p_alive: float | None = Field(None, ge=0, le=1)
    min_clv_predicted: MoneyQuery | None = None
    cursor: str | None = Field(None, pattern=r"^[0-9]{1,18}$",
                               description="The `next` of the previous page (the last customer id).")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


# --- helpers -------------------------------------------------------------------------------

def _require_business_view(request: HttpRequest) -> User:
    user = request_user(request)
    if not user.sees_all_customers:
        raise HttpError(403, _("Las cifras de todo el negocio no están disponibles para su rol."))
    return user


def _aggregates(request: HttpRequest) -> dict[str, Any]:
    _require_business_view(request)
    run = selectors.current_run()
    if run is None:
        raise HttpError(404, _("Todavía no hay métricas calculadas."))
    return {"as_of": run.as_of, "run_id": run.pk, **run.aggregates}


def _scores(request: HttpRequest) -> Any:
    return (
        selectors.metrics_visible_to(request_user(request))
        .select_related("next_product")
        .annotate(run_as_of=F("run__as_of"))
    )


# --- per-customer scores -------------------------------------------------------------------

@router.get("/customers", response={200: CustomerScoresPage, **ERRORS_READ}, url_name="insights_customers")
def list_customer_scores(request: HttpRequest, filters: Query[CustomerScoreFilters]) -> dict[str, Any]:
    """Snapshot rows of the visible customers, by customer id, with optional filters."""
    qs = _scores(request)
    exact = ("rfm_segment", "abc_revenue", "abc_margin", "value_tier", "activity_state",
             "churn_band")
    qs = qs.filter(**{f: getattr(filters, f) for f in exact if getattr(filters, f) is not None})
    if filters.min_churn_risk is not None:
        qs = qs.filter(churn_risk__gte=filters.min_churn_risk)
    if filters.max_p_alive is not None:
        qs = qs.filter(p_alive__lte=filters.max_p_alive)
    if filters.min_clv_predicted is not None:
        qs = qs.filter(clv_predicted__gte=filters.min_clv_predicted)
    if filters.cursor:
        qs = qs.filter(customer_id__gt=int(filters.cursor))
    rows = list(qs.order_by("customer_id")[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return {"items": rows, "next": str(rows[-1].customer_id) if more and rows else None}


@router.get("/customers/{customer_id}", response={200: CustomerScoresOut, **ERRORS_READ}, url_name="insights_customer")
def customer_scores(request: HttpRequest, customer_id: DbId) -> CustomerMetrics:
    """The scores of one customer (404 when not visible or without purchases)."""
    return get_object_or_404(_scores(request), customer_id=customer_id)


# --- snapshot runs -------------------------------------------------------------------------

@router.get("/status", response={200: SnapshotStatusOut, **ERRORS_READ}, url_name="insights_status")
def status(request: HttpRequest) -> dict[str, Any]:
    """The current snapshot, whether sales came in since, and a recompute under way."""
    info = selectors.snapshot_status()
    return {"current_run": info["run"], "stale_since": info["stale_since"],
            "active_run": info["active_run"]}


@router.post("/recompute", response={202: SnapshotRunOut, 401: ErrorOut, 403: ErrorOut, 422: ValidationErrorOut}, url_name="insights_recompute")
def recompute(request: HttpRequest) -> Status:
    """Queue a recompute (or return the one under way). Owner and marketing only."""
    user = request_user(request)
    if not (user.is_superuser or user.role in RECOMPUTE_ROLES):
        raise HttpError(403, _("Su rol no permite esta operación."))
    return Status(202, snapshot_request(requested_by=user, trigger="manual"))


@router.get("/runs/{run_id}", response={200: SnapshotRunDetailOut, **ERRORS_BUSINESS}, url_name="insights_run")
def run_detail(request: HttpRequest, run_id: DbId) -> SnapshotRun:
    """One recompute: progress, model parameters and fit information, warnings, timings."""
    _require_business_view(request)
    return get_object_or_404(SnapshotRun, pk=run_id)


# --- business metrics ----------------------------------------------------------------------

Metric = Literal[
    "kpis", "retention", "cohorts", "pareto", "abc-transition", "rfm-grid", "segments",
    "clv-distribution", "acquisition", "distributions",
]


@router.get("/metrics", response={200: dict[str, Any], **ERRORS_BUSINESS}, url_name="insights_metrics")
def all_metrics(request: HttpRequest) -> dict[str, Any]:
    """Every business-wide figure of the current snapshot in one document."""
    return _aggregates(request)


@router.get("/metrics/{name}", response={200: dict[str, Any], **ERRORS_BUSINESS}, url_name="insights_metric")
def one_metric(request: HttpRequest, name: Metric) -> dict[str, Any]:
    """One business-wide figure.

    ``kpis``: customers, active, retention and churn rate over the last 12 months, average
    purchase, purchase frequency, CLV, cost of churn, CAC, recurring-revenue share.
    ``retention``: retention and churn rate per calendar quarter. ``cohorts``: monthly
    cohort retention matrix. ``pareto``: the 80/20 curve by revenue and margin.
    ``abc-transition``: ABC class 12 months ago against now. ``rfm-grid``: customers per
    R × FM cell. ``segments``: customers, revenue, churn risk and CLV per RFM segment.
    ``clv-distribution``: histogram of predicted CLV. ``acquisition``: CAC.
    ``distributions``: customers per activity state, tier, churn band and ABC class.
    """
    data = _aggregates(request)
    key = {
        "kpis": "kpis", "retention": "retention_series", "cohorts": "cohorts",
        "pareto": "pareto", "abc-transition": "abc_transition", "rfm-grid": "rfm_grid",
        "segments": "segments", "clv-distribution": "clv_histogram",
        "acquisition": "acquisition",
    }.get(name)
    head = {"as_of": data["as_of"], "run_id": data["run_id"]}
    if key is None:
        return {**head, **{k: data.get(k, {}) for k in
                           ("activity", "tiers", "churn_bands", "abc_revenue", "abc_margin")}}
    return {**head, name.replace("-", "_"): data.get(key)}
