"""A small business whose every customer is known, to check segments against Python."""

import random
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from fideliza.catalog.models import Category, Product
from fideliza.customers.models import ConsentRecord, Customer, Tag
from fideliza.insights.models import CustomerMetrics, SnapshotRun
from tests.clock import FALL_BACK
from tests.factories.sales import order_make

TZ = ZoneInfo("Europe/Madrid")
CITIES = ["Córdoba", "Sevilla", "Madrid"]
TIERS = ["platino", "oro", "plata", "bronce"]
STATES = ["active", "at_risk", "dormant", "lost"]


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """Noon of 26 October 2025, the day Madrid's clocks went back an hour: "days without
    buying", ages and birthdays in the rules count from there (test_rules.TODAY)."""
    time_machine.move_to(FALL_BACK, tick=False)


@pytest.fixture
def shop(db):
    rng = random.Random(11)
    gaps = random.Random(5)  # NULL model outputs on some snapshot rows (own stream: data above unchanged)
    today = timezone.localdate()
    tools = Category.objects.create(name="Herramientas")
    power = Category.objects.create(name="Eléctricas", parent=tools)
    garden = Category.objects.create(name="Jardín")
    products = [
        Product.objects.create(sku="TAL-1", name="Taladro", category=power, list_price=Decimal("80")),
        Product.objects.create(sku="MAR-1", name="Martillo", category=tools, list_price=Decimal("12")),
        Product.objects.create(sku="MAN-1", name="Manguera", category=garden, list_price=Decimal("20")),
    ]
    tags = [Tag.objects.create(name=n) for n in ("bricolaje", "jardinería")]
    run = SnapshotRun.objects.create(status="done", as_of=today)
    people = []
    for i in range(60):
        c = Customer.objects.create(
            first_name=f"Cliente{i}", city=rng.choice(CITIES),
            gender=rng.choice(["female", "male", ""]),
            birth_date=(today - timedelta(days=rng.randrange(18 * 365, 80 * 365))) if rng.random() < 0.8 else None,
            acquisition_date=today - timedelta(days=900),
        )
        if rng.random() < 0.5:
            c.interests.add(rng.choice(tags))
        for _ in range(rng.randrange(0, 3)):
            ConsentRecord.objects.create(customer=c, channel="email",
                                         status=rng.choice(["granted", "withdrawn"]),
                                         recorded_at=timezone.now() - timedelta(days=rng.randrange(1, 500)),
                                         source="test")
        n_orders = rng.choice([0, 1, 2, 4])
        last = None
        for k in range(n_orders):
            days_ago = rng.randrange(0, 400)
            placed = datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), tzinfo=TZ) \
                + timedelta(hours=rng.randrange(9, 20))
            order_make(c, placed_at=placed, source="t", external_id=f"{i}-{k}",
                       items=[(rng.choice(products), 1, "10")])
            last = max(last or placed.date(), timezone.localtime(placed).date())
        if n_orders:
            CustomerMetrics.objects.create(
                customer=c, run=run, first_purchase=last, last_purchase=last, orders=n_orders,
                revenue=Decimal(10 * n_orders), average_order_value=Decimal(10), frequency=n_orders - 1,
                recency=0, age=0, monetary_value=Decimal(10), r_score=3, f_score=3, m_score=3,
                rfm_segment=rng.choice(["champions", "lost", "at_risk"]),
                abc_revenue=rng.choice("ABC"), value_tier=rng.choice(TIERS),
                activity_state=rng.choice(STATES), days_since_last=(today - last).days,
                churn_risk=round(rng.random(), 3), p_alive=round(rng.random(), 3),
                clv_historic=Decimal(10 * n_orders), clv_predicted=Decimal(rng.randrange(0, 500)),
            )
            if gaps.random() < 0.25:  # a model could not score this customer
                c.metrics.churn_risk = c.metrics.p_alive = c.metrics.clv_predicted = None
                c.metrics.save()
        people.append(c)
    return {"customers": people, "products": products, "categories": (tools, power, garden), "today": today}
