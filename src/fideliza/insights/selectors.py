"""Reads of the stored snapshot, with each role's visibility applied."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from fideliza.accounts.models import User
from fideliza.analytics import labels
from fideliza.core.money import quantize_money
from fideliza.core.sql import ids_filter
from fideliza.customers.models import Customer
from fideliza.customers.selectors import customers_visible_to
from fideliza.sales.selectors import orders_in_window

from .labels import churn_reason_text, label_of, next_reason_text
from .models import AnalyticsState, CustomerMetrics, RunStatus, SnapshotRun


def lang() -> str:
    return (get_language() or "es")[:2]


def label(kind: str, code: str | None) -> str:
    """Display name of an analytics code in the active language ("" for no code)."""
    return label_of(kind, code)


def churn_band_label(code: str | None) -> str:
    return label_of("churn_band", code)


def analytics_state() -> AnalyticsState:
    state = AnalyticsState.objects.select_related("current_run").filter(pk=1).first()
    return state or AnalyticsState(pk=1)


def current_run() -> SnapshotRun | None:
    return analytics_state().current_run


def active_run() -> SnapshotRun | None:
    return (
        SnapshotRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .order_by("-created_at")
        .first()
    )


def snapshot_status() -> dict[str, Any]:
    """What the dashboard header says about the data: date, staleness, a recompute under way."""
    state = analytics_state()
    run = state.current_run
    return {
        "run": run,
        "as_of": run.as_of if run else None,
        "computed_at": run.finished_at if run else None,
        "stale_since": state.stale_since,
        "is_stale": state.stale_since is not None,
        "active_run": active_run(),
        "last_failed": SnapshotRun.objects.filter(status=RunStatus.FAILED)
        .filter(created_at__gt=run.created_at if run else timezone.now().replace(year=2000))
        .order_by("-created_at")
        .first(),
    }


def metrics_visible_to(user: User) -> QuerySet[CustomerMetrics]:
    """Snapshot rows of the customers `user` may see (a sales rep: their own)."""
    return CustomerMetrics.objects.filter(customer__in=customers_visible_to(user))


def customer_insights_context(customer: Customer) -> dict[str, Any]:
    """What the customer card shows from the snapshot (an empty dict: no purchases yet).

    The caller has already checked that the user may see `customer`.
    """
    metrics = (
        CustomerMetrics.objects.select_related("next_product", "run")
        .filter(customer_id=customer.pk)
        .first()
    )
    if metrics is None:
        return {"insights": None, "insights_status": snapshot_status()}
    return {
        "insights": metrics,
        "insights_labels": {
            "rfm_segment": label("rfm_segment", metrics.rfm_segment),
            "rfm_description": labels.RFM_SEGMENT_DESCRIPTIONS.get(metrics.rfm_segment, {}).get(
                lang(), ""
            ),
            "value_tier": label("value_tier", metrics.value_tier),
            "activity_state": label("activity_state", metrics.activity_state),
            "abc_revenue": label("abc_class", metrics.abc_revenue),
            "abc_margin": label("abc_class", metrics.abc_margin),
            "churn_band": churn_band_label(metrics.churn_band),
            "p_alive_model": label("p_alive_model", metrics.p_alive_model),
            "horizon_months": ((metrics.run.parameters or {}).get("config") or {}).get(
                "horizon", 12),
            "path_step": label("path_level", metrics.path_step),
            "path_next_step": label("path_level", metrics.path_next_step),
            "churn_reason": churn_reason_text(metrics.churn_reason),
            "next_reason": next_reason_text(metrics.next_reason),
        },
        "insights_status": snapshot_status(),
    }


def metrics_message_rows(customer_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """(customer id, RFM segment, value tier, activity state, last purchase, predicted CLV,
    historic CLV, next product's name, its path level, next category, path step, next path
    step) from the current snapshot, for the customers among `customer_ids` (at most a few
    thousand) who have a row: what a message may say about its recipient."""
    wanted = set(customer_ids)
    return [row for row in CustomerMetrics.objects.filter(ids_filter("customer_id", customer_ids)).values_list(
        "customer_id", "rfm_segment", "value_tier", "activity_state", "last_purchase",
        "clv_predicted", "clv_historic", "next_product__name",
        "next_product__path_level", "next_category", "path_step", "path_next_step")
        if row[0] in wanted]


# --- the snapshot as the automations' triggers read it --------------------------------

def snapshot_as_of() -> date | None:
    """The date the current snapshot is as of (None before the first one)."""
    state = AnalyticsState.objects.select_related("current_run").filter(pk=1).first()
    return state.current_run.as_of if state and state.current_run else None


def _metrics_fresh(customers: QuerySet[Customer], now: datetime) -> tuple[QuerySet[CustomerMetrics], date | None]:
    """Current snapshot rows of `customers`, minus those who bought after it was computed
    (they are active again whatever the snapshot says), and the snapshot's date."""
    as_of = snapshot_as_of()
    rows = CustomerMetrics.objects.filter(customer__in=customers)
    if as_of is not None:
        start = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(settings.TIME_ZONE))
        rows = rows.exclude(Exists(orders_in_window(customer=OuterRef("customer_id"), after=start, until=now,
                                                    after_inclusive=True)))
    return rows, as_of


def customers_overdue(*, customers: QuerySet[Customer], now: datetime,
                      factor: float) -> list[tuple[int, date, int, float]]:
    """(customer, last purchase, days without buying, usual interval) of the `customers`
    whose days without buying exceed `factor` × their own usual interval (customers with
    an interval of their own); the days since the snapshot's date are added, so a snapshot
    from last night still counts today."""
    rows, as_of = _metrics_fresh(customers, now)
    offset = max(0, (timezone.localdate(now) - as_of).days) if as_of else 0
    rows = (rows.filter(usual_interval_days__isnull=False)
            .annotate(days=F("days_since_last") + offset)
            .filter(days__gt=F("usual_interval_days") * factor))
    return [(cid, last, int(days), float(interval))
            for cid, last, days, interval in rows.values_list("customer_id", "last_purchase", "days",
                                                              "usual_interval_days")
            if interval is not None]


def customers_in_activity_states(*, customers: QuerySet[Customer], now: datetime,
                                 states: Sequence[str]) -> list[tuple[int, date, str, int]]:
    """(customer, last purchase, activity state, days since the last purchase) of the
    `customers` in one of `states` in the snapshot (not those who bought since)."""
    rows, _as_of = _metrics_fresh(customers, now)
    return list(rows.filter(activity_state__in=list(states))
                .values_list("customer_id", "last_purchase", "activity_state", "days_since_last"))


def customers_active(customer_ids: Iterable[int]) -> set[int]:
    """The customers among `customer_ids` the current snapshot says are active."""
    return set(CustomerMetrics.objects.filter(customer_id__in=set(customer_ids), activity_state="active")
               .values_list("customer_id", flat=True))


def metrics_lookup(field: str = "") -> str:
    """The lookup from a Customer query to `field` of its snapshot row (the row itself
    without `field`): how the segment rules, the funnel and the segment exports read the
    snapshot in the same query as the card."""
    return f"metrics__{field}" if field else "metrics"

def customers_value_at_risk(customer_ids: Iterable[int]) -> dict[int, Decimal]:
    """{customer id: predicted CLV × churn risk} from the current snapshot, in money.

    What a customer's loss would cost: the ordering of «Mi día» (followups). Customers
    without a snapshot row, a predicted CLV or a churn risk are absent (the caller treats
    them as 0). Rounded to cents.
    """
    ids = list(customer_ids)
    out: dict[int, Decimal] = {}
    for start in range(0, len(ids), 5000):
        rows = CustomerMetrics.objects.filter(customer_id__in=ids[start:start + 5000],
                                              clv_predicted__isnull=False, churn_risk__isnull=False)
        for customer_id, clv, risk in rows.values_list("customer_id", "clv_predicted", "churn_risk"):
            if clv is not None and risk is not None:  # filtered above
                out[customer_id] = quantize_money(clv * Decimal(str(risk)))
    return out


def customers_ranked_by_clv(limit: int) -> list[tuple[int, int | None]]:
    """(customer, account executive) of the current, active customers with a snapshot row,
    highest predicted CLV first (those without a prediction last, newest first among equals):
    who matters most, for the demo's relationship work."""
    rows = (CustomerMetrics.objects.filter(customer__merged_into__isnull=True, customer__is_active=True)
            .order_by(F("clv_predicted").desc(nulls_last=True), "-customer_id")
            .values_list("customer_id", "customer__account_executive_id")[:limit])
    return list(rows)


_abc_dropped_cache: dict[tuple[Any, ...], list[int]] = {}


def customers_abc_dropped(*, as_of: date) -> list[int]:
    """The customers who were class A in the ABC ranking by sales of the 12 months before
    the last 12 (to `as_of`) and are not class A in the last 12 (B, C, or no purchase):
    seed 002's «clientes dormidos que bajaron en el ranking», for the reactivation move.

    Computed from the orders (net of refunds, `adapter.read_orders`) by the analytics core
    (`analytics.abc.abc_transitions`), as the dashboard's ABC year-on-year matrix is.

    Kept in memory per process while the sales and the merges do not change (the move
    pages and the home page ask for it on every view; reading every order costs ~60 ms of
    CPU on the 5,000-customer demo): the key is the date, `sales.selectors.sales_version`
    and the merged cards.
    """
    from fideliza.analytics.abc import abc_transitions
    from fideliza.customers.selectors import customers_merged_into
    from fideliza.sales.selectors import sales_version

    from .adapter import read_orders

    key = (as_of, sales_version(), tuple(sorted(customers_merged_into().items())))
    if key in _abc_dropped_cache:
        return _abc_dropped_cache[key]
    orders, _refunded = read_orders()
    found: list[int] = []
    if not orders.is_empty():
        moves = abc_transitions(orders, as_of=as_of, basis="revenue")
        dropped = moves.filter((moves["from_class"] == "A") & (moves["to_class"] != "A"))
        found = [int(c) for c in dropped["customer_id"].to_list()]
    _abc_dropped_cache.clear()
    _abc_dropped_cache[key] = found
    return found


def customers_clv_predicted(customer_ids: Iterable[int]) -> dict[int, Decimal]:
    """{customer id: predicted CLV} from the current snapshot (those without one are absent):
    the value a recovered complainant keeps (complaints' recovery ROI)."""
    ids = list(customer_ids)
    out: dict[int, Decimal] = {}
    for start in range(0, len(ids), 5000):
        rows = CustomerMetrics.objects.filter(customer_id__in=ids[start:start + 5000], clv_predicted__isnull=False)
        out.update((pk, clv) for pk, clv in rows.values_list("customer_id", "clv_predicted") if clv is not None)
    return out
