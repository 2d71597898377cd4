from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from fideliza.core.admin import ReadOnlyAdmin

from .models import (
    CannedAnswer,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    RecoveryGesture,
    RootCause,
)


@admin.register(ComplaintCategory)
class ComplaintCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active"]
    search_fields = ["name"]


@admin.register(RootCause)
class RootCauseAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active"]
    search_fields = ["name"]


@admin.register(CannedAnswer)
class CannedAnswerAdmin(admin.ModelAdmin):
    """Edited on the book's own page (templates are checked there); listed here for reference."""

    list_display = ["title", "category", "is_active"]
    list_filter = ["is_active", "category"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdmin):
    """The book is written by its services (deadlines, history, copies); read-only here."""

    list_display = ["tracking_code", "received_at", "rules", "kind", "status", "customer"]
    list_filter = ["rules", "kind", "status", "channel"]
    search_fields = ["=tracking_code"]
    list_select_related = ["customer"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if getattr(request.user, "is_sales_rep", False):
            qs = qs.filter(customer__account_executive=request.user)
        return qs


@admin.register(ComplaintEvent)
class ComplaintEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "complaint", "kind", "from_status", "to_status", "by"]
    list_filter = ["kind"]
    list_select_related = ["complaint", "by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if getattr(request.user, "is_sales_rep", False):
            qs = qs.filter(complaint__customer__account_executive=request.user)
        return qs


@admin.register(RecoveryGesture)
class RecoveryGestureAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "complaint", "kind", "coupon_code", "points", "cost", "currency"]
    list_filter = ["kind"]
    list_select_related = ["complaint"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if getattr(request.user, "is_sales_rep", False):
            qs = qs.filter(customer__account_executive=request.user)
        return qs
