"""Admin: the outbox and its append-only history are read-only here; suppressions and
budgets are editable (the staff pages under /comunicacion/ do the same with audit)."""

from __future__ import annotations

from django.contrib import admin

from fideliza.core.admin import ReadOnlyAdmin

from .models import (
    ContactBudget,
    ContactDecision,
    DeliveryAttempt,
    DeliveryEvent,
    Message,
    Suppression,
    TopicPreference,
)


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "started_at", "finished_at", "outcome", "error", "claim_id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = DeliveryEvent
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "at", "detail")
    exclude = ("customer",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "channel", "kind", "source", "status", "send_at", "attempts", "sent_at")
    list_filter = ("status", "channel", "kind")
    search_fields = ("address", "dedupe_key", "source", "subject")
    raw_id_fields = ("customer",)
    inlines = [AttemptInline, EventInline]


@admin.register(ContactDecision)
class ContactDecisionAdmin(ReadOnlyAdmin):
    list_display = ("decided_at", "customer", "channel", "source", "status", "reason", "send_at")
    list_filter = ("status", "reason", "channel")
    search_fields = ("source", "dedupe_key")


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "message", "kind")
    list_filter = ("kind",)


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("channel", "address", "reason", "created_at", "note")
    list_filter = ("channel", "reason")
    search_fields = ("address",)


@admin.register(ContactBudget)
class ContactBudgetAdmin(admin.ModelAdmin):
    list_display = ("scope", "segment", "customer", "max_messages", "window_days", "quiet_start", "quiet_end")
    raw_id_fields = ("customer",)


@admin.register(TopicPreference)
class TopicPreferenceAdmin(admin.ModelAdmin):
    list_display = ("customer", "topic", "subscribed", "updated_at")
    raw_id_fields = ("customer",)
