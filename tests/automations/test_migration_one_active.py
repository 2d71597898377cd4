"""Migration 0003 on a database that already has two active enrolments of one customer in
one automation (what the demo's first start wrote): one keeps running, the other is
stopped as folded, and the one-active rule can then be enforced."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=ZoneInfo("Europe/Madrid"))
BEFORE = [("automations", "0002_step_short_text_label")]
AFTER = [("automations", "0003_one_active_enrollment_and_activation")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_duplicates_are_folded_before_the_rule():
    old = _migrate(BEFORE)
    try:
        Customer = old.get_model("customers", "Customer")
        Automation = old.get_model("automations", "Automation")
        Enrollment = old.get_model("automations", "Enrollment")
        customer = Customer.objects.create(first_name="Ana")
        points = Automation.objects.create(name="Puntos", trigger_kind="points_expiring", is_active=True,
                                           holdout_share=0)
        off = Automation.objects.create(name="Apagada", trigger_kind="welcome", is_active=False, holdout_share=0)
        for key in ("expiry:2026-07-01", "expiry:2026-07-08", "expiry:2026-07-15"):
            Enrollment.objects.create(automation=points, customer=customer, trigger_key=key, group="treated",
                                      enrolled_at=NOON, next_step=1, next_due_at=NOON)

        new = _migrate(AFTER)
        Enrollment = new.get_model("automations", "Enrollment")
        Automation = new.get_model("automations", "Automation")
        rows = sorted(Enrollment.objects.values_list("trigger_key", "state", "stop_reason", "next_due_at"))
        assert rows == [("expiry:2026-07-01", "active", "", NOON),
                        ("expiry:2026-07-08", "stopped", "folded", None),
                        ("expiry:2026-07-15", "stopped", "folded", None)]
        # Switched on before there was a choice: they took whoever matched.
        assert Automation.objects.get(pk=points.pk).activation_scope == "existing"
        assert Automation.objects.get(pk=off.pk).activation_scope == "new"
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
