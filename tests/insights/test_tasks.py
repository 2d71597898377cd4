"""The recompute job end to end: request → on commit → task → snapshot; the command."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from fideliza.insights.models import CustomerMetrics, RunStatus, SnapshotRun
from fideliza.insights.services import snapshot_request
from fideliza.insights.tasks import nightly_recompute, recompute_snapshot

from .conftest import AS_OF

pytestmark = pytest.mark.django_db


def test_request_enqueues_on_commit_and_the_task_stores_the_snapshot(
    small_business, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = snapshot_request(requested_by=owner, as_of=AS_OF)
        # Nothing runs before the transaction commits.
        assert SnapshotRun.objects.get(pk=run.pk).status == RunStatus.QUEUED
        assert not CustomerMetrics.objects.exists()
    assert len(callbacks) == 1
    callbacks[0]()  # the commit: the immediate test backend runs the task now
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert (run.requested_by, run.trigger, run.as_of) == (owner, "manual", AS_OF)
    assert CustomerMetrics.objects.count() == 3


def test_a_second_request_while_one_is_queued_returns_it(small_business, owner,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first = snapshot_request(requested_by=owner)
        second = snapshot_request(requested_by=owner)
    assert first.pk == second.pk
    assert SnapshotRun.objects.count() == 1


def test_the_task_leaves_a_run_that_is_no_longer_queued(small_business):
    run = SnapshotRun.objects.create(status=RunStatus.SUCCEEDED, as_of=AS_OF)
    assert recompute_snapshot.call(run.pk) == 0
    assert not CustomerMetrics.objects.exists()


def test_task_runs_on_the_analytics_queue():
    assert recompute_snapshot.queue_name == "analytics"
    assert nightly_recompute.queue_name == "analytics"


def test_nightly_task(small_business):
    assert nightly_recompute.call() == 3  # default as_of is today: every purchase counts
    assert SnapshotRun.objects.get().trigger == "nightly"


def test_recompute_command_prints_progress_and_result(small_business):
    out = io.StringIO()
    call_command("recompute", "--as-of", AS_OF.isoformat(), stdout=out)
    text = out.getvalue()
    assert "Leyendo las ventas" in text and "100.0 %" in text
    assert "3 customers" in text and "5 orders" in text
    assert "Pocos clientes" in text  # the run's warnings are shown


def test_the_nightly_schedule_entry_runs_the_recompute(small_business, settings):
    """The entry the lead adds to FIDELIZA_SCHEDULE (settings) fires the nightly job."""
    import datetime as dt

    from fideliza.core.scheduler import enqueue_due_jobs

    settings.FIDELIZA_SCHEDULE = {
        "analytics_recompute": {"task": "fideliza.insights.tasks.nightly_recompute", "at": "03:00"},
    }
    fired = enqueue_due_jobs(dt.datetime(2026, 1, 2, 3, 30, tzinfo=dt.UTC))
    assert fired == ["analytics_recompute"]
    assert SnapshotRun.objects.get().trigger == "nightly"
