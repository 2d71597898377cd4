"""«¿Qué tan fiable es?» on the dashboard of the demo business, in a real browser (issue 19)."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from playwright.sync_api import expect

from fideliza.demo.services import DEMO_PASSWORD, demo_populate
from fideliza.insights.services import snapshot_recompute

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True, scope="module")
def _orm_beside_playwright_for_the_module():
    """As in test_dashboard.py: the ORM beside Playwright's event loop for the module."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def demo(transactional_db, tmp_path):
    demo_populate(customers=300, seed=3, today=dt.date(2026, 1, 1), out_dir=tmp_path / "demo")
    return snapshot_recompute(as_of=dt.date(2025, 12, 31))


def test_reliability_panels_open_on_the_demo_business(demo, page, log_in, tmp_path):
    backtest = demo.parameters["backtest"]
    auc = backtest["models"]["paretonbd"]["churn"]["auc"]
    purchases = backtest["models"]["bgnbd"]["purchases"]
    log_in("duena", DEMO_PASSWORD)
    page.goto("/panel/")
    churn = page.locator("#reliability-churn")
    body = churn.locator(".reliability-body")
    expect(body).to_be_hidden()  # closed until asked
    churn.locator("summary", has_text="¿Qué tan fiable es?").click()
    expect(body).to_be_visible()
    expect(churn.locator(".reliability-auc")).to_have_text(
        f"De cada 10 clientes que se fueron, el modelo puso a {round(auc * 10)} entre los de "
        "más riesgo.")
    curve = churn.locator("svg.chart-reliability")
    expect(curve).to_be_visible()
    box = curve.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100
    assert curve.locator("polyline").count() == 2  # predicted and actual
    expect(churn).to_contain_text("El modelo aprendido no se entrenó")

    clv = page.locator("#reliability-purchases")
    clv.locator("summary").click()
    expect(clv.locator(".reliability-total")).to_contain_text(
        f"y hubo {round(purchases['actual_total'])}")
    churn.screenshot(path=str(tmp_path / "reliability.png"))
    if os.environ.get("FZ_SHOT"):
        churn.screenshot(path=os.environ["FZ_SHOT"])
