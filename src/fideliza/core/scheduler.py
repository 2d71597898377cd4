"""Daily jobs (nightly recompute, points expiry, automations) enqueued at a local time.

The schedule is `settings.FIDELIZA_SCHEDULE`: {name: {"task": "dotted.path.to.task",
"at": "HH:MM"}}. Each job fires once per local day at or after its time; a `ScheduledRun`
row claims the firing, so several schedulers never enqueue the same job twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time
from importlib import import_module

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import ScheduledRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    task_path: str
    at: time


def schedule_jobs() -> list[Job]:
    jobs = []
    for name, spec in getattr(settings, "FIDELIZA_SCHEDULE", {}).items():
        hour, minute = (int(part) for part in spec.get("at", "03:00").split(":"))
        jobs.append(Job(name=name, task_path=spec["task"], at=time(hour, minute)))
    return jobs


def _resolve(path: str):  # -> django_tasks Task
    module, _, attr = path.rpartition(".")
    return getattr(import_module(module), attr)


def due_jobs(now: datetime | None = None) -> list[Job]:
    """Jobs whose time has come today and that have not fired today."""
    local = timezone.localtime(now or timezone.now())
    fired = set(ScheduledRun.objects.filter(run_date=local.date()).values_list("job", flat=True))
    return [job for job in schedule_jobs() if local.time() >= job.at and job.name not in fired]


def enqueue_due_jobs(now: datetime | None = None) -> list[str]:
    """Claim and enqueue every due job; returns the names enqueued by this call."""
    local = timezone.localtime(now or timezone.now())
    enqueued = []
    for job in due_jobs(now):
        try:
            task = _resolve(job.task_path)
        except (ImportError, AttributeError):
            log.error("scheduled job %s: task %s not found", job.name, job.task_path)
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(job=job.name, run_date=local.date())
                result = task.enqueue()
                run.task_result_id = str(getattr(result, "id", ""))
                run.save(update_fields=["task_result_id"])
        except IntegrityError:
            continue  # another scheduler claimed it
        enqueued.append(job.name)
        log.info("scheduled job %s enqueued", job.name)
    return enqueued
