"""Background jobs of events."""

from __future__ import annotations

from django_tasks import task

from .services import reminders_send


@task()
def events_daily() -> dict[str, int]:
    """Once a day (FIDELIZA_SCHEDULE): remind the guests who said sí of tomorrow's events.
    Idempotent: a second run the same day queues nothing new."""
    return {"reminders": reminders_send()}
