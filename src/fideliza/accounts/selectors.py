"""Reads for accounts: the audit history of an entity, the recent failed logins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max, QuerySet, Sum
from django.utils import timezone

from .models import AuditLog, User


def audit_history(*, entity: str, entity_id: object, limit: int = 200) -> QuerySet[AuditLog]:
    """The newest `limit` audit rows of one entity (index: entity, entity_id, created_at)."""
    return (
        AuditLog.objects.filter(entity=entity, entity_id=str(entity_id))
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class LoginFailures:
    """Recent failed logins of one username or one address (within the cool-off window)."""

    kind: str  # "username" or "ip_address"
    value: str
    failures: int
    limit: int
    last_attempt: datetime
    locked_until: datetime | None


def login_failures() -> list[LoginFailures]:
    """Usernames and addresses with failed logins still counted, locked ones first."""
    from axes.models import AccessAttempt

    from .lockout import parameter_limits

    cooloff = timedelta(minutes=settings.FIDELIZA_LOGIN_COOLOFF_MINUTES)
    recent = AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - cooloff)
    out = []
    for kind, limit in parameter_limits().items():
        for row in recent.values(kind).annotate(n=Sum("failures_since_start"), last=Max("attempt_time")):
            if not row[kind]:
                continue
            locked = row["n"] >= limit
            out.append(LoginFailures(kind=kind, value=row[kind], failures=row["n"], limit=limit,
                                     last_attempt=row["last"], locked_until=row["last"] + cooloff if locked else None))
    return sorted(out, key=lambda f: (f.locked_until is None, f.kind != "username", -f.last_attempt.timestamp()))


def audit_changes(*, entity: str, entity_ids: Iterable[object]) -> list[dict[str, Any]]:
    """The `changes` of every audit row of these objects."""
    return list(AuditLog.objects.filter(entity=entity, entity_id__in=[str(i) for i in entity_ids])
                .values_list("changes", flat=True))


def users_active() -> QuerySet[User]:
    """The active staff, by name."""
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


def user_get(pk: int, *, active: bool = False) -> User | None:
    """The user `pk` (only if active, with `active`), or None."""
    qs = User.objects.filter(pk=pk)
    return (qs.filter(is_active=True) if active else qs).first()


def user_names(user_ids: Iterable[int]) -> dict[int, str]:
    """{user: full name, else username}."""
    return {u.pk: u.get_full_name() or u.get_username() for u in User.objects.filter(pk__in=set(user_ids))}


def user_choices() -> list[tuple[str, str]]:
    """(id, name) of the active users, for a choice list."""
    return [(str(u.pk), u.get_full_name() or u.get_username()) for u in User.objects.filter(is_active=True)]


def user_by_username(username: str) -> User | None:
    """The user called `username`, or None."""
    return User.objects.filter(username=username).first()
