"""Issue 4's browser test: build «clientes Oro de Córdoba que no compran hace 90 días» in the
rule builder, see the live count, save it, and find the segment on a member's 360° card."""

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fideliza.customers.models import Customer
from fideliza.insights.models import CustomerMetrics, SnapshotRun
from fideliza.segments.models import Segment
from tests.clock import FALL_BACK
from tests.factories.customers import customer_make
from tests.factories.sales import order_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "Clientes Oro de Córdoba que no compran hace 90 días"


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """From noon of 26 October 2025 (the autumn DST change), ticking: "90 days without buying"
    reaches back across it."""
    time_machine.move_to(FALL_BACK, tick=True)


def _customer(first: str, last: str, city: str, tier: str | None, days_ago: list[int]) -> Customer:
    """A customer with orders `days_ago` days back and, if `tier`, a snapshot row."""
    today = timezone.localdate()
    c = customer_make(first_name=first, last_name=last, city=city)
    for k, days in enumerate(days_ago):
        placed = datetime.combine(today - timedelta(days=days), time(12), tzinfo=timezone.get_current_timezone())
        order_make(c, external_id=f"{c.pk}-{k}", placed_at=placed, total="50")
    if tier is not None:
        run = SnapshotRun.objects.get_or_create(status="succeeded", as_of=today)[0]
        last = today - timedelta(days=min(days_ago))
        CustomerMetrics.objects.create(
            customer=c, run=run, first_purchase=today - timedelta(days=max(days_ago)), last_purchase=last,
            orders=len(days_ago), revenue=Decimal(50 * len(days_ago)), average_order_value=Decimal(50),
            frequency=len(days_ago) - 1, recency=0, age=0, monetary_value=Decimal(50), r_score=2, f_score=3,
            m_score=4, rfm_segment="at_risk", abc_revenue="A", value_tier=tier, activity_state="at_risk",
            days_since_last=min(days_ago), clv_historic=Decimal(50 * len(days_ago)),
        )
    return c


@pytest.fixture
def base(db):
    """Three customers match; every other one misses exactly one of the three conditions."""
    members = [
        _customer("Rosa", "Molina Serrano", "Córdoba", "oro", [120, 400]),
        _customer("Andrés", "Luque Cabello", "Córdoba", "oro", [91, 300, 500]),
        _customer("Pilar", "Nieto Roldán", "córdoba", "oro", [200]),
    ]
    _customer("Javier", "Reyes", "Córdoba", "oro", [10, 150])      # bought 10 days ago
    _customer("Lucía", "Campos", "Córdoba", "oro", [45])           # 45 days
    _customer("Manuel", "Ortega", "Córdoba", "plata", [200])        # not oro
    _customer("Elena", "Prieto", "Sevilla", "oro", [200])           # not Córdoba
    _customer("Tomás", "Vega", "Córdoba", None, [200])              # no snapshot row: not oro
    Customer.objects.create(first_name="Sin", last_name="Compras", city="Córdoba")  # no orders
    return members


def _rule(page, index: int, field: str, cmp: str, value: str, *, choice: bool = False) -> None:
    page.get_by_role("button", name="Añadir regla").click()
    row = page.locator("#rules-list li").nth(index)
    row.get_by_label("Campo").select_option(label=field)
    row.get_by_label("Condición").select_option(label=cmp)
    if choice:
        row.get_by_label("Valor").select_option(label=value)
    else:
        row.get_by_label("Valor").fill(value)


def test_build_oro_de_cordoba_segment_count_save_and_see_it_on_the_card(page, log_in, owner, base):
    log_in("duena", "clave-segura-1")
    page.goto("/segmentos/")
    page.get_by_role("link", name="Nuevo segmento").click()
    page.get_by_label("Nombre").fill(NAME)

    _rule(page, 0, "Nivel de valor", "es", "Oro", choice=True)
    count = page.locator("#segment-count")
    expect(count).to_contain_text("clientes")  # the live count answers after the first rule
    _rule(page, 1, "Ciudad", "es", "Córdoba")
    _rule(page, 2, "Días sin comprar", "≥", "90")
    # Hand count: Rosa, Andrés and Pilar (see `base`).
    expect(count.locator("[data-count]")).to_have_attribute("data-count", "3")
    expect(count).to_contain_text("3 clientes")
    expect(count).to_contain_text("Nivel de valor es Oro y ciudad es Córdoba")  # one sentence, labels not codes

    page.get_by_role("button", name="Guardar segmento").click()
    expect(page.get_by_role("heading", name=NAME, level=1)).to_be_visible()
    expect(page.locator("#segment-size")).to_have_text("3")
    segment = Segment.objects.get(name=NAME)
    assert set(segment.members.values_list("customer_id", flat=True)) == {c.pk for c in base}

    # A member's 360° card lists the segment.
    page.get_by_role("link", name="Pilar Nieto Roldán").click()
    expect(page).to_have_url(re.compile(rf"/clientes/{base[2].pk}/$"))
    expect(page.get_by_role("heading", name="Pilar Nieto Roldán", level=1)).to_be_visible()
    segments = page.locator("#segmentos")
    expect(segments.get_by_role("link", name=NAME)).to_be_visible()
