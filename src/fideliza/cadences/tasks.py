"""Background job of contact cadences (django-tasks), fired once a day by the scheduler
(settings.FIDELIZA_SCHEDULE["cadences"])."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task(queue_name="default")
def cadences_daily() -> dict[str, Any]:
    """Create the follow-ups of the customers whose contact cadence falls due today."""
    from .services import cadences_run

    return {str(pk): created for pk, created in cadences_run().items()}
