"""Reads about imports for the other apps: the latest runs, the runs of other files."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from fideliza.accounts.models import User

from .models import ImportRun


def import_runs_recent(*, user: User, limit: int = 5) -> QuerySet[ImportRun]:
    """The latest imports; a sales representative sees only their own."""
    qs = ImportRun.objects.select_related("created_by").order_by("-created_at", "-id")
    if user.is_sales_rep:
        qs = qs.filter(created_by=user)
    return qs[:limit]


def import_runs_count_except(file_names: Iterable[str]) -> int:
    """How many imports were of files not named in `file_names`."""
    return ImportRun.objects.exclude(file_name__in=list(file_names)).count()
