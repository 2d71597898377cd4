"""`sales.selectors`: a customer's purchase summary and period totals, per currency."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from fideliza.sales.selectors import customer_orders, customer_purchase_summary, sales_totals
from tests.clock import MADRID, SPRING_FORWARD
from tests.factories.customers import customer_make
from tests.factories.sales import order_make, return_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(customer, products):
    """Two euro orders, one in dollars, one hammer returned."""
    first = order_make(customer, placed_at=datetime(2025, 1, 10, 18, tzinfo=MADRID),
                       items=[(products["drill"], 1), (products["hammer"], 2)])          # 140,00 €
    second = order_make(customer, placed_at=datetime(2025, 3, 29, 11, tzinfo=MADRID), items=[(products["drill"], 1)],
                        lines=[{"description": "Portes", "quantity": 1, "unit_price": "4.95"}])  # 104,95 €
    dollars = order_make(customer, placed_at=datetime(2025, 2, 1, 10, tzinfo=MADRID), currency="USD",
                         items=[(products["drill"], 1, "110.00")])
    return_make(first, returned_at=datetime(2025, 1, 12, 10, tzinfo=MADRID), line_quantities={2: 1})
    return first, second, dollars


def test_purchase_summary_keeps_currencies_apart(customer, history):
    summary = customer_purchase_summary(customer_id=customer.pk)
    assert (summary.orders, summary.returns) == (3, 1)
    assert (summary.first_purchase, summary.last_purchase) == (
        datetime(2025, 1, 10, 18, tzinfo=MADRID), datetime(2025, 3, 29, 11, tzinfo=MADRID))
    assert summary.products_bought == 2  # drill and hammer; "Portes" is no product
    eur, usd = summary.by_currency
    assert (eur.currency, eur.orders, eur.gross, eur.refunded, eur.net) == (
        "EUR", 2, Decimal("244.95"), Decimal("20.00"), Decimal("224.95"))
    assert eur.average_ticket == Decimal("122.48")  # 122.475 rounded half up
    assert (usd.currency, usd.orders, usd.gross, usd.net) == ("USD", 1, Decimal("110.00"), Decimal("110.00"))


def test_a_customer_without_orders_has_an_empty_summary(customer):
    summary = customer_purchase_summary(customer_id=customer.pk)
    assert (summary.orders, summary.first_purchase, summary.by_currency) == (0, None, [])


def test_customer_orders_newest_first_with_their_lines_and_returns(customer, history, django_assert_max_num_queries):
    first, second, dollars = history
    with django_assert_max_num_queries(4):
        orders = customer_orders(customer_id=customer.pk)
        shown = [(o.pk, [ln.line_no for ln in o.lines.all()], len(o.returns.all())) for o in orders]
    assert shown == [(second.pk, [1, 2], 0), (dollars.pk, [1], 0), (first.pk, [1, 2], 1)]
    assert [o.pk for o in customer_orders(customer_id=customer.pk, limit=1)] == [second.pk]


def test_period_totals_start_at_local_midnight_on_the_dst_day(customer, products, owner):
    """30 March 2025 began at 23:00 UTC on the 29th (CET); the orders a minute either side."""
    midnight = datetime(2025, 3, 30, 0, 0, tzinfo=MADRID)
    order_make(customer, placed_at=datetime(2025, 3, 29, 23, 59, tzinfo=MADRID), total="10.00")
    order_make(customer, placed_at=midnight, total="25.00")
    later = order_make(customer, placed_at=SPRING_FORWARD, total="5.00")
    return_make(later, returned_at=SPRING_FORWARD, amount="5.00")
    today = sales_totals(since=midnight)
    assert (today.orders, today.buying_customers) == (2, 1)
    (eur,) = today.by_currency
    assert (eur.gross, eur.refunded, eur.net) == (Decimal("30.00"), Decimal("5.00"), Decimal("25.00"))


def test_period_totals_of_one_account_executive(customer, products, django_user_model):
    rep = django_user_model.objects.create_user(username="rep1", password="clave-segura-1", role="sales_rep")
    mine = customer_make(first_name="Mía", account_executive=rep)
    since = datetime(2025, 3, 1, tzinfo=MADRID)
    kept = order_make(mine, placed_at=SPRING_FORWARD, total="70.00")
    return_make(kept, returned_at=SPRING_FORWARD, amount="20.00")
    other = order_make(customer, placed_at=SPRING_FORWARD, total="999.00")
    return_make(other, returned_at=SPRING_FORWARD, amount="9.00")
    totals = sales_totals(since=since, account_executive_id=rep.pk)
    assert (totals.orders, totals.buying_customers) == (1, 1)
    assert [(t.gross, t.refunded) for t in totals.by_currency] == [(Decimal("70.00"), Decimal("20.00"))]
