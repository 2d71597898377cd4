"""The dashboard's «Recalcular ahora» button in a real browser.

Test settings run django-tasks with the ImmediateBackend, so the recompute runs when the
request that enqueues it commits; the page then shows the progress fragment, whose htmx
polling finds the run finished and reloads the page with the new KPIs.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fideliza.customers.models import Customer
from fideliza.insights.models import RunStatus, SnapshotRun
from tests.clock import SPRING_FORWARD
from tests.factories.customers import customer_make
from tests.factories.sales import order_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "clave-segura-1"


@pytest.fixture(autouse=True, scope="module")
def _orm_beside_playwright_for_the_module():
    """As in test_dashboard: the flush after each transactional test runs while the
    module's browser event loop is still alive."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """From noon of 30 March 2025 (a 23-hour day), ticking: the recompute is "as of today"."""
    time_machine.move_to(SPRING_FORWARD, tick=True)


@pytest.fixture
def shop(transactional_db):
    """Three cards, two buyers, four orders, all inside the last 12 months.

    The recompute button computes "as of today", so the orders are dated from today:
    sales 430.00 by 2 buyers in 4 orders -> compra promedio 215,00, ticket medio 107,50,
    frecuencia 2,00.
    """
    today = timezone.localdate()

    def order(customer: Customer, days_ago: int, total: str) -> None:
        when = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(12))
        order_make(customer, source="test", external_id=f"{customer.pk}-{days_ago}",
                   placed_at=timezone.make_aware(when), total=total)

    ana = customer_make(first_name="Ana", last_name="García")
    blas = customer_make(first_name="Blas", last_name="Pérez")
    customer_make(first_name="Nadie", last_name="Compra")
    order(ana, 300, "100.00")
    order(ana, 100, "50.00")
    order(ana, 10, "80.00")
    order(blas, 200, "200.00")


def user(django_user_model, username: str, role: str):
    return django_user_model.objects.create_user(username=username, password=PASSWORD, role=role)


def test_owner_recomputes_and_sees_the_kpis(shop, django_user_model, page, log_in):
    user(django_user_model, "duena", "owner")
    log_in("duena", PASSWORD)
    page.goto("/panel/")
    expect(page.get_by_text("Todavía no se han calculado las métricas.")).to_be_visible()
    expect(page.locator("#kpi-customers")).to_have_count(0)

    # htmx posts the form and swaps in the progress fragment; the fragment polls until the
    # run has ended and is then told to reload the page. Both responses are caught as they
    # pass (a busy machine may finish the run before a DOM check could see the fragment).
    with page.expect_response(lambda r: "/progreso/" in r.url, timeout=30_000) as polled:
        with page.expect_response(
            lambda r: r.url.endswith("/recalcular/") and r.request.method == "POST",
            timeout=30_000,
        ) as posted:
            page.get_by_role("button", name="Recalcular ahora").click()
        fragment = posted.value.text()  # before the reload discards the response bodies
    assert 'id="run-progress"' in fragment and 'hx-trigger="every 1s"' in fragment
    assert "recompute-button" not in fragment
    assert polled.value.headers.get("hx-refresh") == "true"
    expect(page.locator("#snapshot-date")).to_contain_text("Datos de", timeout=30_000)
    run = SnapshotRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.trigger == "manual"
    assert run.requested_by.username == "duena"
    assert run.as_of == timezone.localdate()

    expect(page.locator("#kpi-customers .kpi-value")).to_have_text("3")
    expect(page.locator("#kpi-customers .kpi-note")).to_contain_text("2 con alguna compra")
    expect(page.locator("#kpi-average_purchase .kpi-value")).to_contain_text("215,00")
    expect(page.locator("#kpi-average_purchase .kpi-note")).to_contain_text("107,50")
    expect(page.locator("#kpi-frequency .kpi-value")).to_have_text("2,00")
    # Finished: no progress bar left, and the button is back for the next recompute.
    expect(page.locator("#run-progress-bar")).to_have_count(0)
    expect(page.locator("#recompute-button")).to_be_visible()


def test_staff_who_may_not_recompute_do_not_see_the_button(shop, django_user_model, page, log_in):
    user(django_user_model, "soporte", "support")
    log_in("soporte", PASSWORD)
    page.goto("/panel/")
    expect(page.get_by_role("heading", name="Panel de análisis", level=1)).to_be_visible()
    expect(page.get_by_text("Todavía no se han calculado las métricas.")).to_be_visible()
    expect(page.locator("#recompute-button")).to_have_count(0)
    expect(page.get_by_role("button", name="Recalcular ahora")).to_have_count(0)
    assert not SnapshotRun.objects.exists()
