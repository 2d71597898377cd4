"""The backtest stored with every snapshot and the «¿qué tan fiable es?» panels (issue 19)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from django.urls import reverse

from fideliza.analytics.transactions import read_cdnow
from fideliza.insights.compute import SnapshotConfig, predict
from fideliza.insights.labels import churn_reason_text
from fideliza.insights.reliability import reliability_context
from fideliza.insights.services import snapshot_recompute

DATA = Path(__file__).parents[1] / "analytics" / "data" / "CDNOW_sample.txt"


@pytest.mark.django_db
def test_the_snapshot_keeps_the_backtest_and_the_dashboard_shows_it(client, owner,
                                                                       demo_business):
    run = snapshot_recompute(as_of=dt.date(2025, 12, 31))
    backtest = run.parameters["backtest"]
    assert backtest["window"]["end"] == "2025-12-31"
    assert backtest["window"]["start_after"] == "2024-12-31"  # the 12-month horizon
    # 300 people: too few for the learned model, which says so; the textbook models are
    # backtested and used.
    assert backtest["chosen"] == "textbook"
    assert "< 500" in backtest["learned"]["skipped"]
    for name in ("bgnbd", "paretonbd"):
        churn = backtest["models"][name]["churn"]
        assert 0.5 < churn["auc"] <= 1.0
        assert sum(b["n"] for b in churn["calibration"]) == churn["n"]
        assert backtest["models"][name]["purchases"]["actual_total"] > 0

    client.force_login(owner)
    html = client.get(reverse("insights:dashboard")).content.decode()
    assert 'id="reliability-churn"' in html and 'id="reliability-purchases"' in html
    assert "¿Qué tan fiable es?" in html
    auc = backtest["models"]["paretonbd"]["churn"]["auc"]
    assert (f"De cada 10 clientes que se fueron, el modelo puso a {round(auc * 10)} entre los "
            "de más riesgo.") in html
    assert "Modelo: Pareto/NBD" in html and "Modelo: BG/NBD" in html
    assert 'class="chart chart-reliability"' in html
    assert "El modelo aprendido no se entrenó" in html


def test_no_panel_without_a_backtest():
    assert reliability_context({}) is None
    assert reliability_context({"backtest": {"skipped": "no purchase before …", "models": {}}}
                               ) is None


@pytest.fixture(scope="module")
def cdnow_orders() -> pl.DataFrame:
    return read_cdnow(DATA).select("customer_id", "ts", "amount")


def test_the_learned_model_gives_risk_purchases_and_reasons(cdnow_orders):
    config = SnapshotConfig(horizon_months=6, model="learned", model_budget_seconds=None)
    out, models, _ = predict(cdnow_orders, as_of=dt.date(1997, 12, 31), config=config)
    assert models["backtest"]["chosen"] == "learned"
    assert set(out["p_alive_model"].unique()) == {"learned"}
    assert (out["churn_risk"] - (1 - out["p_alive"])).abs().max() < 1e-9
    assert out["predicted_purchases"].sum() == pytest.approx(1164, rel=0.02)
    # Reasons from the model's strongest features, read back in the reader's language.
    risky = out.filter(pl.col("churn_risk") > 0.8)
    reasons = risky["churn_reason"].to_list()
    assert all(reasons)
    readable = [churn_reason_text(r) for r in reasons]
    assert sum(text.startswith(("no compra desde hace", "una sola compra")) for text in readable
               ) > len(readable) / 2
    context = reliability_context(models)
    assert context is not None
    assert context["churn"]["model"] == "modelo aprendido"
    assert context["purchases"]["model"] == "modelo aprendido"


def test_learned_reasons_read_back():
    assert churn_reason_text("no compra hace 142 días (solía volver cada 30 días); solo 3 compras"
                             ) == "no compra desde hace 142 días (solía volver cada 30 días); solo 3 compras"
    assert churn_reason_text("una sola compra; ninguna compra en los últimos 6 meses") == (
        "una sola compra; ninguna compra en los últimos 6 meses")
    assert churn_reason_text("1 compra en los últimos 6 meses") == (
        "1 compra en los últimos 6 meses")
    # Unknown text is kept as stored.
    assert churn_reason_text("algo distinto; solo 3 compras") == "algo distinto; solo 3 compras"
