"""Reads over sales for the screens: a customer's purchase timeline and summary, period totals.

Every figure is one aggregate query on indexed columns (`order(customer, placed_at)`,
`order.placed_at`), so the same code serves 100 customers or 100 k.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Exists, Max, Min, OuterRef, Prefetch, QuerySet, Sum

from fideliza.core.money import quantize_money

from .models import Order, OrderLine, Return


@dataclass(frozen=True)
class CurrencyTotals:
    """Money figures of one currency (orders are never summed across currencies)."""

    currency: str
    orders: int
    gross: Decimal
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return quantize_money(self.gross - self.refunded)

    @property
    def average_ticket(self) -> Decimal | None:
        return quantize_money(self.gross / self.orders) if self.orders else None


@dataclass(frozen=True)
class PurchaseSummary:
    """What the sales of one customer say today (RFM, CLV and P(alive) come from analytics)."""

    orders: int
    first_purchase: datetime | None
    last_purchase: datetime | None
    products_bought: int
    returns: int
    by_currency: list[CurrencyTotals]


def _totals_by_currency(orders: QuerySet[Order], returns: QuerySet[Return]) -> list[CurrencyTotals]:
    gross = {
        row["currency"]: (row["n"], row["total"] or Decimal(0))
        for row in orders.order_by().values("currency").annotate(n=Count("id"), total=Sum("total"))
    }
    refunded = {
        row["currency"]: row["amount"] or Decimal(0)
        for row in returns.order_by().values("currency").annotate(amount=Sum("refund_amount"))
    }
    return [
        CurrencyTotals(
            currency=cur,
            orders=gross.get(cur, (0, Decimal(0)))[0],
            gross=quantize_money(gross.get(cur, (0, Decimal(0)))[1]),
            refunded=quantize_money(refunded.get(cur, Decimal(0))),
        )
        for cur in sorted(set(gross) | set(refunded))
    ]


def customer_purchase_summary(*, customer_id: int) -> PurchaseSummary:
    """Orders, first/last purchase, distinct products and money per currency of one customer."""
    orders = Order.objects.filter(customer_id=customer_id)
    agg = orders.aggregate(n=Count("id"), first=Min("placed_at"), last=Max("placed_at"))
    products = (
        OrderLine.objects.filter(order__customer_id=customer_id)
        .exclude(sku="", product__isnull=True)
        .values("product_id", "sku")
        .distinct()
        .count()
    )
    returns = Return.objects.filter(order__customer_id=customer_id)
    return PurchaseSummary(
        orders=agg["n"],
        first_purchase=agg["first"],
        last_purchase=agg["last"],
        products_bought=products,
        returns=returns.count(),
        by_currency=_totals_by_currency(orders, returns),
    )


def customer_orders(*, customer_id: int, limit: int = 100) -> list[Order]:
    """The newest `limit` orders of a customer, with their lines, products, store and returns."""
    return list(
        Order.objects.filter(customer_id=customer_id)
        .select_related("store")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("line_no")),
            Prefetch("returns", queryset=Return.objects.prefetch_related("lines").order_by("returned_at")),
        )
        .order_by("-placed_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class PeriodTotals:
    since: datetime
    orders: int
    buying_customers: int
    by_currency: list[CurrencyTotals]


def sales_totals(*, since: datetime, account_executive_id: int | None = None) -> PeriodTotals:
    """Orders, distinct buying customers and money per currency placed since `since`.

    With `account_executive_id`, only the orders of the customers assigned to that user.
    """
    orders = Order.objects.filter(placed_at__gte=since)
    returns = Return.objects.filter(returned_at__gte=since)
    if account_executive_id is not None:
        orders = orders.filter(customer__account_executive_id=account_executive_id)
        returns = returns.filter(order__customer__account_executive_id=account_executive_id)
    by_currency = _totals_by_currency(orders, returns)
    return PeriodTotals(
        since=since,
        orders=sum(c.orders for c in by_currency),
        buying_customers=orders.order_by().values("customer_id").distinct().count(),
        by_currency=by_currency,
    )


def customer_purchases_since(*, since: datetime) -> Exists:
    """Whether the customer `OuterRef("pk")` placed an order at or after `since` (the customer
    list's "bought in the last 12 months" filter; registered in `SalesConfig.ready`)."""
    return Exists(Order.objects.filter(customer_id=OuterRef("pk"), placed_at__gte=since))
