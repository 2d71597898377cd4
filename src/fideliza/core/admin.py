"""Admin for core tables, and the read-only base the history tables of every app use."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import IdempotencyRecord, JobProgress, ScheduledRun


class ReadOnlyAdmin(admin.ModelAdmin):
    """For append-only history and derived tables: staff may look, never add, edit or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "scope", "principal", "key", "status_code"]
    list_filter = ["scope", "status_code"]
    search_fields = ["key", "principal"]
    date_hierarchy = "created_at"


@admin.register(ScheduledRun)
class ScheduledRunAdmin(ReadOnlyAdmin):
    list_display = ["run_date", "job", "enqueued_at", "task_result_id"]
    list_filter = ["job"]
    date_hierarchy = "run_date"


@admin.register(JobProgress)
class JobProgressAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "status", "done", "total", "finished_at", "created_by"]
    list_filter = ["kind", "status"]
    list_select_related = ["created_by"]
