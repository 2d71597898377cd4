"""Helpers for background jobs that report progress through `JobProgress`."""

from __future__ import annotations

import time
from collections.abc import Callable

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
