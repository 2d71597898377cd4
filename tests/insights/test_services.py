"""Recompute: stored in bulk, replaced atomically, history append-only, staleness flag."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fideliza.accounts.services import Actor
from fideliza.insights import compute
from fideliza.insights.labels import run_warning_text
from fideliza.insights.models import (
    AnalyticsState,
    CustomerMetrics,
    RfmMonthly,
    RunStatus,
    SnapshotRun,
)
from fideliza.insights.selectors import snapshot_status
from fideliza.insights.services import snapshot_mark_stale, snapshot_recompute
from fideliza.sales.services import order_record

from .conftest import AS_OF

pytestmark = pytest.mark.django_db


def test_recompute_stores_the_snapshot_with_exact_money(small_business):
    seen = []
    run = snapshot_recompute(as_of=AS_OF, progress=lambda f, s: seen.append(f))
    assert run.status == RunStatus.SUCCEEDED and run.progress == 1.0
    assert (run.customers, run.transactions) == (3, 5)
    assert seen == sorted(seen) and seen[-1] == 1.0
    ana = CustomerMetrics.objects.get(customer=small_business["ana"])
    assert (ana.revenue, ana.margin, ana.average_order_value) == (
        Decimal("230.00"), Decimal("100.00"), Decimal("76.67"))
    assert ana.clv_historic == Decimal("100.00")
    assert (ana.rfm_segment, ana.abc_revenue, ana.value_tier, ana.activity_state) == (
        "at_risk", "A", "platino", "active")
    assert ana.first_purchase == dt.date(2025, 1, 10)
    assert ana.run_id == run.pk
    assert not CustomerMetrics.objects.filter(customer=small_business["dario"]).exists()
    assert RfmMonthly.objects.count() == 19
    assert AnalyticsState.objects.get(pk=1).current_run_id == run.pk
    assert any("Pocos clientes" in w for w in map(run_warning_text, run.warnings))
    assert run.parameters["snapshot"]["refunded_orders_left_out"] == 1


def test_a_second_run_replaces_rows_and_keeps_history(small_business):
    first = snapshot_recompute(as_of=AS_OF)
    second = snapshot_recompute(as_of=AS_OF)
    assert CustomerMetrics.objects.count() == 3
    assert set(CustomerMetrics.objects.values_list("run_id", flat=True)) == {second.pk}
    # Month ends already stored are not written again.
    assert RfmMonthly.objects.count() == 19
    assert second.timings["history_rows"] == 0
    assert first.pk != second.pk
    assert AnalyticsState.objects.get(pk=1).current_run_id == second.pk


def test_a_failed_run_keeps_the_previous_snapshot(small_business, monkeypatch):
    good = snapshot_recompute(as_of=AS_OF)

    def boom(*args, **kwargs):
        raise RuntimeError("disco lleno")

    monkeypatch.setattr(compute, "compute_snapshot", boom)
    with pytest.raises(RuntimeError):
        snapshot_recompute(as_of=AS_OF)
    failed = SnapshotRun.objects.latest("created_at")
    assert failed.status == RunStatus.FAILED and "disco lleno" in failed.error
    assert CustomerMetrics.objects.count() == 3
    assert AnalyticsState.objects.get(pk=1).current_run_id == good.pk
    assert snapshot_status()["last_failed"] == failed


def test_recording_an_order_marks_the_snapshot_stale_until_the_next_run(small_business, owner):
    snapshot_recompute(as_of=AS_OF)
    assert snapshot_status()["is_stale"] is False
    order_record(actor=Actor.of(owner), customer=small_business["nadie"], source="tpv",
                 external_id="T-1", placed_at=dt.datetime(2025, 6, 30, 10, tzinfo=dt.UTC),
                 lines=[{"description": "Tornillos", "quantity": Decimal("1"),
                         "unit_price": Decimal("3.50")}])
    status = snapshot_status()
    assert status["is_stale"] is True and status["stale_since"] is not None
    run = snapshot_recompute(as_of=AS_OF)
    assert snapshot_status()["is_stale"] is False
    assert run.customers == 4  # the new buyer is in


def test_sales_after_a_run_started_stay_new(small_business):
    run = snapshot_recompute(as_of=AS_OF)
    snapshot_mark_stale(at=run.started_at - dt.timedelta(seconds=1))
    snapshot_recompute(as_of=AS_OF)
    assert AnalyticsState.objects.get(pk=1).stale_since is None
    later = snapshot_recompute(as_of=AS_OF)
    snapshot_mark_stale(at=later.finished_at + dt.timedelta(hours=1))
    state = AnalyticsState.objects.get(pk=1)
    # A mark made after the run started is not cleared by that run.
    assert state.stale_since is not None


def test_mark_stale_keeps_the_earliest_moment_and_survives_a_missing_row(db):
    AnalyticsState.objects.all().delete()
    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    snapshot_mark_stale(at=t0)
    snapshot_mark_stale(at=t0 + dt.timedelta(days=1))
    assert AnalyticsState.objects.get(pk=1).stale_since == t0


def test_orders_in_another_currency_are_left_out(small_business, settings):
    from fideliza.sales.models import Order

    Order.objects.filter(customer=small_business["blas"]).update(currency="USD")
    run = snapshot_recompute(as_of=AS_OF)
    assert run.customers == 2


def test_progress_during_a_large_bulk_write_does_not_block(small_business, monkeypatch):
    """Progress is reported between chunks (SQLite) or after the COPY (PostgreSQL): the
    progress update must never run on the connection while a COPY holds it."""
    from fideliza.insights import storage

    monkeypatch.setattr(storage, "CHUNK", 1)
    seen = []
    run = snapshot_recompute(as_of=AS_OF, progress=lambda f, s: seen.append(s))
    assert run.status == RunStatus.SUCCEEDED
    assert seen.count("Guardando el resultado") >= 2


def test_a_new_snapshot_refreshes_dynamic_segments(small_business):
    """Membership follows the snapshot (issue 4): a segment on the tier fills after a run."""
    from fideliza.segments.models import SegmentMember
    from fideliza.segments.services import segment_create

    segment = segment_create(user=None, name="Platino", rules={
        "op": "and", "rules": [{"field": "value_tier", "cmp": "eq", "value": "platino"}]})
    assert not SegmentMember.objects.filter(segment=segment).exists()
    run = snapshot_recompute(as_of=AS_OF)
    members = set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))
    assert members == {small_business["ana"].pk}
    assert "after.segments_refresh_all" in run.timings
