"""Helpers for background jobs that report progress through `JobProgress`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from .models import JobProgress, JobStatus


def job_progress_reporter(job_id: int, *, every_seconds: float = 0.5) -> Callable[[int, int], None]:
    """A `progress(done, total)` callback that writes to the job row at most twice a second."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every_seconds or done >= total:
            last[0] = now
            JobProgress.objects.filter(pk=job_id).update(done=done, total=total, status=JobStatus.RUNNING)

    return report


def job_finish(job_id: int, *, result: dict | None = None, error: str = "") -> None:
    JobProgress.objects.filter(pk=job_id).update(
        status=JobStatus.FAILED if error else JobStatus.DONE,
        message=error[:500], result=result or {}, finished_at=timezone.now(),
    )


def job_create(*, kind: str, created_by: Any = None) -> JobProgress:
    """A new job row of `kind` (its task reports progress to it)."""
    return JobProgress.objects.create(kind=kind, created_by=created_by)


def job_get(pk: int, *, kind: str) -> JobProgress | None:
    """The job `pk` of `kind`, or None (deleted since it was queued, or another kind)."""
    return JobProgress.objects.filter(pk=pk, kind=kind).first()


def job_latest(*, kind: str) -> JobProgress | None:
    """The latest job of `kind` (JobProgress's default ordering), or None."""
    return JobProgress.objects.filter(kind=kind).first()
