"""Admin views of the snapshot: read-only (only the recompute service writes these rows)."""

from __future__ import annotations

from django.contrib import admin

from fideliza.core.admin import ReadOnlyAdmin

from .models import AnalyticsState, CustomerMetrics, RfmMonthly, SnapshotRun


@admin.register(SnapshotRun)
class SnapshotRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "as_of", "status", "trigger", "customers", "transactions", "created_at",
                    "finished_at")
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in SnapshotRun._meta.fields]


@admin.register(CustomerMetrics)
class CustomerMetricsAdmin(ReadOnlyAdmin):
    list_display = ("customer", "rfm_segment", "abc_revenue", "value_tier", "activity_state",
                    "churn_risk", "clv_predicted", "revenue")
    list_filter = ("rfm_segment", "abc_revenue", "value_tier", "activity_state", "churn_band")
    list_select_related = ("customer",)
    search_fields = ("=customer__id",)
    show_full_result_count = False  # a count over 100 k rows is not needed to browse them


@admin.register(RfmMonthly)
class RfmMonthlyAdmin(ReadOnlyAdmin):
    list_display = ("period_end", "customer", "segment", "r_score", "f_score", "m_score")
    list_filter = ("period_end", "segment")
    search_fields = ("=customer__id",)
    show_full_result_count = False


@admin.register(AnalyticsState)
class AnalyticsStateAdmin(ReadOnlyAdmin):
    list_display = ("id", "current_run", "stale_since")
