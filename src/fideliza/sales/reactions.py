"""Reactions of the sales domain itself to new orders and returns."""

from __future__ import annotations

from collections.abc import Sequence


def mark_analytics_stale(order_ids: Sequence[int]) -> None:
    """The stored metrics snapshot no longer reflects every order (DESIGN.md).

    A database flag (`insights.AnalyticsState.stale_since`), not a cache entry, so that
    the web process sees what an import or an API worker recorded. One UPDATE per batch.
    """
    from fideliza.insights.services import snapshot_mark_stale

    snapshot_mark_stale()


def mark_analytics_stale_for_returns(return_ids: Sequence[int]) -> None:
    from fideliza.insights.services import snapshot_mark_stale

    snapshot_mark_stale()
