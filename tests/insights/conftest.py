"""A small hand-made business whose snapshot numbers are computed by hand in the tests.

Dates are the shop's local dates (TIME_ZONE Europe/Madrid in the settings). The rows are
created with the ORM directly: these fixtures stand for data already in the database.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from fideliza.catalog.models import Category, PathLevel, Product
from fideliza.customers.models import Customer
from fideliza.sales.models import Order, OrderLine, Return, ReturnKind

MADRID = ZoneInfo("Europe/Madrid")
AS_OF = dt.date(2025, 6, 30)


def local(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=MADRID)


def make_order(customer, when, total, cost=None, *, product=None, ext=None) -> Order:
    total = Decimal(total)
    order = Order.objects.create(
        customer=customer,
        source="test",
        external_id=ext or f"{customer.pk}-{when.isoformat()}",
        placed_at=when,
        subtotal=total,
        total=total,
        cost_total=None if cost is None else Decimal(cost),
    )
    if product is not None:
        OrderLine.objects.create(
            order=order, line_no=1, product=product, sku=product.sku, quantity=Decimal(1),
            unit_price=total, unit_cost=None if cost is None else Decimal(cost), line_total=total,
        )
    return order


@pytest.fixture
def catalog(db):
    tools = Category.objects.create(name="Herramientas")
    paint = Category.objects.create(name="Pintura")
    return {
        "drill": Product.objects.create(sku="TAL-1", name="Taladro", category=tools,
                                        list_price=Decimal("100"), path_level=PathLevel.MAIN),
        "brush": Product.objects.create(sku="BRO-1", name="Brocha", category=paint,
                                        list_price=Decimal("5"), path_level=PathLevel.ENTRY),
        "paint": Product.objects.create(sku="PIN-1", name="Pintura blanca", category=paint,
                                        list_price=Decimal("30"), path_level=PathLevel.VALUE),
    }


@pytest.fixture
def small_business(catalog):
    """Four customers (see the module docstring of test_compute for the hand numbers)."""
    ana = Customer.objects.create(first_name="Ana", last_name="García")
    blas = Customer.objects.create(first_name="Blas", last_name="Pérez")
    carmen = Customer.objects.create(first_name="Carmen", last_name="Ruiz")
    dario = Customer.objects.create(first_name="Darío", last_name="López")
    nadie = Customer.objects.create(first_name="Nadie", last_name="Compra")
    # Ana: three orders, costs known.
    make_order(ana, local(2025, 1, 10), "100.00", "60.00", product=catalog["drill"])
    make_order(ana, local(2025, 3, 10), "50.00", "20.00", product=catalog["paint"])
    make_order(ana, local(2025, 6, 1), "80.00", "50.00", product=catalog["paint"])
    # Blas: one order of 200 with unknown cost, 50 of it returned.
    blas_order = make_order(blas, local(2024, 7, 1), "200.00", product=catalog["drill"])
    Return.objects.create(order=blas_order, kind=ReturnKind.RETURN, source="test",
                          external_id="R1", returned_at=local(2024, 7, 5),
                          refund_amount=Decimal("50.00"))
    # Carmen: 29 June, and one at 00:30 on 1 July local time (22:30 UTC on 30 June),
    # which is after the observation end.
    make_order(carmen, local(2025, 6, 29), "30.00", "10.00", product=catalog["brush"])
    make_order(carmen, local(2025, 7, 1, 0, 30), "45.00", "15.00", product=catalog["paint"])
    # Darío: one order refunded in full (no return of goods): not a purchase.
    dario_order = make_order(dario, local(2025, 2, 1), "60.00", "30.00")
    Return.objects.create(order=dario_order, kind=ReturnKind.REFUND, source="test",
                          external_id="R2", returned_at=local(2025, 2, 3),
                          refund_amount=Decimal("60.00"))
    return {"ana": ana, "blas": blas, "carmen": carmen, "dario": dario, "nadie": nadie}


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, role: str):
        return django_user_model.objects.create_user(username=username, password="clave-segura-1",
                                                     role=role)
    return make


def load_demo_frames(data) -> dict[int, Customer]:
    """Load a `fideliza.demo.generator.DemoData` into the tables with bulk_create.

    Test data only (services are bypassed on purpose: these rows stand for history that
    is already in the database). Returns {demo person: Customer}.
    """
    import polars as pl

    from fideliza.demo.generator import DemoData

    assert isinstance(data, DemoData)
    cents = lambda c: None if c is None else Decimal(int(c)) / 100  # noqa: E731
    categories = {name: Category.objects.create(name=name)
                  for name in sorted(set(data.products["category"].to_list()))}
    products = Product.objects.bulk_create([
        Product(sku=r["sku"], name=r["name"], category=categories[r["category"]],
                list_price=cents(r["list_price_c"]), unit_cost=cents(r["unit_cost_c"]),
                path_level=r["path_level"] or "")
        for r in data.products.iter_rows(named=True)
    ])
    people = data.people.filter(pl.col("person").is_in(data.lines["customer"].unique().implode()))
    customers = Customer.objects.bulk_create([
        Customer(first_name=r["first_name"] or "", last_name=r["last_name"] or "",
                 company_name=r["company_name"] or "", acquisition_date=r["acquisition_date"],
                 acquisition_cost=cents(r["acquisition_cost_c"]))
        for r in people.iter_rows(named=True)
    ])
    by_person = dict(zip(people["person"].to_list(), customers, strict=True))
    orders_frame = data.lines.group_by("order_key").agg(
        pl.col("customer").first(), pl.col("placed_at").first(), pl.col("channel").first(),
        pl.col("line_total_c").sum().alias("total_c"),
        (pl.col("unit_cost_c") * pl.col("quantity")).sum().alias("cost_c"),
    ).sort("order_key")
    orders = Order.objects.bulk_create([
        Order(customer=by_person[r["customer"]], source="demo", external_id=str(r["order_key"]),
              placed_at=r["placed_at"].replace(tzinfo=MADRID), channel=r["channel"],
              subtotal=cents(r["total_c"]), total=cents(r["total_c"]), cost_total=cents(r["cost_c"]))
        for r in orders_frame.iter_rows(named=True)
    ], batch_size=2000)
    order_by_key = dict(zip(orders_frame["order_key"].to_list(), orders, strict=True))
    OrderLine.objects.bulk_create([
        OrderLine(order=order_by_key[r["order_key"]], line_no=r["line_no"],
                  product=products[r["product"]], sku=r["sku"], quantity=Decimal(r["quantity"]),
                  unit_price=cents(r["unit_price_c"]), unit_cost=cents(r["unit_cost_c"]),
                  discount=cents(r["discount_c"]), line_total=cents(r["line_total_c"]))
        for r in data.lines.iter_rows(named=True)
    ], batch_size=5000)
    return by_person


@pytest.fixture(scope="session")
def demo_data():
    from fideliza.demo.generator import DemoSpec, generate

    return generate(DemoSpec(customers=300, seed=3))


@pytest.fixture
def demo_business(db, demo_data):
    """The demo generator's hardware store with 300 people (about 1,300 orders)."""
    return load_demo_frames(demo_data)
