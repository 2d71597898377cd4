"""Writes for accounts: audit rows and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from fideliza.core.serialization import jsonable

from .models import ApiToken, AuditAction, AuditLog, User

TOKEN_PREFIX_LEN = 8


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a user, an API token (acting as its user) or a background job."""

    user: User | None = None
    label: str = ""

    @classmethod
    def of(cls, user: User | None, *, via: str = "") -> Actor:
        if user is None:
            return cls(None, via or "system")
        return cls(user, f"{user.get_username()}{f' via {via}' if via else ''}")

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(None, label)


def audit_record(
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    context: Mapping[str, Any] | None = None,
) -> AuditLog:
    """Append one audit row. Call inside the transaction that makes the change."""
    return AuditLog.objects.create(
        actor=actor.user,
        actor_label=actor.label[:150],
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        changes={k: [jsonable(a), jsonable(b)] for k, (a, b) in (changes or {}).items()},
        context=dict(context or {}),
    )


def audit_record_bulk(
    *,
    actor: Actor,
    action: str,
    entity: str,
    rows: Iterable[tuple[object, Mapping[str, tuple[Any, Any]]]],
    context: Mapping[str, Any] | None = None,
    batch_size: int = 2000,
) -> int:
    """Append one audit row per changed object of a bulk operation (imports, merges)."""
    ctx = dict(context or {})
    objs = [
        AuditLog(
            actor=actor.user,
            actor_label=actor.label[:150],
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            changes={k: [jsonable(a), jsonable(b)] for k, (a, b) in changes.items()},
            context=ctx,
        )
        for entity_id, changes in rows
    ]
    AuditLog.objects.bulk_create(objs, batch_size=batch_size)
    return len(objs)


def token_digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str, created_by: User | None = None) -> tuple[ApiToken, str]:
    """Create a token; returns it with the plain secret, which is never stored or shown again."""
    plain = "fz_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name,
        user=user,
        prefix=plain[:TOKEN_PREFIX_LEN],
        digest=token_digest(plain),
        created_by=created_by,
    )
    audit_record(actor=Actor.of(created_by), action=AuditAction.CREATE, entity="accounts.apitoken",
                 entity_id=token.pk, changes={"name": (None, name), "user": (None, user.pk)})
    return token, plain


def api_token_revoke(*, token: ApiToken, by: User | None = None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=Actor.of(by), action=AuditAction.UPDATE, entity="accounts.apitoken",
                     entity_id=token.pk, changes={"revoked_at": (None, token.revoked_at)})
    return token


def api_token_authenticate(plain: str) -> ApiToken | None:
    """The active token whose secret is `plain`, or None. Marks it used (at most once a minute)."""
    if not plain or len(plain) < TOKEN_PREFIX_LEN:
        return None
    digest = token_digest(plain)
    token = (
        ApiToken.objects.select_related("user")
        .filter(prefix=plain[:TOKEN_PREFIX_LEN], digest=digest, revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def login_lockout_lift(*, kind: str, value: str, by: User) -> int:
    """Forget the failed logins of one username or one address (lifts its lockout); audited.

    Returns how many attempt records were removed (0 when nothing was recorded).
    """
    from axes.models import AccessAttempt

    if kind not in ("username", "ip_address"):
        raise ValueError(f"unknown lockout kind {kind!r}")
    with transaction.atomic():
        removed, _ = AccessAttempt.objects.filter(**{kind: value}).delete()
        if removed:
            audit_record(actor=Actor.of(by, via="web"), action=AuditAction.UPDATE,
                         entity="accounts.login_lockout", entity_id=value,
                         context={"lifted": kind, "records": removed})
    return removed


def audit_scrub(*, entity: str, entity_ids: Iterable[object], erased: str,
                context: Callable[[Any], Any]) -> int:
    """Replace the old and new values of the audit rows of these objects by `erased` (who
    changed what and when stays) and rewrite their context as `context(old context)`
    returns it: the erasure of a customer (`customers.privacy`). Returns the rows changed."""
    count = 0
    for entry in AuditLog.objects.filter(entity=entity, entity_id__in=[str(i) for i in entity_ids]):
        entry.changes = {field: [erased, erased] for field in entry.changes}
        entry.context = context(entry.context)
        entry.save(update_fields=["changes", "context"])
        count += 1
    return count


def user_create(*, username: str, password: str, role: str, first_name: str = "", last_name: str = "",
                email: str = "", is_staff: bool = False, is_superuser: bool = False) -> User:
    """A new staff user with this password (hashed)."""
    return User.objects.create_user(username=username, password=password, role=role, first_name=first_name,
                                    last_name=last_name, email=email, is_staff=is_staff, is_superuser=is_superuser)
