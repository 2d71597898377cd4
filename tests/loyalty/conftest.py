"""Loyalty fixtures: a program like the seed's (3x / 2x / 1x), products, orders through
the real recording services (so the accrual hook runs exactly as in production)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from fideliza.accounts.services import Actor
from fideliza.catalog.models import Category, Product
from fideliza.customers.services import customer_create
from fideliza.loyalty.models import EarningRule, Program, RuleKind, Tier
from fideliza.sales.services import order_record, return_record
from tests.clock import SPRING_FORWARD

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _skip_postgres_only_on_sqlite(request):
    if request.node.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no row locks for concurrent writers")


@pytest.fixture(autouse=True)
def _clock(request, time_machine):
    """Every loyalty test runs at noon of 30 March 2025, the day Madrid moved to summer time
    (orders "now", points living 365 days, tiers over 12 months all start from there).

    A module whose server processes read the real clock (time_machine reaches only this
    process) says so with a module-level `REAL_CLOCK = "<why>"`.
    """
    if getattr(request.module, "REAL_CLOCK", None):
        return
    # Frozen, except under a browser: the live server and the page wait on time passing.
    time_machine.move_to(SPRING_FORWARD, tick=bool(request.node.get_closest_marker("browser")))


@pytest.fixture
def actor() -> Actor:
    return Actor.system("tests")


@pytest.fixture
def catalog(db):
    tools = Category.objects.create(name="Herramientas")
    power = Category.objects.create(name="Eléctricas", parent=tools)
    paint = Category.objects.create(name="Pintura")
    misc = Category.objects.create(name="Varios")
    return {
        "tools": tools, "power": power, "paint_cat": paint, "misc": misc,
        "drill": Product.objects.create(sku="TAL-1", name="Taladro", category=power, list_price=Decimal("100.00")),
        "hammer": Product.objects.create(sku="MAR-1", name="Martillo", category=tools, list_price=Decimal("20.00")),
        "paint": Product.objects.create(sku="PIN-1", name="Pintura blanca", category=paint, list_price=Decimal("30.00")),
        "nails": Product.objects.create(sku="CLA-1", name="Clavos", category=misc, list_price=Decimal("5.00")),
    }


@pytest.fixture
def program(catalog):
    """1 point per euro; 3x in Herramientas (and its subcategories), 2x in Pintura."""
    program = Program.objects.create(name="Club Ferretería", point_value=Decimal("0.01"),
                                     join_points=50, expiry_days=365)
    EarningRule.objects.create(program=program, name="Base", kind=RuleKind.PER_AMOUNT, points=1)
    EarningRule.objects.create(program=program, name="Herramientas x3", kind=RuleKind.PER_AMOUNT,
                               points=1, multiplier=3, category=catalog["tools"])
    EarningRule.objects.create(program=program, name="Pintura x2", kind=RuleKind.PER_AMOUNT,
                               points=1, multiplier=2, category=catalog["paint_cat"])
    return program


@pytest.fixture
def tiers(program):
    return [Tier.objects.create(program=program, name=n, rank=r, threshold=t, earn_multiplier=m)
            for n, r, t, m in [("Bronce", 0, 0, 1), ("Plata", 1, 200, Decimal("1.25")),
                               ("Oro", 2, 1000, Decimal("1.5")), ("Platino", 3, 5000, 2)]]


def make_customer(**data):
    n = next(_seq)
    data.setdefault("first_name", f"Cliente{n}")
    data.setdefault("email", f"cliente{n}@example.com")
    return customer_create(actor=Actor.system("tests"), data=data)


def make_order(customer, items, *, placed_at: datetime | None = None, channel="store", external_id=None):
    """items: [(product, quantity)] or [(product, quantity, unit_price)]."""
    lines = []
    for item in items:
        line = {"sku": item[0].sku, "quantity": Decimal(item[1])}
        if len(item) > 2:
            line["unit_price"] = Decimal(item[2])
        lines.append(line)
    return order_record(actor=Actor.system("tests"), customer=customer, source="tpv",
                        external_id=external_id or f"T-{next(_seq)}",
                        placed_at=placed_at or timezone.now() - timedelta(minutes=1),
                        lines=lines, channel=channel)


def make_return(order, *, amount: Decimal | None = None, line_quantities=None, when=None):
    """A money refund of `amount`, or goods returned: {line_no: quantity}."""
    lines = [{"line_no": no, "quantity": Decimal(q)} for no, q in (line_quantities or {}).items()]
    return return_record(actor=Actor.system("tests"), order=order, external_id=f"R-{next(_seq)}",
                         lines=lines, kind="return" if lines else "refund", refund_amount=amount,
                         returned_at=when or timezone.now())


@pytest.fixture
def customer(db):
    return make_customer()


class Api:
    """JSON client with a token, through the whole HTTP stack."""

    def __init__(self, token: str) -> None:
        from django.test import Client

        self.client = Client(headers={"Authorization": f"Bearer {token}"})

    def get(self, path: str):
        return self.client.get(path)

    def post(self, path: str, body, **headers: str):
        import json

        return self.client.post(path, json.dumps(body, default=str), content_type="application/json",
                                headers=headers)


@pytest.fixture
def api_token(owner) -> str:
    from fideliza.accounts.services import api_token_create

    return api_token_create(user=owner, name="TPV tienda 1")[1]


@pytest.fixture
def api(api_token) -> Api:
    return Api(api_token)
