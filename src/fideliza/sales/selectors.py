"""Reads over sales: a customer's purchase timeline and summary, period totals for the
screens; set-based facts of orders and returns for the apps that react to them (loyalty,
automations, campaigns); the sales columns as SQL for the analytics adapter.

Every figure is one aggregate query on indexed columns (`order(customer, placed_at)`,
`order.placed_at`), so the same code serves 100 customers or 100 k.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone

from fideliza.catalog.models import Product
from fideliza.core.money import quantize_money
from fideliza.core.sql import sql_cents, sql_epoch_seconds

from .models import Order, OrderLine, Return, ReturnKind, Store


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


# --- facts of orders and returns, set-based, for the apps that react to them ----------

def _marks(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _datetime(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite keeps UTC datetimes as text
        value = datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _decimal(value: Any, places: Decimal = Decimal("0.01")) -> Decimal:
    # SQLite hands numeric columns back as int/float/str; PostgreSQL as Decimal.
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(places)


LineFact = tuple[int | None, int | None, Decimal, Decimal]  # product, its category, quantity, line total


def order_rows(order_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The orders of `order_ids` (one IN list) as {"id", "customer_id", "placed_at",
    "channel", "store_id", "total"}, in one query of plain cursor rows."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, customer_id, placed_at, channel, store_id, total FROM {Order._meta.db_table} "
                       f"WHERE id IN ({_marks(order_ids)})", list(order_ids))
        return [{"id": oid, "customer_id": cid, "placed_at": _datetime(placed), "channel": channel,
                 "store_id": store, "total": _decimal(total)}
                for oid, cid, placed, channel, store, total in cursor.fetchall()]


def order_facts(order_ids: Sequence[int]) -> tuple[list[dict[str, Any]], dict[int, list[LineFact]]]:
    """(orders, lines) of `order_ids` (at most a few thousand: one IN list): the orders as
    `order_rows` gives them, and {order id:
    [(product id, its category id, quantity, line total)]}. Ids that do not exist are absent.

    Plain cursor rows, two queries: loyalty runs this for every recorded order, and both
    compiling querysets and building model instances cost more than the queries."""
    orders = order_rows(order_ids)
    with connection.cursor() as cursor:
        # The join follows the line's own foreign key to its product (for the category).
        cursor.execute(
            f"SELECT l.order_id, l.product_id, p.category_id, l.quantity, l.line_total "
            f"FROM {OrderLine._meta.db_table} l LEFT JOIN {Product._meta.db_table} p ON p.id = l.product_id "
            f"WHERE l.order_id IN ({_marks(order_ids)})", list(order_ids))
        lines: dict[int, list[LineFact]] = defaultdict(list)
        for oid, pid, cat, qty, amount in cursor.fetchall():
            lines[oid].append((pid, cat, _decimal(qty, Decimal("0.001")), _decimal(amount)))
    return orders, lines


def order_ids_all() -> list[int]:
    """Every order id, ascending."""
    return list(Order.objects.order_by("id").values_list("id", flat=True))


def order_ids_placed(*, since: datetime, until: datetime) -> list[int]:
    """The ids of the orders placed in [since, until], ascending."""
    return list(Order.objects.filter(placed_at__gte=since, placed_at__lte=until)
                .order_by("id").values_list("id", flat=True))


def order_totals(order_ids: Sequence[int]) -> dict[int, Decimal]:
    """{order id: total}."""
    return dict(Order.objects.filter(pk__in=list(order_ids)).values_list("id", "total"))


def customer_ordered_before(*, customer_id: int, before: datetime) -> bool:
    """Whether the customer placed an order before `before`."""
    return Order.objects.filter(customer_id=customer_id, placed_at__lt=before).exists()


def return_ids_all() -> list[int]:
    """Every return id, ascending."""
    return list(Return.objects.order_by("id").values_list("id", flat=True))


def return_orders(return_ids: Sequence[int]) -> dict[int, int]:
    """{return id: the order it belongs to}."""
    return dict(Return.objects.filter(pk__in=list(return_ids)).values_list("id", "order_id"))


def returns_history(order_ids: Sequence[int]) -> dict[int, list[tuple[int, Decimal, datetime]]]:
    """{order id: [(return id, refund amount, returned at)]} in the order they happened, for
    cumulative shares of a refund."""
    history: dict[int, list[tuple[int, Decimal, datetime]]] = defaultdict(list)
    for rid, oid, amount, at in (Return.objects.filter(order_id__in=list(order_ids))
                                 .order_by("returned_at", "id")
                                 .values_list("id", "order_id", "refund_amount", "returned_at")):
        history[oid].append((rid, amount, at))
    return history


def refunded_by_order(order_ids: Sequence[int]) -> dict[int, Decimal]:
    """{order id: refunded so far} for the orders with a return or refund."""
    return dict(Return.objects.filter(order_id__in=list(order_ids)).values("order_id")
                .annotate(s=Sum("refund_amount")).values_list("order_id", "s"))


# --- the sales columns as SQL, for the analytics adapter (insights.adapter) -----------
# Each returns the text of one query; the adapter runs it and reads the rows into Polars.

def order_columns_sql() -> str:
    """Every order: ``order_id, customer_id, epoch`` (placed at, Unix seconds) ``, total,
    cost`` (integer cents; cost null when unknown) ``, currency``."""
    # No join: cards merged into another are remapped in Polars (the adapter reads
    # `customers.selectors.customers_merged_into`), several times faster on SQLite.
    return f"""
        SELECT o.id AS order_id, o.customer_id AS customer_id,
               {sql_epoch_seconds("o.placed_at")} AS epoch, {sql_cents("o.total")} AS total,
               {sql_cents("o.cost_total")} AS cost, o.currency AS currency
        FROM {Order._meta.db_table} o
    """


def returns_by_order_sql() -> str:
    """Per order with returns or refunds: ``order_id, returned`` (refunds of goods returned)
    ``, refunded`` (refunds without return), in integer cents."""
    return f"""
        SELECT r.order_id AS order_id,
               SUM(CASE WHEN r.kind = '{ReturnKind.RETURN}' THEN {sql_cents("r.refund_amount")} ELSE 0 END)
                   AS returned,
               SUM(CASE WHEN r.kind = '{ReturnKind.RETURN}' THEN 0 ELSE {sql_cents("r.refund_amount")} END)
                   AS refunded
        FROM {Return._meta.db_table} r GROUP BY r.order_id
    """


def product_lines_sql() -> str:
    """``order_id, product_id`` of every sold line (positive quantity) of a catalog product."""
    return f"""
        SELECT l.order_id AS order_id, l.product_id AS product_id
        FROM {OrderLine._meta.db_table} l
        WHERE l.quantity > 0 AND l.product_id IS NOT NULL
    """


def orders_placed_by(customer_ids: Iterable[int] | QuerySet[Any], *, since: datetime,
                     until: datetime) -> QuerySet[Order, tuple[int, datetime, Decimal]]:
    """(customer id, placed at, total) of the orders placed in [since, until) by the
    customers in `customer_ids`: a list, or a query of ids (`values("customer_id")`) that
    becomes a subquery, for a campaign's conversions over all its recipients."""
    return (Order.objects.filter(customer_id__in=customer_ids, placed_at__gte=since, placed_at__lt=until)
            .values_list("customer_id", "placed_at", "total"))


# --- purchases as the automations' triggers and outcomes see them ---------------------

def customers_first_ordering(*, since: datetime, until: datetime, customers: QuerySet[Any]) -> list[tuple[int, int]]:
    """(customer, their latest order) for the `customers` whose first order was placed in
    (since, until]."""
    earlier = Order.objects.filter(customer_id=OuterRef("customer_id"), placed_at__lte=since)
    rows = (Order.objects.filter(placed_at__gt=since, placed_at__lte=until, customer__in=customers)
            .filter(~Exists(earlier)).values("customer_id").annotate(order=Max("id")))
    return [(r["customer_id"], r["order"]) for r in rows]


def customers_latest_order(*, since: datetime, until: datetime, min_total: Decimal,
                           customers: QuerySet[Any]) -> list[tuple[int, int]]:
    """(customer, their latest order of at least `min_total`) for the `customers` who placed
    one in (since, until]."""
    rows = (Order.objects.filter(placed_at__gt=since, placed_at__lte=until, total__gte=min_total,
                                 customer__in=customers)
            .values("customer_id").annotate(order=Max("id")))
    return [(r["customer_id"], r["order"]) for r in rows]


def orders_in_window(*, customer: Any, after: Any, until: Any, after_inclusive: bool = False) -> QuerySet[Order]:
    """The orders of `customer` placed after `after` (or at it, with `after_inclusive`) and
    at or before `until`; each may be an `OuterRef` or an expression, for a subquery of
    another app's query (`Exists(...)`, `order_revenue(...)`)."""
    start = {"placed_at__gte" if after_inclusive else "placed_at__gt": after}
    return Order.objects.filter(customer_id=customer, placed_at__lte=until, **start)


def order_revenue(orders: QuerySet[Order]) -> Subquery:
    """The sum of the totals of `orders` (from `orders_in_window`), as a subquery (null
    without orders)."""
    return Subquery(orders.values("customer_id").annotate(s=Sum("total")).values("s")[:1],
                    output_field=DecimalField(max_digits=14, decimal_places=2))


def last_order_at(customer_ids: Iterable[int], *, after: datetime) -> dict[int, datetime]:
    """{customer: when they last ordered} for the customers who ordered after `after`."""
    return dict(Order.objects.filter(customer_id__in=set(customer_ids), placed_at__gt=after)
                .values("customer_id").annotate(last=Max("placed_at")).values_list("customer_id", "last"))


def orders_count_except(sources: Iterable[str]) -> int:
    """How many orders came from none of `sources`."""
    return Order.objects.exclude(source__in=list(sources)).count()


def customer_has_orders() -> Exists:
    """Whether the customer `OuterRef("pk")` has any order."""
    return Exists(Order.objects.filter(customer=OuterRef("pk")))


# --- conditions on customers for the segment rules (each a Q on a Customer query) -----

def customers_last_ordered_between(since: datetime | None, end: datetime | None) -> Q:
    """Customers whose last order was placed in [since, end) (None = open end)."""
    orders = Order.objects.filter(customer=OuterRef("pk"))
    bought = orders.filter(placed_at__gte=since) if since is not None else orders
    if end is None:
        return Q(Exists(bought))
    return Q(Exists(bought.filter(placed_at__lt=end))) & ~Q(Exists(orders.filter(placed_at__gte=end)))


def customers_with_order_count(low_bound: Decimal | None, high_bound: Decimal | None) -> Q:
    """Customers with a number of orders in [low, high] (None = open end); customers
    without orders count 0."""
    # A count is whole: [1.5, 3.5] is [2, 3] (the integer lookup would truncate 1.5 to 1).
    low = math.ceil(low_bound) if low_bound is not None else None
    high = math.floor(high_bound) if high_bound is not None else None
    counts = Order.objects.values("customer_id").annotate(n=Count("pk"))
    if (low is None or low <= 0) and (high is None or high >= 0):
        # Zero is in range: everybody except those with a count outside it.
        outside = [q for q in (Q(n__lt=low) if low is not None else None,
                               Q(n__gt=high) if high is not None else None) if q is not None]
        if not outside:
            return Q(pk__isnull=False)
        return ~Q(pk__in=counts.filter(outside[0] if len(outside) == 1 else outside[0] | outside[1])
                  .values("customer_id"))
    if low is not None:
        counts = counts.filter(n__gte=low)
    if high is not None:
        counts = counts.filter(n__lte=high)
    return Q(pk__in=counts.values("customer_id"))


def customers_bought(*, products: QuerySet[Any], skus: Sequence[str] = ()) -> Q:
    """Customers with an order line of one of `products` (a query of product ids) or of
    one of `skus` (lines keep the SKU of products no longer in the catalog)."""
    lines = OrderLine.objects.filter(order__customer=OuterRef("pk"))
    match = Q(product__in=products) | Q(sku__in=list(skus)) if skus else Q(product__in=products)
    return Q(Exists(lines.filter(match)))


def customer_spent_since(since: datetime) -> Subquery:
    """What the customer `OuterRef("pk")` spent (order totals) since `since`, as a subquery
    (null without orders)."""
    return Subquery(Order.objects.filter(customer=OuterRef("pk"), placed_at__gte=since)
                    .values("customer").annotate(s=Sum("total")).values("s")[:1])


@dataclass(frozen=True)
class SalesVolume:
    orders: int
    order_lines: int
    returns: int
    revenue: Decimal  # order totals, every currency added up (the demo has one)
    refunds: Decimal


def sales_volume() -> SalesVolume:
    """How much was sold and refunded in all (the demo's summary)."""
    # SQLite sums decimals as floats: round back to cents (exact for any realistic total).
    return SalesVolume(
        orders=Order.objects.count(), order_lines=OrderLine.objects.count(), returns=Return.objects.count(),
        revenue=quantize_money(Order.objects.aggregate(s=Sum("total"))["s"] or 0),
        refunds=quantize_money(Return.objects.aggregate(s=Sum("refund_amount"))["s"] or 0))


def orders_by_source_ids(source: str, external_ids: Iterable[str]) -> dict[tuple[str, str], Order]:
    """{(source, external id): order} for the orders `source` sent with these ids."""
    return {(o.source, o.external_id): o
            for o in Order.objects.filter(source=source, external_id__in=list(external_ids))}


def store_ids_by_code() -> dict[str, int]:
    """{store code: store id} of every store."""
    return dict(Store.objects.values_list("code", "pk"))


def store_names() -> dict[int, str]:
    """{store id: name} of every store (a handful of rows)."""
    return dict(Store.objects.values_list("pk", "name"))


def order_external_ids(source: str, external_ids: Sequence[str] | None = None) -> list[str]:
    """The external ids of `source`'s orders: among `external_ids` (one IN list), or all of
    them (read in chunks of 50,000)."""
    qs = Order.objects.filter(source=source)
    if external_ids is None:
        return list(qs.values_list("external_id", flat=True).iterator(chunk_size=50_000))
    return list(qs.filter(external_id__in=list(external_ids)).values_list("external_id", flat=True))


# --- periods and habits, for the retention goals and the six-moves plan ---------------

def stores_all() -> QuerySet[Store]:
    """Every store, by name (the goals' store choice)."""
    return Store.objects.order_by("name", "code")


def orders_between(*, since: datetime | None, until: datetime, customers: QuerySet[Any] | None = None,
                   store_id: int | None = None, currency: str | None = None) -> QuerySet[Order]:
    """Orders placed in [since, until) (no lower bound with None), optionally only of
    `customers` (a query of customers), at one store, in one currency: a retention goal's
    period, as a query the caller aggregates (`values("customer_id")`, `Sum("total")`)."""
    orders = Order.objects.filter(placed_at__lt=until)
    if since is not None:
        orders = orders.filter(placed_at__gte=since)
    if customers is not None:
        orders = orders.filter(customer_id__in=customers.values("pk"))
    if store_id is not None:
        orders = orders.filter(store_id=store_id)
    if currency is not None:
        orders = orders.filter(currency=currency)
    return orders


def customers_of_one_category(*, since: datetime) -> QuerySet[Any]:
    """Ids of the customers who ordered since `since` and whose order lines, all of their
    history, are all of products of one single category (lines without a product or a
    category are not counted): the cross-sell candidates of the plan («solo compran una
    categoría»)."""
    recent = Order.objects.filter(placed_at__gte=since).values("customer_id")
    # One category ⇔ the lowest and the highest category are the same: cheaper than a
    # distinct count (no set per customer), same answer.
    return (OrderLine.objects.filter(order__customer_id__in=recent, product__category__isnull=False)
            .order_by().values("order__customer_id")
            .annotate(lowest=Min("product__category"), highest=Max("product__category"))
            .filter(lowest=F("highest")).values("order__customer_id"))


def customers_with_returns_since(*, since: datetime) -> QuerySet[Any]:
    """Ids of the customers who returned something since `since` (the recovery move)."""
    return Return.objects.filter(returned_at__gte=since).order_by().values("order__customer_id")


def sales_version() -> tuple[Any, ...]:
    """How many orders and returns, their last ids, latest dates and total amounts: changes
    whenever an order or a return is recorded, deleted or corrected, for caches of figures
    computed from every sale (one aggregate query per table)."""
    orders = Order.objects.aggregate(n=Count("pk"), last=Max("pk"), at=Max("placed_at"), total=Sum("total"))
    returns = Return.objects.aggregate(n=Count("pk"), last=Max("pk"), at=Max("returned_at"),
                                       total=Sum("refund_amount"))
    return tuple(orders.values()) + tuple(returns.values())
