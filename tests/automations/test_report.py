"""The uplift report: conversion and revenue of the treated against the holdout."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from fideliza.automations.models import Enrollment
from fideliza.automations.selectors import automation_report
from fideliza.customers.models import Customer
from fideliza.sales.models import Order

from .conftest import make_automation

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 30, 12, tzinfo=ZoneInfo("Europe/Madrid"))


def test_report_measures_a_known_effect():
    """Simulated: the holdout buys with probability 0.10, the treated with 0.25 (true effect
    +0.15), each buyer spending 40 €. Orders outside the 14-day window, before enrolling,
    or of enrolments whose window is still open must not count."""
    rng = random.Random(7)
    automation = make_automation("welcome", holdout="0.5", conversion_days=14)
    enrolled_at = NOW - timedelta(days=20)
    customers = Customer.objects.bulk_create([Customer(first_name=f"S{i}") for i in range(1300)])
    enrollments, orders = [], []
    truth = {"treated": [0, 0], "holdout": [0, 0]}
    for i, c in enumerate(customers[:1200]):
        group = "treated" if i % 2 else "holdout"
        enrollments.append(Enrollment(automation=automation, customer=c, trigger_key="first_purchase", group=group,
                                      enrolled_at=enrolled_at, state="completed"))
        truth[group][0] += 1
        if rng.random() < (0.25 if group == "treated" else 0.10):
            truth[group][1] += 1
            orders.append(Order(customer=c, source="sim", external_id=f"in{i}", total=Decimal("40.00"),
                                placed_at=enrolled_at + timedelta(days=rng.randrange(1, 14))))
        # Noise that must be ignored: before enrolling, and after the window.
        orders.append(Order(customer=c, source="sim", external_id=f"before{i}", total=Decimal("99"),
                            placed_at=enrolled_at - timedelta(days=1)))
        orders.append(Order(customer=c, source="sim", external_id=f"after{i}", total=Decimal("99"),
                            placed_at=enrolled_at + timedelta(days=15)))
    for i, c in enumerate(customers[1200:]):  # window still open: left out
        enrollments.append(Enrollment(automation=automation, customer=c, trigger_key="first_purchase",
                                      group="treated", enrolled_at=NOW - timedelta(days=3), state="completed"))
        orders.append(Order(customer=c, source="sim", external_id=f"open{i}", total=Decimal("40"),
                            placed_at=NOW - timedelta(days=1)))
    Enrollment.objects.bulk_create(enrollments)
    Order.objects.bulk_create(orders)

    report = automation_report(automation, now=NOW)
    assert (report["treated"], report["holdout"], report["open_windows"]) == (600, 600, 100)
    assert report["treated_conversions"] == truth["treated"][1]
    assert report["holdout_conversions"] == truth["holdout"][1]
    assert report["treated_revenue"] == Decimal(40) * truth["treated"][1]
    uplift = report["uplift"]
    low, high = uplift.conversion_diff_ci
    assert low < 0.15 < high and low > 0  # covers the true effect, and tells it from zero
    rev_low, rev_high = uplift.revenue_diff_ci
    assert rev_low < 0.15 * 40 < rev_high
    assert uplift.explanation
