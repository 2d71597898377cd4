"""Insights' reactions to what other apps record (registered in `InsightsConfig.ready`).

New orders, returns or a merge change purchase histories, so the stored metrics snapshot
no longer reflects them (DESIGN.md). A database flag (`AnalyticsState.stale_since`), not a
cache entry, so that the web process sees what an import or an API worker recorded: one
UPDATE per batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import services


def on_orders_recorded(order_ids: Sequence[int]) -> None:
    services.snapshot_mark_stale()


def on_returns_recorded(return_ids: Sequence[int]) -> None:
    services.snapshot_mark_stale()


def on_customers_merged() -> None:
    services.snapshot_mark_stale()
