"""Background jobs of the customers domain."""

from __future__ import annotations

import logging
from dataclasses import asdict

from django.db import transaction
from django_tasks import task

from fideliza.accounts.models import User
from fideliza.accounts.selectors import user_get
from fideliza.accounts.services import Actor
from fideliza.core.jobs import job_create, job_finish, job_get, job_progress_reporter
from fideliza.core.models import JobProgress

from .dedup import duplicates_find

logger = logging.getLogger(__name__)


@task(queue_name="default")
def dedup_task(job_id: int, user_id: int | None = None, new_ids: list[int] | None = None,
               auto_merge: bool = True) -> dict:
    if job_get(job_id, kind="customers.dedup") is None:
        # Deleted since it was queued (a reset deletes the business's jobs and cards).
        logger.warning("Duplicate search job %s no longer exists; its queued task does nothing.", job_id)
        return {"missing": True}
    user = user_get(user_id) if user_id else None
    actor = Actor.of(user, via="deduplicación") if user else Actor.system("deduplicación")
    try:
        result = duplicates_find(actor=actor, new_ids=new_ids, auto_merge=auto_merge,
                                 progress=job_progress_reporter(job_id))
    except Exception as exc:
        job_finish(job_id, error=str(exc))
        raise
    data = asdict(result)
    job_finish(job_id, result=data)
    return data


def dedup_enqueue(*, user: User | None, new_ids: list[int] | None = None,
                  auto_merge: bool = True) -> JobProgress:
    """Queue a duplicate search; it starts once the current transaction commits."""
    job = job_create(kind="customers.dedup", created_by=user)
    transaction.on_commit(lambda: dedup_task.enqueue(job.pk, user.pk if user else None, new_ids, auto_merge))
    return job
