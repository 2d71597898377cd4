"""Idempotency-Key handling for API writes.

A client that retries a write (a till whose connection dropped after sending an order)
sends the same `Idempotency-Key`; it must get the first response back and the write must
happen once. The record of the first response is inserted in the write's own transaction,
so "key recorded" and "write committed" are the same event.

Concurrency: two requests with the same key must not both run the write. On PostgreSQL a
transaction-scoped advisory lock on the key makes the second request wait until the first
commits, then it finds the record and replays it. SQLite runs every write transaction as
BEGIN IMMEDIATE (see settings), which already serialises writers. If the lock is somehow
bypassed, the unique constraint on (scope, principal, key) still holds and the loser
replays the winner's response instead of failing.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import IdempotencyRecord

MAX_KEY_LENGTH = 255


class IdempotencyKeyInvalid(ValueError):
    """The key is empty, too long or has control characters."""


class IdempotencyKeyReused(Exception):
    """The key was already used with a different request."""

    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record
        super().__init__(
            _("La clave de idempotencia «%(key)s» ya se usó con otra petición distinta; "
              "use una clave nueva para una operación nueva.") % {"key": record.key}
        )


@dataclass(frozen=True)
class IdempotentResult:
    status: int
    body: Any
    replayed: bool


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    """SHA-256 of the request; JSON bodies are canonicalised (key order and spacing ignored)."""
    try:
        parsed = json.loads(body or b"null", parse_float=str, parse_int=str)
        canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    digest.update(f"{method.upper()} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def validate_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise IdempotencyKeyInvalid(
            _("La cabecera Idempotency-Key debe tener entre 1 y %(max)s caracteres imprimibles.")
            % {"max": MAX_KEY_LENGTH}
        )
    return key


def _lock(scope: str, principal: str, key: str) -> None:
    """Serialise requests with the same key until the current transaction ends (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(f"{scope}\x00{principal}\x00{key}".encode()).digest()
    (lock_id,) = struct.unpack(">q", digest[:8])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def _replay(record: IdempotencyRecord, fingerprint: str) -> IdempotentResult:
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused(record)
    return IdempotentResult(record.status_code, record.response_body, replayed=True)


def _ttl() -> timedelta:
    return timedelta(hours=settings.FIDELIZA_IDEMPOTENCY_TTL_HOURS)


def idempotent_execute(
    *,
    scope: str,
    principal: str,
    key: str | None,
    fingerprint: str,
    write: Callable[[], tuple[int, Any]],
) -> IdempotentResult:
    """Run `write` (returning status and JSON body) at most once per key.

    `write` runs inside the transaction that records the key; if it raises, nothing is
    recorded and a retry runs it again. Without a key, `write` simply runs in a transaction.
    Records older than FIDELIZA_IDEMPOTENCY_TTL_HOURS no longer count.
    """
    if key is None:
        with transaction.atomic():
            status, body = write()
        return IdempotentResult(status, body, replayed=False)

    key = validate_key(key)
    lookup = {"scope": scope, "principal": principal, "key": key}
    try:
        with transaction.atomic():
            _lock(scope, principal, key)
            record = IdempotencyRecord.objects.filter(**lookup).first()
            if record is not None:
                if record.created_at >= timezone.now() - _ttl():
                    return _replay(record, fingerprint)
                record.delete()  # expired: the key may be used afresh
            status, body = write()
            IdempotencyRecord.objects.create(
                **lookup, request_hash=fingerprint, status_code=status, response_body=body
            )
        return IdempotentResult(status, body, replayed=False)
    except IntegrityError:
        # Lost a race the lock did not prevent: the winner's record is committed now.
        record = IdempotencyRecord.objects.filter(**lookup).first()
        if record is None:
            raise
        return _replay(record, fingerprint)


def idempotency_purge_expired(*, now: Any = None) -> int:
    """Delete records past their time to live; returns how many. Safe to run any time."""
    cutoff = (now or timezone.now()) - _ttl()
    deleted, _detail = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def responses_scrub(scrub: Callable[[Any], Any]) -> int:
    """Rewrite the stored response bodies (replayed on retries) for which `scrub` returns a
    new body (None: leave it), for the erasure of a customer (`customers.privacy`); returns
    the records rewritten."""
    count = 0
    for record in IdempotencyRecord.objects.all().iterator():
        cleaned = scrub(record.response_body)
        if cleaned is not None:
            record.response_body = cleaned
            record.save(update_fields=["response_body"])
            count += 1
    return count
