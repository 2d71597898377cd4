"""The Redis/RQ task backend (FIDELIZA_TASKS_BACKEND=rq): `fideliza worker` processes run
the product's own tasks from Redis — an analytics recompute, a customer import, a deferred
task — and two schedulers over an hour enqueue each periodic job exactly once.

The test process enqueues into its own Redis database (tests/rq_support.py); the workers
are real processes on the same test database. The outbox crash test runs on this backend
too (tests/engagement/test_crash.py)."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from fideliza.core.scheduler import schedule_jobs
from fideliza.customers.models import Customer
from fideliza.imports.models import ImportRun, ImportStatus
from fideliza.imports.tasks import import_run_task
from fideliza.insights.models import CustomerMetrics, RunStatus, SnapshotRun
from fideliza.insights.services import snapshot_request
from tests.engagement.test_crash import database_url
from tests.insights.conftest import AS_OF, local, make_order

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def environment(redis_url: str) -> dict[str, str]:
    from django.conf import settings

    return {**os.environ, "DATABASE_URL": database_url(), "FIDELIZA_TEST_REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "fideliza.config.settings.test",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


def work(redis_url: str, *queues: str) -> str:
    """`fideliza worker --burst` as a process: works the queues until they are empty."""
    args = [a for q in queues for a in ("--queue", q)]
    done = subprocess.run([sys.executable, "-m", "fideliza.cli", "worker", "--burst", *args],
                          env=environment(redis_url), cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def queued(queue: str) -> list[str]:
    import django_rq

    return [job.func_name for job in django_rq.get_queue(queue).get_jobs()]


def test_a_recompute_requested_in_the_app_runs_in_an_rq_worker(rq_backend):
    for i in range(6):
        customer = Customer.objects.create(first_name=f"Cliente{i}", email=f"c{i}@example.com")
        for k in range(i % 3 + 1):
            make_order(customer, local(2024, 3 + k * 2, 10 + i), "40.00")
    run = snapshot_request(as_of=AS_OF)  # enqueued on commit: into Redis, not the database
    assert queued("analytics") == ["fideliza.insights.tasks.recompute_snapshot"]

    output = work(rq_backend, "analytics")
    run = SnapshotRun.objects.get(pk=run.pk)
    assert run.status == RunStatus.SUCCEEDED, output
    assert CustomerMetrics.objects.count() == 6
    assert queued("analytics") == []


def test_an_import_runs_in_an_rq_worker(rq_backend, owner):
    run = ImportRun.objects.create(kind="customers", source="tpv", file_name="clientes.csv", created_by=owner,
                                   status=ImportStatus.PENDING)
    run.file.save("clientes.csv", ContentFile("nombre;apellidos;email\nAna;Gil Ruiz;ana@example.com\n"
                                              "Luis;Pérez;luis@example.com\n".encode()))
    import_run_task.enqueue(run.pk, False)
    output = work(rq_backend, "imports")
    run.refresh_from_db()
    assert run.rows_created == 2, (run.status, run.errors, output)
    assert sorted(Customer.objects.values_list("email", flat=True)) == ["ana@example.com", "luis@example.com"]


def test_a_deferred_task_waits_for_its_time_in_redis(rq_backend, tmp_path):
    """Campaigns scheduled for later are tasks with `run_after`: RQ keeps them in its
    scheduled registry and the worker's scheduler moves them to the queue when due."""
    import django_rq
    from rq.registry import ScheduledJobRegistry

    from tests.core.jobs import touch

    marker = tmp_path / "ran"
    due = timezone.now() + timedelta(seconds=2)
    touch.using(run_after=due).enqueue(str(marker))
    assert queued("default") == []  # not in the queue before its time...
    assert ScheduledJobRegistry(queue=django_rq.get_queue("default")).count == 1  # ...but kept
    time.sleep(max(0.0, (due - timezone.now()).total_seconds()) + 0.5)
    work(rq_backend, "default")
    assert marker.read_text() == "ran"
    assert ScheduledJobRegistry(queue=django_rq.get_queue("default")).count == 0


SCHEDULER = """
import os, sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo
import django
django.setup()
from fideliza.core.scheduler import enqueue_due_jobs
start = datetime.fromisoformat(sys.argv[1])
for minute in range(int(sys.argv[2])):
    enqueue_due_jobs(start + timedelta(minutes=minute))
"""


def test_two_schedulers_over_an_hour_enqueue_each_periodic_job_once_per_period(rq_backend):
    madrid = ZoneInfo("Europe/Madrid")
    # 02:00 does not exist that night (DST): the hour covers 01:45 CET to 03:45 CEST. Minutes
    # are added in UTC, as a real clock advances.
    start = datetime(2026, 3, 29, 1, 45, tzinfo=madrid).astimezone(UTC)
    minutes = 60
    # What "once per period" means, from the schedule itself: one firing per run key.
    expected: collections.Counter[str] = collections.Counter()
    keys = set()
    for job in schedule_jobs():
        for minute in range(minutes):
            moment = timezone.localtime(start + timedelta(minutes=minute))
            if moment.time() >= job.at and (moment.date(), job.run_key(moment)) not in keys:
                keys.add((moment.date(), job.run_key(moment)))
                expected[job.task_path] += 1
    env = environment(rq_backend)
    procs = [subprocess.Popen([sys.executable, "-c", SCHEDULER, start.isoformat(), str(minutes)], env=env,
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    for proc in procs:
        output = proc.communicate(timeout=300)[0]
        assert proc.returncode == 0, output
    enqueued: collections.Counter[str] = collections.Counter()
    for queue in ("default", "imports", "analytics", "outbox"):
        enqueued.update(queued(queue))
    assert enqueued == expected
    assert expected["fideliza.engagement.tasks.outbox_sweep"] >= 12  # the hour really was covered
    assert expected["fideliza.insights.tasks.nightly_recompute"] == 1  # 03:00 came 15 minutes in
