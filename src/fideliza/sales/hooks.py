"""What happens when orders or returns are recorded, in one visible place.

DESIGN.md: cross-app reactions to "an order was recorded" are explicit calls from the
recording service, not scattered signals. The apps above sales register their reaction
here from their `AppConfig.ready` (insights: the analytics snapshot is stale; loyalty:
accrual and claw-back, referrals and affiliates); they run in the order of INSTALLED_APPS.
`order_record` (one order, API) and the bulk ingestion (imports, demo) both call
`run_orders_recorded` inside their transaction, with the ids they created. Handlers must be
set-based (one query for many orders): an import passes thousands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class OrdersRecorded(Protocol):
    """Reacts to new orders, inside the transaction that recorded them."""

    def __call__(self, order_ids: Sequence[int], /) -> None: ...


class ReturnsRecorded(Protocol):
    """Reacts to new returns, inside the transaction that recorded them."""

    def __call__(self, return_ids: Sequence[int], /) -> None: ...


ORDERS_RECORDED_HANDLERS: list[OrdersRecorded] = []
RETURNS_RECORDED_HANDLERS: list[ReturnsRecorded] = []


def orders_recorded_register(handler: OrdersRecorded) -> None:
    """Run `handler` with the ids of every batch of orders recorded (once per handler)."""
    if handler not in ORDERS_RECORDED_HANDLERS:
        ORDERS_RECORDED_HANDLERS.append(handler)


def returns_recorded_register(handler: ReturnsRecorded) -> None:
    """Run `handler` with the ids of every batch of returns recorded (once per handler)."""
    if handler not in RETURNS_RECORDED_HANDLERS:
        RETURNS_RECORDED_HANDLERS.append(handler)


def run_orders_recorded(order_ids: Sequence[int]) -> None:
    """Call every handler with the new orders. Call inside the recording transaction."""
    if order_ids:
        for handler in ORDERS_RECORDED_HANDLERS:
            handler(order_ids)


def run_returns_recorded(return_ids: Sequence[int]) -> None:
    """Call every handler with the new returns. Call inside the recording transaction."""
    if return_ids:
        for handler in RETURNS_RECORDED_HANDLERS:
            handler(return_ids)
