"""Daily jobs (nightly recompute, points expiry, automations) enqueued at a local time.

The schedule is `settings.FIDELIZA_SCHEDULE`: {name: {"task": "dotted.path.to.task",
"at": "HH:MM"}} fires once per local day at or after its time; {"task": …,
"every_minutes": N} fires once per N-minute slot of the local day (automations, outbox
sweeps). A `ScheduledRun` row claims each firing, so several schedulers never enqueue the
same job twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import ScheduledRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    task_path: str
    at: time
    every_minutes: int = 0  # 0 = daily at `at`

    def run_key(self, local: datetime) -> str:
        """The `ScheduledRun.job` value of this firing: the name, plus the slot if periodic."""
        if not self.every_minutes:
            return self.name
        minutes = local.hour * 60 + local.minute
        slot = minutes - minutes % self.every_minutes
        return f"{self.name}@{slot // 60:02d}:{slot % 60:02d}"


def schedule_jobs() -> list[Job]:
    jobs = []
    for name, spec in getattr(settings, "FIDELIZA_SCHEDULE", {}).items():
        hour, minute = (int(part) for part in spec.get("at", "00:00" if "every_minutes" in spec
                                                        else "03:00").split(":"))
        every = int(spec.get("every_minutes", 0))
        if every < 0 or (every and 1440 % every):
            raise ValueError(f"FIDELIZA_SCHEDULE[{name!r}]: every_minutes must divide 1440")
        jobs.append(Job(name=name, task_path=spec["task"], at=time(hour, minute),
                        every_minutes=every))
    return jobs


def due_jobs(now: datetime | None = None) -> list[Job]:
    """Jobs whose time has come today and that have not fired today."""
    local = timezone.localtime(now or timezone.now())
    fired = set(ScheduledRun.objects.filter(run_date=local.date()).values_list("job", flat=True))
    return [job for job in schedule_jobs()
            if local.time() >= job.at and job.run_key(local) not in fired]


def enqueue_due_jobs(now: datetime | None = None) -> list[str]:
    """Claim and enqueue every due job; returns the names enqueued by this call."""
    local = timezone.localtime(now or timezone.now())
    enqueued = []
    for job in due_jobs(now):
        try:
            task = import_string(job.task_path)
        except ImportError:  # import_string raises it for a missing attribute too
            log.error("scheduled job %s: task %s not found", job.name, job.task_path)
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(job=job.run_key(local), run_date=local.date())
                result = task.enqueue()
                run.task_result_id = str(getattr(result, "id", ""))
                run.save(update_fields=["task_result_id"])
        except IntegrityError:
            continue  # another scheduler claimed it
        enqueued.append(job.name)
        log.info("scheduled job %s enqueued", job.name)
    return enqueued
