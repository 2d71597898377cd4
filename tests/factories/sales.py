"""Orders and returns through `sales.services` (lines, totals, audit, the reactions)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from fideliza.accounts.services import Actor
from fideliza.catalog.models import Product
from fideliza.customers.models import Customer
from fideliza.sales.models import Order, Return, Store
from fideliza.sales.services import order_record, return_record

_seq = itertools.count(1)

# (product, quantity) or (product, quantity, unit price)
Item = tuple[Product, Any] | tuple[Product, Any, Any]


def store_make(code: str = "T1", name: str = "Tienda Centro", *, city: str = "", online: bool = False) -> Store:
    """A store row. Stores are reference data with no service of their own (admin, imports)."""
    return Store.objects.get_or_create(code=code, defaults={"name": name, "city": city, "is_online": online})[0]


def order_make(customer: Customer, *, placed_at: datetime, items: Sequence[Item] = (),
               lines: Sequence[Mapping[str, Any]] = (), total: Decimal | str | None = None,
               source: str = "tpv", external_id: str | None = None, actor: Actor | None = None,
               **fields: Any) -> Order:
    """An order recorded by `order_record`, so its lines, totals and reactions are real.

    Give the lines as `items` ([(product, quantity[, unit price])]), as raw `lines`
    mappings (the API's shape), or as a single `total`: one line "Venta" of that amount,
    for tests about money rather than products. `fields`: channel, store, currency.
    """
    if total is not None:
        lines = [*lines, {"description": "Venta", "quantity": 1, "unit_price": Decimal(total)}]
    built = [dict(line) for line in lines]
    for item in items:
        line: dict[str, Any] = {"sku": item[0].sku, "quantity": Decimal(item[1])}
        if len(item) > 2:
            line["unit_price"] = Decimal(item[2])
        built.append(line)
    return order_record(actor=actor or Actor.system("tests"), customer=customer, source=source,
                        external_id=external_id or f"T-{next(_seq)}", placed_at=placed_at,
                        lines=built, **fields)


def return_make(order: Order, *, returned_at: datetime, line_quantities: Mapping[int, Any] | None = None,
                amount: Decimal | str | None = None, external_id: str | None = None,
                reason: str = "", actor: Actor | None = None) -> Return:
    """Goods returned ({line_no: quantity}) or, without lines, a money-only refund of `amount`."""
    lines = [{"line_no": no, "quantity": Decimal(q)} for no, q in (line_quantities or {}).items()]
    return return_record(actor=actor or Actor.system("tests"), order=order,
                         external_id=external_id or f"R-{next(_seq)}", lines=lines,
                         kind="return" if lines else "refund",
                         refund_amount=None if amount is None else Decimal(amount),
                         returned_at=returned_at, reason=reason)


def order_row_without_hooks(customer: Customer | int, *, placed_at: datetime, total: Decimal | str = "50.00",
                            currency: str = "EUR", source: str = "raw", external_id: str | None = None,
                            **fields: Any) -> Order:
    """A bare Order row: no lines, no audit, and NO order-recorded reactions (no points…).

    Only for a test that reads orders in isolation (a selector, a report, a trigger over
    purchase dates) and must not depend on what the reactions do.
    """
    customer_id = customer if isinstance(customer, int) else customer.pk
    return Order.objects.create(customer_id=customer_id, source=source,
                                external_id=external_id or f"raw-{next(_seq)}", placed_at=placed_at,
                                currency=currency, subtotal=Decimal(total), total=Decimal(total), **fields)
