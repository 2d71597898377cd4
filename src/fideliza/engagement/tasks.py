"""Background jobs of the outbox (queue "outbox")."""

from __future__ import annotations

from django_tasks import task

from .outbox import due_message_ids, messages_send, stale_claims_requeue
from .services import outbox_enqueue


@task(queue_name="outbox")
def message_send_batch(ids: list[int]) -> dict[str, int]:
    """Send the due messages among `ids`; rows already claimed or sent are left alone."""
    return messages_send(ids)


@task(queue_name="outbox")
def outbox_sweep() -> dict[str, int]:
    """Every few minutes (FIDELIZA_SCHEDULE): re-queue interrupted sends, enqueue what fell due
    (deferred messages, retries after back-off, scheduled ones, tasks that were lost)."""
    requeued = stale_claims_requeue()
    ids = due_message_ids()
    if ids:
        outbox_enqueue(ids)
    return {"requeued": requeued, "enqueued": len(ids)}
