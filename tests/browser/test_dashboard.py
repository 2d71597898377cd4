"""The analytics dashboard in a real browser, with the demo business loaded."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from playwright.sync_api import expect

from fideliza.demo.services import DEMO_PASSWORD, demo_populate
from fideliza.insights.services import snapshot_recompute

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ("chart-pareto", "chart-retention", "chart-rfm", "chart-abc", "chart-cohorts",
          "chart-clv", "chart-churn")


@pytest.fixture(autouse=True, scope="module")
def _orm_beside_playwright_for_the_module():
    """Like the conftest's per-test switch, but for the whole module: the database flush
    after each transactional test runs after function-scoped fixtures are undone, while
    the module's browser event loop still runs."""
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


def drawn_area(page, section_id: str) -> float:
    """Total on-screen area of the marks (lines, cells, bars) the chart's SVG painted."""
    return page.evaluate(
        """(id) => {
            const svg = document.querySelector(`#${id} svg`);
            if (!svg) return 0;
            let area = 0;
            for (const el of svg.querySelectorAll('polyline, rect, circle')) {
                const box = el.getBoundingClientRect();
                area += box.width * Math.max(box.height, 1);
            }
            return area;
        }""",
        section_id,
    )


def test_dashboard_draws_every_chart(demo, page, log_in, tmp_path):
    log_in("duena", DEMO_PASSWORD)
    page.goto("/panel/")
    expect(page.get_by_role("heading", name="Panel de análisis", level=1)).to_be_visible()
    expect(page.locator("#snapshot-date")).to_contain_text("Datos de 31 de diciembre de 2025")
    for chart in CHARTS:
        svg = page.locator(f"#{chart} > svg")  # the chart, not the reliability panel's
        expect(svg).to_be_visible()
        box = svg.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, chart
        assert drawn_area(page, chart) > 500, f"{chart} drew nothing"
        expect(page.locator(f"#{chart}")).not_to_contain_text("Sin datos")
    # Every KPI explains itself.
    help_toggle = page.locator("#kpi-churn summary")
    help_toggle.click()
    expect(page.locator("#kpi-churn .kpi-help p")).to_contain_text("Retención + abandono = 100 %")
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 50_000
