"""What happens when orders or returns are recorded, in one visible place.

DESIGN.md: cross-app reactions to "an order was recorded" are explicit calls from the
recording service, not scattered signals. Each reaction is a plain function registered
here by name; `order_record` (one order, API) and the bulk ingestion (imports, demo)
both call `run_orders_recorded` inside their transaction, with the ids they created.
Handlers must be set-based (one query for many orders): an import passes thousands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module

OrdersHandler = Callable[[Sequence[int]], None]

# Dotted paths, run in this order. Later issues add theirs here (loyalty accrual,
# engagement triggers); keeping them as strings avoids import cycles between apps.
ORDERS_RECORDED_HANDLERS: list[str] = [
    "fideliza.sales.reactions.mark_analytics_stale",
    "fideliza.loyalty.hooks.on_orders_recorded",
]
RETURNS_RECORDED_HANDLERS: list[str] = [
    "fideliza.sales.reactions.mark_analytics_stale_for_returns",
    "fideliza.loyalty.hooks.on_returns_recorded",
]


def _resolve(path: str) -> OrdersHandler:
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def run_orders_recorded(order_ids: Sequence[int]) -> None:
    """Call every handler with the new orders. Call inside the recording transaction."""
    if order_ids:
        for path in ORDERS_RECORDED_HANDLERS:
            _resolve(path)(order_ids)


def run_returns_recorded(return_ids: Sequence[int]) -> None:
    if return_ids:
        for path in RETURNS_RECORDED_HANDLERS:
            _resolve(path)(return_ids)
