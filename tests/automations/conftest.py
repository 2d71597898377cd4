"""Automation fixtures: customers, orders and analytics snapshot rows written directly, so
each test states exactly the situation a trigger has to recognise."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from fideliza.automations.models import Automation, AutomationStep
from fideliza.customers.models import ConsentRecord, Customer
from fideliza.insights.models import AnalyticsState, CustomerMetrics, SnapshotRun
from fideliza.sales.models import Order
from tests.factories.sales import order_row_without_hooks

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _skip_postgres_only_on_sqlite(request):
    """Before any other fixture of the test (the demo takes seconds to build)."""
    if request.node.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")


# E-mail consent granted long before any instant these tests pin.
CONSENT_GRANTED_AT = datetime(2024, 1, 8, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))


def make_customer(*, email: bool = True, consent: bool = True, **fields: Any) -> Customer:
    n = next(_seq)
    fields.setdefault("first_name", f"Cliente{n}")
    if email:
        fields.setdefault("email", f"cliente{n}@example.com")
    customer = Customer.objects.create(**fields)
    if consent:
        ConsentRecord.objects.create(customer=customer, channel="email", status="granted",
                                     recorded_at=CONSENT_GRANTED_AT, source="tests")
    return customer


def make_order(customer: Customer, placed_at: datetime, total: str = "50.00") -> Order:
    """A bare order row: triggers read purchase dates and totals, and a test may place an
    order where order_record would not (days ahead of the pinned clock)."""
    return order_row_without_hooks(customer, placed_at=placed_at, total=total, source="tests",
                                   external_id=f"o{next(_seq)}")


def snapshot(as_of: date) -> SnapshotRun:
    run = SnapshotRun.objects.create(status="succeeded", as_of=as_of)
    AnalyticsState.objects.update_or_create(pk=1, defaults={"current_run": run})
    return run


def make_metrics(customer: Customer, run: SnapshotRun, *, days_since: int, interval: float | None,
                 state: str = "at_risk") -> CustomerMetrics:
    last = run.as_of - timedelta(days=days_since)
    return CustomerMetrics.objects.create(
        customer=customer, run=run, first_purchase=last - timedelta(days=300), last_purchase=last, orders=4,
        revenue=Decimal(200), average_order_value=Decimal(50), frequency=3, recency=200, age=300,
        monetary_value=Decimal(50), r_score=2, f_score=3, m_score=3, rfm_segment="at_risk",
        abc_revenue="B", value_tier="plata", activity_state=state, days_since_last=days_since,
        usual_interval_days=interval, clv_historic=Decimal(200))


def make_automation(trigger: str, *, params: dict | None = None, holdout: str = "0", steps: int = 1,
                    delay_days: int = 0, condition: str = "", active: bool = True, **fields: Any) -> Automation:
    automation = Automation.objects.create(name=f"Auto {trigger} {next(_seq)}", trigger_kind=trigger,
                                           trigger_params=params or {}, channels=["email"],
                                           holdout_share=Decimal(holdout), is_active=active, **fields)
    for position in range(1, steps + 1):
        AutomationStep.objects.create(
            automation=automation, position=position, delay_days=delay_days if position > 1 else 0,
            condition=condition if position > 1 else "",
            email_subject=f"Paso {position} para {{{{ nombre }}}}",
            email_text=f"Hola {{{{ nombre }}}}, paso {position}.")
    return automation
