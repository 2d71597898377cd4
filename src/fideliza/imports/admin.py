"""Admin for import runs: the record of every file brought in (written by the importer)."""

from __future__ import annotations

from django.contrib import admin

from fideliza.core.admin import ReadOnlyAdmin

from .models import ImportRun


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "source", "file_name", "status", "rows_total", "rows_created",
                    "rows_updated", "rows_rejected", "created_by"]
    list_filter = ["kind", "status", "source"]
    search_fields = ["file_name", "source"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    exclude = ["file"]
