"""Background jobs of surveys (django-tasks)."""

from __future__ import annotations

from django_tasks import task


@task(queue_name="default")
def survey_reminders() -> int:
    """The daily reminder to those who have not answered (settings.FIDELIZA_SCHEDULE)."""
    from .services import reminders_send

    return reminders_send()
