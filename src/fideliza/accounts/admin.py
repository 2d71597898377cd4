"""Admin for staff users, API tokens (revocable, never shown) and the audit log (read-only)."""

from __future__ import annotations

from typing import cast

from axes.models import AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from fideliza.core.admin import ReadOnlyAdmin

from .models import ApiToken, AuditLog, User
from .services import api_token_revoke


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "role", "is_active", "is_staff"]
    list_filter = ["role", "is_active", "is_staff", "is_superuser"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Fideliza"), {"fields": ("role", "language")}),
    )
    add_fieldsets = (
        *(BaseUserAdmin.add_fieldsets or ()),
        (_("Fideliza"), {"fields": ("role", "first_name", "last_name", "email")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created where their secret can be shown once (the token pages or the
    `create_api_token` command), so the admin lists and revokes them but never adds one."""

    list_display = ["name", "prefix", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["name", "user", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    exclude = ["digest"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    @admin.action(description=_("Revocar los tokens seleccionados"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        n = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token, by=cast(User, request.user))
            n += 1
        self.message_user(request, ngettext("%(n)d token revocado.", "%(n)d tokens revocados.", n) % {"n": n},
                          messages.SUCCESS)


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "entity", "entity_id"]
    list_filter = ["action", "entity"]
    search_fields = ["=entity_id", "actor_label"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    # Counting a large audit log on every page is what makes admin lists slow.
    show_full_result_count = False


# django-axes registers its access log and failure log too; Fideliza keeps neither
# (AXES_DISABLE_ACCESS_LOG, no failure log), so only the attempts (the lockouts) are shown.
for _model in (AccessLog, AccessFailureLog):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
