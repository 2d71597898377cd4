"""The snapshot's numbers on hand-made bases, computed by hand.

The small business (conftest) as of 30 June 2025, shop time Europe/Madrid:

* Ana: 10 Jan 100 (cost 60), 10 Mar 50 (cost 20), 1 Jun 80 (cost 50): revenue 230,
  margin 100, ticket 76.67; 2 repeat days, recency 142 days, T 171, repeat mean 65;
  gaps 59 and 83 days → usual interval (median) 71; last purchase 29 days ago.
* Blas: 1 Jul 2024, 200 with 50 returned → 150, cost unknown; 364 days ago.
* Carmen: 29 Jun 30 (cost 10); her 1 Jul 00:30 order is after the observation end.
* Darío: refunded in full → no row. Nadie: never bought → no row.

RFM quintiles over n = 3 customers, ``score = 1 + floor((rank − 1) × 5 / 3)``:
recency 364/29/1 days → R 1/2/4 (Blas/Ana/Carmen); orders 3/1/1 → F 4/1/1 (Ana/Blas/
Carmen); revenue 230/150/30 → M 4/2/1. Segments on the R × FM grid (FM = ⌊(F+M+1)/2⌋):
Ana R2 FM4 "at_risk", Blas R1 FM2 "hibernating", Carmen R4 FM1 "promising".
ABC by revenue (410 in all): Ana A (0 % before her), Blas A (56 % before), Carmen B
(93 % before). By margin (120 known): Ana A, Carmen B, Blas none (cost unknown).
Tiers by revenue rank (top 5 % / 20 % / 50 %): Ana platino, Blas plata, Carmen bronce.
Activity (gap 71 days for everyone: Ana's own, the population's for the others):
Ana 29/71 → active, Blas 364/71 = 5.1 → dormant (≤ 6), Carmen → active.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fideliza.insights import adapter
from fideliza.insights.compute import _rolling_kpis, compute_snapshot
from fideliza.insights.labels import run_warning_text

from .conftest import AS_OF

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshot(small_business):
    return compute_snapshot(adapter.read_transactions(), as_of=AS_OF)


def rows_by_name(snapshot, small_business):
    names = {small_business[k].pk: k for k in small_business}
    return {names[r["customer_id"]]: r for r in snapshot.customers.iter_rows(named=True)}


def test_exact_money_and_btyd_summary(snapshot, small_business):
    rows = rows_by_name(snapshot, small_business)
    assert set(rows) == {"ana", "blas", "carmen"}
    ana, blas, carmen = rows["ana"], rows["blas"], rows["carmen"]
    # Money columns are integer cents, exact.
    assert (ana["revenue"], ana["margin"], ana["average_order_value"]) == (23000, 10000, 7667)
    assert (blas["revenue"], blas["margin"], blas["average_order_value"]) == (15000, None, 15000)
    assert (carmen["revenue"], carmen["margin"], carmen["orders"]) == (3000, 2000, 1)
    assert (ana["frequency"], ana["recency"], ana["age"], ana["monetary_value"]) == (2, 142.0, 171.0, 6500)
    assert (blas["frequency"], blas["recency"], blas["age"]) == (0, 0.0, 364.0)
    assert (ana["first_purchase"], ana["last_purchase"]) == (dt.date(2025, 1, 10), dt.date(2025, 6, 1))
    assert [r["days_since_last"] for r in (ana, blas, carmen)] == [29, 364, 1]
    # Historic CLV is the margin left so far, or the revenue when no cost is known.
    assert [r["clv_historic"] for r in (ana, blas, carmen)] == [10000, 15000, 2000]


def test_rfm_abc_tiers_activity(snapshot, small_business):
    rows = rows_by_name(snapshot, small_business)
    got = {k: (r["r_score"], r["f_score"], r["m_score"], r["rfm_segment"]) for k, r in rows.items()}
    assert got == {"ana": (2, 4, 4, "at_risk"), "blas": (1, 1, 2, "hibernating"),
                   "carmen": (4, 1, 1, "promising")}
    assert {k: (r["abc_revenue"], r["abc_margin"]) for k, r in rows.items()} == {
        "ana": ("A", "A"), "blas": ("A", ""), "carmen": ("B", "B")}
    assert {k: r["value_tier"] for k, r in rows.items()} == {
        "ana": "platino", "blas": "plata", "carmen": "bronce"}
    assert {k: r["activity_state"] for k, r in rows.items()} == {
        "ana": "active", "blas": "dormant", "carmen": "active"}
    assert rows["ana"]["usual_interval_days"] == 71.0
    assert rows["blas"]["usual_interval_days"] is None


def test_too_few_repeat_buyers_means_no_model_but_reasons_and_a_warning(snapshot, small_business):
    rows = rows_by_name(snapshot, small_business)
    assert all(r["p_alive"] is None and r["clv_predicted"] is None for r in rows.values())
    assert rows["ana"]["churn_reason"] == "compró hace 29 días; su intervalo habitual es 71"
    assert rows["blas"]["churn_reason"] == "una sola compra, hace 364 días"
    assert any("Pocos clientes con compras repetidas" in w for w in map(run_warning_text, snapshot.warnings))


def test_next_best_product_and_relationship_path(snapshot, small_business, catalog):
    rows = rows_by_name(snapshot, small_business)
    # Taladro → Pintura blanca: 1 of the 2 Taladro customers, lift 0.5 / (1/3) = 1.5.
    assert rows["blas"]["next_product_id"] == catalog["paint"].pk
    assert rows["blas"]["next_reason"] == (
        "Quienes compran Taladro también compran Pintura blanca (50% de las veces; lift 1.50).")
    assert rows["blas"]["next_category"] == "Pintura"
    # Ana has both; the most bought product she lacks is the brush.
    assert rows["ana"]["next_product_id"] == catalog["brush"].pk
    assert {k: (r["path_step"], r["path_next_step"]) for k, r in rows.items()} == {
        "ana": ("main", "premium"), "blas": ("main", "premium"), "carmen": ("entry", "value")}


def test_history_and_aggregates(snapshot):
    history = snapshot.rfm_history
    assert history["period_end"].max() == dt.date(2025, 6, 30)
    # Month ends from July 2024 (Blas's first) to June 2025: Blas in 12, Ana in 6 (from
    # January), Carmen in 1.
    assert history.height == 12 + 6 + 1
    agg = snapshot.aggregates
    k = agg["kpis"]
    assert (k["customers"], k["buyers"], k["active"]) == (5, 3, 2)
    assert (k["active_12m"], k["orders_12m"], k["revenue_12m"]) == (3, 5, "410.00")
    assert (k["average_purchase"], k["average_order_value"]) == ("136.67", "82.00")
    assert k["retention_rate"] is None  # nobody bought in the 12 months before
    assert sum(map(sum, agg["rfm_grid"])) == 3
    assert agg["rfm_grid"][5 - 2][4 - 1] == 1  # Ana: R2, FM4
    assert agg["pareto"]["revenue_share"][0] == 0.0
    assert agg["pareto"]["revenue_share"][-1] == pytest.approx(1.0)
    assert agg["activity"] == {"active": 2, "dormant": 1}
    assert agg["clv_histogram"]["basis"] == "historic"
    assert sum(agg["clv_histogram"]["counts"]) == 3


def test_rolling_twelve_month_retention_churn_and_cost_of_churn():
    as_of = dt.date(2025, 6, 30)
    frame = pl.DataFrame({
        "customer_id": [1, 1, 2, 3, 4],
        "order_id": [1, 2, 3, 4, 5],
        "ts": [dt.datetime(2024, 3, 1), dt.datetime(2025, 3, 1), dt.datetime(2024, 5, 1),
               dt.datetime(2025, 5, 1), dt.datetime(2024, 6, 1)],
        "amount": [1000, 3000, 4000, 2000, 500],
        "margin": [400, 1200, 1000, 800, 100],
    })
    k = _rolling_kpis(frame, as_of)
    # Before (1 Jul 2023 – 30 Jun 2024): customers 1, 2, 4; now: 1 (retained) and 3 (new).
    assert (k["customers_start"], k["retained"], k["lost"], k["new_12m"]) == (3, 1, 2, 1)
    assert k["retention_rate"] == pytest.approx(1 / 3)
    assert k["churn_rate"] == pytest.approx(2 / 3)
    assert k["retention_rate"] + k["churn_rate"] == pytest.approx(1.0)
    # What the lost customers (2 and 4) bought in the previous 12 months.
    assert k["cost_of_churn"] == "45.00"
    # Customer 1 had bought before: 3000 of the 5000 of the last 12 months is recurring.
    assert k["recurring_revenue_share"] == pytest.approx(0.6)
    assert k["average_purchase"] == "25.00"


DEMO_AS_OF = dt.date(2025, 12, 31)


def test_models_fit_on_the_demo_business(demo_business):
    snap = compute_snapshot(adapter.read_transactions(), as_of=DEMO_AS_OF)
    c = snap.customers
    assert c.height == len(demo_business)
    assert c["p_alive"].null_count() == 0
    assert c["p_alive"].min() >= 0 and c["p_alive"].max() <= 1
    # P(alive) shown with the churn risk comes from the same model (Pareto/NBD).
    assert ((c["p_alive"] + c["churn_risk"]) - 1).abs().max() < 1e-9
    assert snap.parameters["config"]["churn_model"] == "paretonbd"
    assert c["clv_predicted"].null_count() == 0
    assert c["predicted_purchases"].min() >= 0
    assert set(c["churn_band"].unique()) <= {"low", "medium", "high", "critical"}
    assert set(snap.parameters["bgnbd"]["params"]) == {"r", "alpha", "a", "b"}
    assert set(snap.parameters["paretonbd"]["params"]) == {"r", "alpha", "s", "beta"}
    assert set(snap.parameters["gammagamma"]["params"]) == {"p", "q", "v"}
    assert not any("Pocos clientes con compras repetidas" in w for w in map(run_warning_text, snap.warnings))
    agg = snap.aggregates
    assert agg["clv_histogram"]["basis"] == "predicted"
    assert sum(agg["clv_histogram"]["counts"]) == c.height
    assert {s["code"] for s in agg["segments"]} == set(c["rfm_segment"].unique())
    assert sum(s["customers"] for s in agg["segments"]) == c.height
    assert agg["cohorts"]["matrix"] and agg["retention_series"]
    for row in agg["retention_series"]:
        if row["retention_rate"] is not None:
            assert row["retention_rate"] + row["churn_rate"] == pytest.approx(1.0)
    assert sum(sum(row) for row in agg["abc_transition"]["matrix"]) > 0
    assert agg["kpis"]["cac"] is not None  # the demo cards carry acquisition costs


def _regular_frame() -> pl.DataFrame:
    """240 customers buying uniformly inside random windows: Pareto/NBD's optimiser wanders
    for many minutes on this base (BG/NBD fits in about a second)."""
    import numpy as np

    rng = np.random.default_rng(7)
    rows = []
    start = dt.datetime(2023, 7, 1, 10)
    for c in range(240):
        n, alive = int(rng.integers(1, 10)), int(rng.integers(60, 730))
        for d in np.sort(rng.integers(0, alive, size=n)):
            rows.append((c, start + dt.timedelta(days=int(d)), float(rng.integers(1000, 20000)) / 100))
    return pl.DataFrame(rows, schema=["customer_id", "ts", "amount"], orient="row")


def test_a_fit_over_budget_falls_back_to_bgnbd_and_says_so(monkeypatch):
    from fideliza.insights import compute
    from fideliza.insights.isolation import BudgetExceeded, analyze_within

    def pareto_never_ends(frame, cfg, *, seconds, progress=None):
        if cfg.fit_paretonbd:
            raise BudgetExceeded("too long")
        return analyze_within(frame, cfg, seconds=None, progress=progress)

    monkeypatch.setattr(compute, "analyze_within", pareto_never_ends)
    out, models, warnings = compute.predict(_regular_frame(), as_of=dt.date(2025, 7, 1),
                                            config=compute.SnapshotConfig())
    assert any(w.startswith("Pareto/NBD no terminó a tiempo") for w in map(run_warning_text, warnings))
    assert models["config"]["churn_model"] == "bgnbd"
    assert out["p_alive"].null_count() == 0 and out.height == 240
    # BG/NBD would say 1 for every one-time buyer: the interval rule says it instead.
    one_time = out.filter(pl.col("frequency") == 0)
    assert one_time.height and (one_time["p_alive_model"] == "interval_rule").all()
    assert one_time["p_alive"].max() < 1.0
    assert models["p_alive"]["one_time_buyers"] == "interval_rule"


def test_the_budget_kills_the_child_process():
    from fideliza.analytics.pipeline import AnalysisConfig
    from fideliza.insights.isolation import BudgetExceeded, analyze_within

    # 10 ms cannot even start a Python interpreter: the budget is always spent.
    with pytest.raises(BudgetExceeded):
        analyze_within(_regular_frame(), AnalysisConfig(observation_end=dt.date(2025, 7, 1)),
                       seconds=0.01)


def test_the_child_process_returns_the_analysis():
    from fideliza.analytics.pipeline import AnalysisConfig
    from fideliza.insights.isolation import analyze_within

    cfg = AnalysisConfig(observation_end=dt.date(2025, 7, 1), fit_paretonbd=False)
    result = analyze_within(_regular_frame(), cfg, seconds=600)
    assert result.customers.height == 240
    assert set(result.models["bgnbd"]["params"]) == {"r", "alpha", "a", "b"}


def test_nothing_bought_yet(db):
    snap = compute_snapshot(adapter.read_transactions(), as_of=dt.date(2025, 1, 1))
    assert snap.customers.is_empty()
    assert snap.aggregates["empty"] is True
