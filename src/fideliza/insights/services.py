"""Writes of the insights app: request, run and store a snapshot recompute; staleness."""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from fideliza.accounts.models import User

if TYPE_CHECKING:
    from .compute import SnapshotConfig

from .labels import run_warning
from .models import AnalyticsState, RunStatus, SnapshotRun

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

# A running run that has not reported progress for this long is considered dead (its
# worker was killed), so that a new request is not refused for ever.
STALE_RUN_AFTER = dt.timedelta(hours=2)


class SnapshotRecomputed(Protocol):
    """Refreshes what depends on the snapshot, right after a new one is stored."""

    def __call__(self) -> object: ...


# Registered by the apps above insights from their AppConfig.ready (segments: dynamic
# segment membership), run in that order (DESIGN.md: explicit reactions, not signals).
SNAPSHOT_RECOMPUTED_HANDLERS: list[SnapshotRecomputed] = []


def snapshot_recomputed_register(handler: SnapshotRecomputed) -> None:
    if handler not in SNAPSHOT_RECOMPUTED_HANDLERS:
        SNAPSHOT_RECOMPUTED_HANDLERS.append(handler)


def analytics_state() -> AnalyticsState:
    state, _created = AnalyticsState.objects.get_or_create(pk=1)
    return state


def snapshot_mark_stale(*, at: dt.datetime | None = None) -> None:
    """New orders or returns were recorded: the current snapshot no longer reflects them.

    One UPDATE that only sets the flag when it is not set yet (the earliest moment
    counts), so concurrent order writers do not contend on it beyond that row.
    """
    at = at or timezone.now()
    updated = AnalyticsState.objects.filter(pk=1, stale_since__isnull=True).update(stale_since=at)
    if not updated:
        # The row normally exists (migration 0002); ignore_conflicts keeps a concurrent
        # first insert from failing the caller's transaction.
        AnalyticsState.objects.bulk_create([AnalyticsState(pk=1, stale_since=at)],
                                           ignore_conflicts=True)


def snapshot_active_run() -> SnapshotRun | None:
    """The queued or running recompute, if one is under way."""
    cutoff = timezone.now() - STALE_RUN_AFTER
    return (
        SnapshotRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .filter(Q(started_at__isnull=True, created_at__gte=cutoff) | Q(started_at__gte=cutoff))
        .order_by("-created_at")
        .first()
    )


def snapshot_request(*, requested_by: User | None = None, trigger: str = "manual",
                     as_of: dt.date | None = None) -> SnapshotRun:
    """Queue a recompute (or return the one already queued or running).

    The task is enqueued on commit, so the worker always finds the run row.
    """
    from .tasks import recompute_snapshot

    with transaction.atomic():
        active = snapshot_active_run()
        if active is not None:
            return active
        run = SnapshotRun.objects.create(status=RunStatus.QUEUED, trigger=trigger,
                                         requested_by=requested_by, as_of=as_of)
        transaction.on_commit(lambda: recompute_snapshot.enqueue(run.pk))
    return run


def _set_progress(run: SnapshotRun, fraction: float, stage: str) -> None:
    # Outside the snapshot's transaction (see snapshot_recompute) so pollers see it.
    run.progress = max(0.0, min(1.0, fraction))
    run.stage = stage[:120]
    SnapshotRun.objects.filter(pk=run.pk).update(progress=run.progress, stage=run.stage)


def snapshot_recompute(
    *,
    as_of: dt.date | None = None,
    progress: Progress | None = None,
    run: SnapshotRun | None = None,
    trigger: str = "command",
    config: SnapshotConfig | None = None,
) -> SnapshotRun:
    """Read every transaction, run the analytics core and replace the stored snapshot.

    ``as_of`` is the observation end (inclusive; default: the shop's today). Progress is
    reported as (fraction 0..1, stage text) to `progress` and stored on the run, where the
    dashboard polls it. The snapshot tables are replaced in one transaction; on failure the
    previous snapshot stays current and the run is marked failed (the error is re-raised).
    """
    # Imported here: Polars/SciPy stay out of processes that only record orders.
    from . import adapter, storage
    from .compute import SnapshotConfig, compute_snapshot

    config = config or SnapshotConfig()
    as_of = as_of or timezone.localdate()
    if run is None:
        run = SnapshotRun.objects.create(status=RunStatus.RUNNING, trigger=trigger, as_of=as_of)
    run.status = RunStatus.RUNNING
    run.started_at = timezone.now()
    run.as_of = as_of
    run.save(update_fields=["status", "started_at", "as_of"])

    def report(fraction: float, stage: str) -> None:
        _set_progress(run, fraction, stage)
        if progress is not None:
            progress(fraction, stage)

    timings: dict[str, float] = {}
    try:
        report(0.02, _("Leyendo las ventas"))
        tx = adapter.read_transactions(with_lines=True)
        timings.update(tx.timings)
        report(0.15, _("Calculando métricas y modelos"))
        started = time.perf_counter()
        snap = compute_snapshot(
            tx,
            as_of=as_of,
            config=config,
            progress=lambda f, s: report(0.15 + 0.55 * f, s),
        )
        timings["compute"] = time.perf_counter() - started
        timings.update({f"compute.{k}": v for k, v in snap.timings.items()})
        report(0.72, _("Guardando el resultado"))
        started = time.perf_counter()
        customers_frame = snap.customers.with_columns(run_id=run.pk)
        total = max(customers_frame.height, 1)
        with transaction.atomic():
            storage.replace_customer_metrics(
                customers_frame,
                progress=lambda n: report(0.72 + 0.2 * n / total, _("Guardando el resultado")),
            )
            run.status = RunStatus.SUCCEEDED
            run.progress = 1.0
            run.stage = _("Terminado")
            run.finished_at = timezone.now()
            run.customers = customers_frame.height
            run.transactions = snap.orders
            run.parameters = snap.parameters
            run.warnings = snap.warnings
            run.aggregates = snap.aggregates
            timings["store"] = time.perf_counter() - started
            run.timings = {k: round(v, 3) for k, v in timings.items()}
            run.save()
            state = analytics_state()
            state.current_run = run
            # Sales recorded after this run started stay "new since then".
            if state.stale_since is not None and state.stale_since <= run.started_at:
                state.stale_since = None
            state.save(update_fields=["current_run", "stale_since"])
        # The history is append-only and independent of the current snapshot: its own
        # transaction, so the snapshot's write lock (one writer at a time on SQLite) is
        # held as briefly as possible. The first run backfills `history_months` months.
        started = time.perf_counter()
        try:
            with transaction.atomic():
                history_rows = storage.append_rfm_history(snap.rfm_history)
        except DatabaseError:
            # The snapshot is already current; a missing month of history is filled by the
            # next run (month ends not stored yet are written then).
            log.exception("RFM history of run %s not stored", run.pk)
            history_rows = 0
            run.warnings.append(run_warning(gettext_noop(
                "historial RFM no guardado en este cálculo; se guardará en el próximo")))
        run.timings["store_history"] = round(time.perf_counter() - started, 3)
        run.timings["history_rows"] = history_rows
        for handler in SNAPSHOT_RECOMPUTED_HANDLERS:
            started = time.perf_counter()
            name = getattr(handler, "__qualname__", type(handler).__qualname__)
            path = f"{handler.__module__}.{name}"
            try:
                handler()
            except Exception:  # the snapshot is stored; a dependent refresh retries next run
                log.exception("after snapshot %s: %s failed", run.pk, path)
                run.warnings.append(run_warning(gettext_noop("no se pudo actualizar: %(what)s"), what=path))
            run.timings[f"after.{name}"] = round(time.perf_counter() - started, 3)
        SnapshotRun.objects.filter(pk=run.pk).update(timings=run.timings, warnings=run.warnings)
        if progress is not None:
            progress(1.0, run.stage)
        return run
    except Exception as exc:
        log.exception("snapshot recompute %s failed", run.pk)
        SnapshotRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=f"{exc}\n\n{traceback.format_exc()}"[:20000],
        )
        raise
