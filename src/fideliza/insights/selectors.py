"""Reads of the stored snapshot, with each role's visibility applied."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from fideliza.accounts.models import User
from fideliza.analytics import labels
from fideliza.core.money import quantize_money
from fideliza.customers.models import Customer
from fideliza.customers.selectors import customers_visible_to

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
            out[customer_id] = quantize_money(Decimal(clv) * Decimal(str(risk)))
    return out
