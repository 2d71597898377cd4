"""Background jobs of the insights app (Django's tasks API, queue "analytics")."""

from __future__ import annotations

from django_tasks import task

from .models import RunStatus, SnapshotRun


@task(queue_name="analytics")
def recompute_snapshot(run_id: int) -> int:
    """Run the queued recompute `run_id`; returns the customers in the new snapshot.

    A run that is no longer queued (already done by another worker) is left alone, so a
    duplicated enqueue does no harm.
    """
    from .services import snapshot_recompute

    claimed = SnapshotRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING
    )
    if not claimed:
        return 0
    run = SnapshotRun.objects.get(pk=run_id)
    return snapshot_recompute(run=run, as_of=run.as_of, trigger=run.trigger).customers


@task(queue_name="analytics")
def nightly_recompute() -> int:
    """The nightly job (settings.FIDELIZA_SCHEDULE): recompute the snapshot for today."""
    from .services import snapshot_recompute

    return snapshot_recompute(trigger="nightly").customers
