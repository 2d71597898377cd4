from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fideliza.core.models import ScheduledRun
from fideliza.core.scheduler import due_jobs, enqueue_due_jobs

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")
SCHEDULE = {"ping": {"task": "tests.core.jobs.ping", "at": "03:00"}}


@pytest.fixture(autouse=True)
def schedule(settings):
    settings.FIDELIZA_SCHEDULE = SCHEDULE
    settings.TIME_ZONE = "Europe/Madrid"
    from tests.core import jobs

    jobs.CALLS.clear()
    return jobs


def test_not_due_before_its_local_time(schedule):
    assert due_jobs(datetime(2026, 3, 1, 2, 59, tzinfo=MADRID)) == []
    assert enqueue_due_jobs(datetime(2026, 3, 1, 2, 59, tzinfo=MADRID)) == []


def test_fires_once_per_local_day(schedule):
    at = datetime(2026, 3, 1, 3, 5, tzinfo=MADRID)
    assert enqueue_due_jobs(at) == ["ping"]
    assert enqueue_due_jobs(at) == []  # a second scheduler (or tick) does not re-fire
    assert schedule.CALLS == [1]  # immediate backend in tests: the task ran once
    assert ScheduledRun.objects.get().run_date.isoformat() == "2026-03-01"
    assert enqueue_due_jobs(datetime(2026, 3, 2, 3, 0, tzinfo=MADRID)) == ["ping"]


def test_local_day_not_utc_day(schedule):
    # 23:30 UTC on 1 March is 00:30 on 2 March in Madrid: not yet 03:00 there.
    assert due_jobs(datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("UTC"))) == []


def test_periodic_job_fires_once_per_slot(schedule, settings):
    settings.FIDELIZA_SCHEDULE = {"tick": {"task": "tests.core.jobs.ping", "every_minutes": 15}}
    assert enqueue_due_jobs(datetime(2026, 3, 1, 10, 0, tzinfo=MADRID)) == ["tick"]
    assert enqueue_due_jobs(datetime(2026, 3, 1, 10, 14, tzinfo=MADRID)) == []  # same slot
    assert enqueue_due_jobs(datetime(2026, 3, 1, 10, 15, tzinfo=MADRID)) == ["tick"]
    assert sorted(ScheduledRun.objects.values_list("job", flat=True)) == ["tick@10:00", "tick@10:15"]
    assert schedule.CALLS == [1, 1]


def test_periodic_interval_must_divide_the_day(settings):
    settings.FIDELIZA_SCHEDULE = {"odd": {"task": "tests.core.jobs.ping", "every_minutes": 7}}
    with pytest.raises(ValueError, match="every_minutes"):
        due_jobs(datetime(2026, 3, 1, 10, 0, tzinfo=MADRID))


def test_every_configured_job_is_a_real_task(settings):
    """The shipped schedule names tasks that exist and that the scheduler can enqueue with no
    arguments (a typo or a new parameter would fail silently at night)."""
    import inspect

    from django.utils.module_loading import import_string
    from django_tasks.base import Task

    from fideliza.config.settings import base
    from fideliza.core.scheduler import schedule_jobs

    settings.FIDELIZA_SCHEDULE = base.FIDELIZA_SCHEDULE
    assert {"loyalty_daily", "analytics_recompute", "outbox_sweep", "automations"} <= set(base.FIDELIZA_SCHEDULE)
    for job in schedule_jobs():
        task = import_string(job.task_path)
        assert isinstance(task, Task), job.name
        inspect.signature(task.func).bind()  # TypeError when an argument is required
