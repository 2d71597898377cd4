"""The worker side of the outbox: claim, re-check, send, mark, retry.

Exactly-once, and its one honest gap
------------------------------------
Each message is claimed by a conditional UPDATE (queued/deferred → sending, with a random
claim id), committed BEFORE the send; it is marked sent in a second commit right after the
provider accepted it. A restarted worker only claims queued/deferred rows, so a message
already marked sent is never sent again, and two workers never both claim the same row.

What no outbox can close: the process dies after the SMTP server (or gateway) accepted the
message and before the "sent" commit. The row then stays `sending`. `outbox_sweep` treats a
row claimed longer than FIDELIZA_OUTBOX_CLAIM_TIMEOUT seconds ago as interrupted: it records
an "abandoned" attempt and re-queues it. We chose re-sending (at-least-once in that window)
over marking for review (at-most-once) because the window is one round trip long and a
killed worker far more often dies before or during the SMTP dialogue (nothing delivered);
the resend reuses the same Message-ID, Idempotency-Key and webhook id, so receivers that
de-duplicate (many MTAs and mail clients, gateways honouring Idempotency-Key) drop it.
The claim timeout must exceed the longest send (EMAIL_TIMEOUT, FIDELIZA_HTTP_TIMEOUT).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .budget import Budget, budgets_resolve, customer_zone, slot_find, window_allows
from .channels import ChannelAdapter, DeliveryError, adapter_for, render
from .models import (
    CLAIMABLE,
    AttemptOutcome,
    ContactDecision,
    DecisionReason,
    DecisionStatus,
    DeliveryAttempt,
    EventKind,
    Message,
    MessageKind,
    MessageStatus,
    OverBudget,
    SuppressionReason,
)
from .services import (
    _address,
    _CustomerFacts,
    _facts,
    _suppressed,
    _suppression_reason,
    _Suppressions,
    bounce_record,
    consent_channel,
    event_record,
    message_facts,
)

log = logging.getLogger(__name__)

CONTEXT_BATCH = 500  # messages whose send-time facts are read together


def _due(now: datetime) -> Q:
    return (Q(status__in=CLAIMABLE, send_at__lte=now)
            & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)))


def _claim(message: Message, now: datetime) -> str | None:
    """Claim one loaded message for sending; None if it is no longer due or someone else has it.

    The UPDATE is conditional on the status seen when loading, so of any number of workers
    exactly one gets the row. Runs in its own (autocommit) transaction: the claim is durable
    before anything leaves.
    """
    claim = uuid.uuid4().hex
    updated = Message.objects.filter(_due(now), pk=message.pk, status=message.status).update(
        status=MessageStatus.SENDING, claim_id=claim, claimed_at=now, attempts=F("attempts") + 1)
    if not updated:
        return None
    message.status, message.claim_id, message.claimed_at = MessageStatus.SENDING, claim, now
    message.attempts += 1
    return claim


def _release(message: Message, claim: str, **fields) -> bool:
    return bool(Message.objects.filter(pk=message.pk, claim_id=claim, status=MessageStatus.SENDING)
                .update(**fields))


def _decision(message: Message, status: str, reason: str, now: datetime,
              send_at: datetime | None = None) -> None:
    ContactDecision.objects.create(
        customer_id=message.customer_id, channel=message.channel, kind=message.kind, topic=message.topic,
        source=message.source, dedupe_key=message.dedupe_key, status=status, reason=reason,
        message=message, send_at=send_at, decided_at=now)


@dataclass
class _Context:
    """What the send-time re-check needs for a whole batch, read in a fixed number of queries."""

    facts: dict[int, _CustomerFacts]
    suppressed: _Suppressions
    budgets: dict[int, Budget]


def _context(messages: list[Message]) -> _Context:
    if not messages:
        return _Context({}, {}, {})
    cids = sorted({m.customer_id for m in messages})
    budgets = budgets_resolve(cids)
    window = max(b.window for b in budgets.values())
    since = min(m.send_at for m in messages) - window
    facts = _facts(cids, {m.channel for m in messages}, since)
    return _Context(facts, _suppressed({(m.channel, m.address) for m in messages}), budgets)


def _cancel(message: Message, claim: str, reason: str, now: datetime) -> None:
    with transaction.atomic():
        if _release(message, claim, status=MessageStatus.CANCELLED, claim_id=""):
            _decision(message, DecisionStatus.CANCELLED, reason, now)
            event_record(message=message, kind=EventKind.CANCELLED, detail={"reason": str(reason)})


def _recheck(message: Message, claim: str, now: datetime, ctx: _Context) -> bool:
    """Consent, suppression, topic, budget and quiet hours again, at send time (marketing).

    Someone may have unsubscribed, bounced or changed the budget since the message was
    queued (the batch's facts are read when the batch starts). Returns False if the
    message was cancelled or put back (deferred).
    """
    facts = message_facts(ctx.facts.get(message.customer_id), message.channel, message.address)
    suppression = _suppression_reason(ctx.suppressed, message.channel, message.address, facts)
    if message.kind != MessageKind.MARKETING:
        # Only a dead address stops a transactional message (it may have bounced since).
        if suppression != SuppressionReason.HARD_BOUNCE:
            return True
        _cancel(message, claim, DecisionReason.SUPPRESSED, now)
        return False
    reason = ""
    if facts is None or not facts.marketable:
        reason = DecisionReason.BLOCKED
    elif not facts.consent.get(consent_channel(message.channel), False):
        reason = DecisionReason.NO_CONSENT
    elif suppression:
        reason = DecisionReason.SUPPRESSED
    elif message.topic and message.topic in facts.topics_out:
        reason = DecisionReason.TOPIC_OPT_OUT
    elif _address(message.channel, facts.email, facts.phone) == "":
        reason = DecisionReason.NO_ADDRESS
    if reason:
        _cancel(message, claim, reason, now)
        if facts is not None and message.send_at in facts.times:
            facts.times.remove(message.send_at)
        return False

    assert facts is not None
    budget = ctx.budgets[message.customer_id]
    zone = customer_zone(facts.zone_name)
    others = list(facts.times)
    if message.send_at in others:
        others.remove(message.send_at)
    # Counted at its planned time (send_at), as every other message was planned around it.
    if window_allows(others, message.send_at, budget) and not _in_quiet_hours(now, budget, zone):
        return True
    horizon = timedelta(days=settings.FIDELIZA_BUDGET_MAX_DEFER_DAYS)
    slot = slot_find(others, now, budget, zone, horizon=horizon)
    with transaction.atomic():
        if slot.at is None or (slot.over_budget and message.over_budget == OverBudget.SKIP):
            if _release(message, claim, status=MessageStatus.CANCELLED, claim_id=""):
                _decision(message, DecisionStatus.CANCELLED, DecisionReason.OVER_BUDGET, now)
                event_record(message=message, kind=EventKind.CANCELLED, detail={"reason": "over_budget"})
            facts.times[:] = others  # in place: a company's contacts share its list
        else:
            why = DecisionReason.OVER_BUDGET if slot.over_budget else DecisionReason.QUIET_HOURS
            if _release(message, claim, status=MessageStatus.DEFERRED, send_at=slot.at, claim_id="",
                        attempts=F("attempts") - 1):
                _decision(message, DecisionStatus.DEFERRED, why, now, send_at=slot.at)
            facts.times[:] = sorted([*others, slot.at])
    return False


def _in_quiet_hours(now: datetime, budget, zone) -> bool:
    from .budget import quiet_hours_end

    return quiet_hours_end(now, budget, zone) is not None


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: base · 2^(attempts-1), capped."""
    seconds = settings.FIDELIZA_OUTBOX_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.FIDELIZA_OUTBOX_RETRY_MAX_SECONDS))


def message_deliver(message: Message, claim: str, adapter: ChannelAdapter, ctx: _Context) -> str:
    """Send one claimed message and record the outcome; returns the resulting status."""
    started = timezone.now()
    if not _recheck(message, claim, started, ctx):
        return Message.objects.values_list("status", flat=True).get(pk=message.pk)
    try:
        rendered = render(message)
        provider_id = adapter.send(message, rendered)
    except DeliveryError as exc:
        return _failed(message, claim, started, exc)
    except Exception as exc:  # a bug or an unexpected library error: retry, never lose the row
        log.exception("message %s: unexpected error while sending", message.pk)
        return _failed(message, claim, started, DeliveryError(repr(exc)))
    finished = timezone.now()
    with transaction.atomic():
        marked = _release(message, claim, status=MessageStatus.SENT, sent_at=finished,
                          provider_id=provider_id[:255], claim_id="", last_error="")
        DeliveryAttempt.objects.create(message=message, number=message.attempts, started_at=started,
                                       finished_at=finished, outcome=AttemptOutcome.SENT, claim_id=claim)
        event_record(message=message, kind=EventKind.SENT, at=finished, detail={"provider_id": provider_id})
    if not marked:
        # Our claim expired (sweep re-queued the row while we were sending): keep the evidence.
        log.error("message %s sent but its claim %s had expired", message.pk, claim)
    return MessageStatus.SENT


def _failed(message: Message, claim: str, started: datetime, exc: DeliveryError) -> str:
    now = timezone.now()
    error = str(exc)[:2000]
    with transaction.atomic():
        outcome = AttemptOutcome.PERMANENT if exc.permanent else AttemptOutcome.TEMPORARY
        DeliveryAttempt.objects.create(message=message, number=message.attempts, started_at=started,
                                       finished_at=now, outcome=outcome, error=error, claim_id=claim)
        if exc.bounce:
            _release(message, claim, status=MessageStatus.BOUNCED, claim_id="", last_error=error)
            bounce_record(address=message.address, hard=True, message_token=message.token,
                          diagnostic=error)
            return MessageStatus.BOUNCED
        if exc.permanent or message.attempts >= settings.FIDELIZA_OUTBOX_MAX_ATTEMPTS:
            _release(message, claim, status=MessageStatus.FAILED, claim_id="", last_error=error)
            event_record(message=message, kind=EventKind.FAILED, detail={"error": error[:500]})
            return MessageStatus.FAILED
        _release(message, claim, status=MessageStatus.QUEUED, claim_id="", last_error=error,
                 next_attempt_at=now + retry_delay(message.attempts))
        return MessageStatus.QUEUED


# Called with the sources (``campaign:12`` …) of every batch the worker went through, once
# its rows are settled: the sending apps close what is finished (a campaign becomes "sent"
# as soon as its last message left, not at the next periodic tick).
BatchHandler = Callable[[set[str]], object]
_BATCH_HANDLERS: list[BatchHandler] = []


def outbox_batch_handler_register(handler: BatchHandler) -> None:
    if handler not in _BATCH_HANDLERS:
        _BATCH_HANDLERS.append(handler)


def _batch_done(sources: set[str]) -> None:
    for handler in _BATCH_HANDLERS:
        try:
            handler(sources)
        except Exception:  # the messages are sent; a follow-up must not turn that into a failure
            log.exception("outbox batch handler %r failed", handler)


def messages_send(message_ids: Iterable[int]) -> dict[str, int]:
    """Send the due messages among `message_ids` (the body of the worker task).

    Claims one message at a time, right before sending it, so a killed worker leaves at
    most one row in `sending`. One adapter (one SMTP connection) per channel per batch.
    Then tells the registered handlers which sources the batch touched.
    """
    counts: dict[str, int] = defaultdict(int)
    adapters: dict[str, ChannelAdapter] = {}
    ids = list(message_ids)
    sources: set[str] = set()
    try:
        for start in range(0, len(ids), CONTEXT_BATCH):
            chunk = ids[start:start + CONTEXT_BATCH]
            now = timezone.now()
            rows = {m.pk: m for m in Message.objects.filter(_due(now), pk__in=chunk).select_related("customer")}
            ctx = _context(list(rows.values()))
            for message_id in chunk:
                message = rows.get(message_id)
                claim = _claim(message, timezone.now()) if message is not None else None
                if message is None or claim is None:
                    counts["not_claimed"] += 1
                    continue
                adapter = adapters.get(message.channel)
                if adapter is None:
                    adapter = adapters[message.channel] = adapter_for(message.channel)
                    try:
                        adapter.open()
                    except DeliveryError as exc:
                        counts[_failed(message, claim, timezone.now(), exc)] += 1
                        sources.add(message.source)
                        del adapters[message.channel]
                        continue
                counts[message_deliver(message, claim, adapter, ctx)] += 1
                sources.add(message.source)
    finally:
        for adapter in adapters.values():
            adapter.close()
    if sources:
        _batch_done(sources)
    return dict(counts)


def stale_claims_requeue(*, now: datetime | None = None) -> int:
    """Re-queue rows left in `sending` by a worker that died (see the module docstring)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.FIDELIZA_OUTBOX_CLAIM_TIMEOUT)
    count = 0
    for message in Message.objects.filter(status=MessageStatus.SENDING, claimed_at__lt=cutoff):
        with transaction.atomic():
            if Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING,
                                      claim_id=message.claim_id).update(
                    status=MessageStatus.QUEUED, claim_id="", next_attempt_at=now,
                    last_error="interrupted while sending; re-sent with the same Message-ID"):
                DeliveryAttempt.objects.create(
                    message=message, number=message.attempts, started_at=message.claimed_at or now,
                    finished_at=now, outcome=AttemptOutcome.ABANDONED, claim_id=message.claim_id,
                    error="worker stopped before recording the outcome")
                count += 1
    return count


def due_message_ids(*, now: datetime | None = None, limit: int = 50_000) -> list[int]:
    """Due messages no task is known to be carrying.

    Queued rows that were due at commit already got a task from `messages_queue`; only
    those older than the grace period are picked again (their task may have been lost).
    Deferred, scheduled (send_at after creation) and retried rows are picked as they fall due.
    """
    now = now or timezone.now()
    grace = now - timedelta(seconds=settings.FIDELIZA_OUTBOX_SWEEP_GRACE)
    carried_elsewhere_maybe = Q(status=MessageStatus.QUEUED, next_attempt_at__isnull=True,
                                created_at__gte=grace, send_at__lte=F("created_at"))
    return list(Message.objects.filter(_due(now)).exclude(carried_elsewhere_maybe)
                .order_by("send_at", "id").values_list("id", flat=True)[:limit])
