"""Reads for accounts: the audit history of an entity."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import AuditLog


def audit_history(*, entity: str, entity_id: object, limit: int = 200) -> QuerySet[AuditLog]:
    """The newest `limit` audit rows of one entity (index: entity, entity_id, created_at)."""
    return (
        AuditLog.objects.filter(entity=entity, entity_id=str(entity_id))
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )
