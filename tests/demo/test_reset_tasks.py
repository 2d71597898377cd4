"""A reset deletes the background tasks queued for the business it deletes, and a task whose
row vanished anyway (queued before the reset, running during it) logs and finishes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from fideliza.accounts.services import Actor
from fideliza.campaigns.tasks import campaign_launch_scheduled
from fideliza.core.models import JobProgress
from fideliza.customers.models import Customer
from fideliza.customers.services import customer_create
from fideliza.customers.tasks import dedup_task
from fideliza.demo import services as demo_services
from fideliza.demo.models import DemoLoad, DemoLoadStatus
from fideliza.demo.services import demo_ensure, demo_reset
from fideliza.imports.models import ImportRun
from fideliza.imports.tasks import import_run_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock():
    # A scheduled campaign three days ahead and a demo record dated today: a fixed today.
    with time_machine.travel(datetime(2026, 3, 28, 12, 0, tzinfo=UTC), tick=True):
        yield


@task(queue_name="default")
def another_apps_task() -> int:
    return 1


@pytest.fixture
def database_tasks(settings):
    """The embedded default backend (the tests otherwise run tasks immediately)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend",
                                  "QUEUES": ["default", "imports", "analytics", "outbox"]}}


def _business_with_queued_tasks(owner) -> None:
    actor = Actor.of(owner, via="test")
    customer = customer_create(actor=actor, data={"first_name": "Ana", "last_name": "Gil",
                                                  "email": "ana@example.com"})
    job = JobProgress.objects.create(kind="customers.dedup", created_by=owner)
    run = ImportRun.objects.create(kind="customers", source="tpv", created_by=owner)
    dedup_task.enqueue(job.pk, owner.pk, [customer.pk], True)
    import_run_task.enqueue(run.pk, False)
    campaign_launch_scheduled.using(run_after=timezone.now() + timedelta(days=3)).enqueue(7)
    another_apps_task.enqueue()
    finished = dedup_task.enqueue(job.pk, owner.pk, None, True)
    DBTaskResult.objects.filter(pk=finished.id).update(status=TaskResultStatus.SUCCESSFUL)


def _queued() -> list[str]:
    return sorted(DBTaskResult.objects.filter(status=TaskResultStatus.READY).values_list("task_path", flat=True))


def test_a_reset_deletes_the_queued_tasks_of_the_business(owner, database_tasks):
    _business_with_queued_tasks(owner)
    assert len(_queued()) == 4
    deleted = demo_reset(actor=Actor.of(owner, via="test"))
    assert deleted["django_tasks_db.DBTaskResult"] == 3
    assert _queued() == [f"{__name__}.another_apps_task"]          # not Fideliza's to delete
    assert DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL).count() == 1  # history
    assert not Customer.objects.exists()


def test_the_all_or_nothing_reload_deletes_them_too(owner, database_tasks, monkeypatch):
    _business_with_queued_tasks(owner)
    DemoLoad.objects.create(customers=10, seed=1, years=1, today=timezone.localdate(),
                            status=DemoLoadStatus.FAILED, error="prueba")
    monkeypatch.setattr(demo_services, "data_not_from_demo", lambda: {})
    monkeypatch.setattr(demo_services, "demo_populate", lambda **kwargs: None)
    demo_ensure(notify=lambda text: None)
    assert _queued() == [f"{__name__}.another_apps_task"]


@pytest.mark.django_db(transaction=True)  # the worker closes its connection after the batch
def test_tasks_whose_rows_vanished_log_and_finish(owner, database_tasks, caplog):
    """Queued for rows that no longer exist: the worker records them as done, not failed, and
    a duplicate search of a deleted business merges nothing in the new one."""
    actor = Actor.of(owner, via="test")
    for _ in range(2):  # a sure pair: a search over the whole base would merge it
        customer_create(actor=actor, data={"first_name": "Ana", "last_name": "Gil Ruiz",
                                           "email": "ana@example.com", "phone": "+34612345678"})
    dedup_task.enqueue(999_999, None, None, True)
    import_run_task.enqueue(999_999, False)
    campaign_launch_scheduled.enqueue(999_999)
    with caplog.at_level(logging.WARNING):
        call_command("db_worker", batch=True, no_startup_delay=True, queue_name="*", verbosity=0)
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0
    results = DBTaskResult.objects.all()
    assert len(results) == 3
    assert {r.status for r in results} == {TaskResultStatus.SUCCESSFUL}, [r.traceback for r in results]
    assert "999999 no longer exists" in caplog.text
