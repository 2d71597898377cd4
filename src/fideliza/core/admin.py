"""Admin for core tables, and the read-only base the history tables of every app use."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
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


# --- sales representatives in the admin --------------------------------------------------

PERMISSION_METHODS = ("has_view_permission", "has_change_permission", "has_add_permission",
                      "has_delete_permission")


def _closed_to_sales_reps(check: Callable[..., bool]) -> Callable[..., bool]:
    @wraps(check)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        if getattr(request.user, "is_sales_rep", False):
            return False
        return check(request, *args, **kwargs)

    return wrapped


def admin_close_to_sales_reps(site: admin.AdminSite) -> list[str]:
    """A sales representative sees only their own customers; most admin pages list rows of
    every customer (orders, messages, points, the audit log, import errors, …). So a
    representative who is staff may open only the admin pages that filter by visibility
    themselves and say so with `sales_reps_see_only_theirs = True` (the customer admin); every
    other page is closed to them whatever permissions they were given (no link, 403). Run
    once every admin module is registered (CoreConfig.ready). Returns the models left open."""
    open_to_reps = []
    for model, model_admin in site._registry.items():
        if getattr(model_admin, "sales_reps_see_only_theirs", False):
            open_to_reps.append(model._meta.label)
            continue
        for name in PERMISSION_METHODS:
            setattr(model_admin, name, _closed_to_sales_reps(getattr(model_admin, name)))
    return open_to_reps


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
