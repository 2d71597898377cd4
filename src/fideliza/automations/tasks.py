"""Background job of automations (django-tasks), fired every 15 minutes by the scheduler
(settings.FIDELIZA_SCHEDULE["automations"])."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task(queue_name="default")
def automations_run() -> dict[str, Any]:
    """Enrol new trigger occurrences and send the due steps of every active automation."""
    from .services import automations_run as run

    return {str(pk): stats for pk, stats in run().items()}
