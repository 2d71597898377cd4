"""The learned model and the backtest (issue 19).

CDNOW: fitted on 1997 (weeks, observation end 1997-12-31, horizon 6 months) and scored
against what the customers did in January-June 1998, which no model sees. The issue's
targets and what the model reaches (measured 2026-12-07, scikit-learn 1.9.1; figures from
``benchmarks/learned_cdnow.py``):

=====================================  ==========  ============  ======================
figure                                 target      learned       textbook
=====================================  ==========  ============  ======================
churn AUC (no purchase in 6 months)    >= 0.80     0.777         Pareto/NBD 1-P(alive)
                                                                 0.743; BG/NBD's own
                                                                 P(no purchase) 0.786
per-customer MAE                       <= 0.46     0.526         BG/NBD 0.517, P/NBD 0.506
predicted total (actual 1,151)         +-5 %       1,164 (+1 %)  BG/NBD 1,164, P/NBD 1,197
calibration gap, bins >= 50 customers  <= 0.05     0.089         BG/NBD P(none) 0.142
=====================================  ==========  ============  ======================

The AUC, MAE and calibration targets are not met; the tests below hold the model to what
it reaches (so that a regression fails) and to the targets it meets. See the report of
issue 19 for why CDNOW leaves little to learn beyond (x, t_x, T).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fideliza.analytics.backtest import (
    CALIBRATION_MIN_BIN,
    choose_model,
    churn_metrics,
    count_metrics,
    roc_auc,
)
from fideliza.analytics.models import BetaGeoFitter
from fideliza.analytics.models.learned import (
    FEATURES,
    LearnedModel,
    customer_features,
    history_months,
    learned_trainable,
    months_before,
    purchase_days,
    purchases_between,
)
from fideliza.analytics.pipeline import AnalysisConfig, analyze
from fideliza.analytics.summary import summary_data_from_transaction_data
from fideliza.analytics.transactions import read_cdnow

DATA = Path(__file__).parent / "data"
END_1997 = dt.date(1997, 12, 31)
END_1998H1 = dt.date(1998, 6, 30)


# -- the pieces ---------------------------------------------------------------------------
def test_months_before_keeps_month_ends_and_clamps():
    assert months_before(dt.date(1997, 12, 31), 6) == dt.date(1997, 6, 30)
    assert months_before(dt.date(1997, 12, 31), -6) == dt.date(1998, 6, 30)
    assert months_before(dt.date(2024, 3, 31), 1) == dt.date(2024, 2, 29)
    assert months_before(dt.date(2024, 3, 15), 12) == dt.date(2023, 3, 15)
    assert months_before(dt.date(2024, 1, 20), 1) == dt.date(2023, 12, 20)


def test_fallback_rule():
    # CDNOW's 1997: January to December counted, 12 months = 2 horizons of 6: trainable.
    assert history_months(dt.date(1997, 1, 1), END_1997) == 12
    assert learned_trainable(first_purchase=dt.date(1997, 1, 1), observation_end=END_1997,
                             horizon_months=6, n_customers_at_cutoff=2357) is None
    # The paper's 39-week calibration: 9 months < 12.
    why = learned_trainable(first_purchase=dt.date(1997, 1, 1),
                            observation_end=dt.date(1997, 9, 30), horizon_months=6,
                            n_customers_at_cutoff=2357)
    assert why is not None and "9 months" in why
    why = learned_trainable(first_purchase=dt.date(1997, 1, 1), observation_end=END_1997,
                            horizon_months=6, n_customers_at_cutoff=499)
    assert why is not None and "499 customers" in why


def test_roc_auc_counts_ties_half_and_needs_both_classes():
    assert roc_auc([1, 0], [0.9, 0.1]) == 1.0
    assert roc_auc([1, 0], [0.1, 0.9]) == 0.0
    assert roc_auc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert roc_auc([1, 1], [0.2, 0.3]) is None


def test_churn_metrics_bins_and_gap():
    p = np.r_[np.full(100, 0.05), np.full(100, 0.95), np.full(10, 0.55)]
    y = np.r_[np.zeros(100), np.ones(80), np.zeros(20), np.ones(10)].astype(bool)
    m = churn_metrics(p, y)
    assert [b["n"] for b in m["calibration"]] == [100, 10, 100]
    assert m["calibration"][0]["observed"] == 0.0
    assert m["calibration"][2]["observed"] == pytest.approx(0.8)
    # The 10-customer bin (observed 1.0 for 0.55) is drawn but not judged.
    assert CALIBRATION_MIN_BIN > 10
    assert m["max_calibration_gap"] == pytest.approx(0.15)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))


def test_count_metrics():
    m = count_metrics([1.0, 0.5, 0.0], [2, 0, 0])
    assert m["mae"] == pytest.approx(0.5)
    assert m["predicted_total"] == 1.5 and m["actual_total"] == 2.0
    assert m["total_error"] == pytest.approx(-0.25)


def _bt(auc: float, mae: float) -> dict:
    return {"churn": {"auc": auc}, "purchases": {"mae": mae}}


def test_auto_rule_needs_the_learned_model_to_win_on_both():
    both = {"models": {"bgnbd": _bt(0.70, 0.60), "paretonbd": _bt(0.72, 0.58),
                       "learned": _bt(0.75, 0.55)}}
    assert choose_model(both, "textbook")[0] == "learned"
    worse_mae = {"models": {"bgnbd": _bt(0.70, 0.50), "learned": _bt(0.75, 0.55)}}
    assert choose_model(worse_mae, "textbook")[0] == "textbook"
    worse_auc = {"models": {"bgnbd": _bt(0.80, 0.60), "learned": _bt(0.75, 0.55)}}
    assert choose_model(worse_auc, "textbook")[0] == "textbook"
    assert choose_model({"models": {"bgnbd": _bt(0.7, 0.6)}}, "textbook") == (
        "textbook", "learned model not trained or not backtested")


def test_bgnbd_probability_of_no_purchase():
    bg = BetaGeoFitter()
    bg._params = np.array([0.25, 4.0, 0.8, 2.4])
    x = np.array([0.0, 0.0, 3.0, 3.0])
    tx = np.array([0.0, 0.0, 20.0, 5.0])
    t = np.array([10.0, 40.0, 30.0, 30.0])
    p = bg.conditional_probability_no_purchase_up_to_time(26.0, x, tx, t)
    # A one-time buyer is alive in BG/NBD: only the Poisson silence counts.
    assert p[:2] == pytest.approx(((4.0 + t[:2]) / (4.0 + t[:2] + 26.0)) ** 0.25)
    assert p[1] > p[0]  # longer silence, likelier to stay silent
    assert p[3] > p[2]  # same purchases, earlier last one: likelier gone
    assert np.all(bg.conditional_probability_no_purchase_up_to_time(1e-9, x, tx, t) > 0.999)
    # Monte Carlo over the posterior of an alive customer (x = 3, t_x = 20, T = 30).
    rng = np.random.default_rng(0)
    alive = bg.conditional_probability_alive(3.0, 20.0, 30.0)
    lam = rng.gamma(0.25 + 3.0, 1.0 / (4.0 + 30.0), 400_000)
    quiet = np.mean(np.exp(-lam * 26.0))
    assert p[2] == pytest.approx(1 - alive + alive * quiet, abs=2e-3)


# -- CDNOW, fitted on 1997 and scored on the first half of 1998 ---------------------------
@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    return read_cdnow(DATA / "CDNOW_sample.txt").select("customer_id", "ts", "amount")


@pytest.fixture(scope="module")
def cdnow_1997(cdnow):
    cfg = AnalysisConfig(period="week", observation_end=END_1997, horizon=6, model="learned",
                         descriptive=(), next_purchase=False)
    result = analyze(cdnow, cfg)
    days = purchase_days(cdnow)
    actual = purchases_between(days, result.customers["customer_id"], END_1997, END_1998H1)
    return result, actual


def test_cdnow_learned_model_is_used_and_backtested(cdnow_1997):
    result, _ = cdnow_1997
    bt = result.models["backtest"]
    assert bt["chosen"] == "learned"
    assert bt["window"] == {"start_after": "1997-06-30", "end": "1997-12-31"}
    assert bt["learned"]["n_train"] == 2357
    assert bt["learned"]["calibration"]["method"] == "sigmoid"  # 700 held out < 2,000
    # One horizon of features before the window only: cross-fitted, said so.
    assert bt["models"]["learned"]["validation"] == "held_out_customers"
    for name in ("bgnbd", "paretonbd", "learned"):
        m = bt["models"][name]
        assert 0.5 < m["churn"]["auc"] < 1.0
        assert m["purchases"]["actual_total"] == 1456  # July-December 1997
    assert set(result.customers["p_alive_model"].unique()) == {"learned"}


def test_cdnow_churn_ranking_beats_pareto_nbd(cdnow_1997):
    result, actual = cdnow_1997
    churned = actual == 0
    auc = roc_auc(churned, result.customers["churn_risk"].to_numpy())
    pareto = roc_auc(churned, 1 - result.customers["p_alive_textbook"].to_numpy())
    assert pareto == pytest.approx(0.743, abs=0.002)  # the baseline
    # Target 0.80 not met: measured 0.777.
    assert auc >= 0.77
    assert auc > pareto + 0.03


def test_cdnow_purchases_total_within_five_percent(cdnow_1997):
    result, actual = cdnow_1997
    assert actual.sum() == 1151
    predicted = result.customers["predicted_purchases"].to_numpy()
    assert abs(predicted.sum() / 1151 - 1) <= 0.05
    # Target MAE <= 0.46 not met: measured 0.526 (BG/NBD 0.517; predicting 0 for all: 0.488).
    assert np.mean(np.abs(predicted - actual)) <= 0.54


def test_cdnow_calibration(cdnow_1997):
    result, actual = cdnow_1997
    m = churn_metrics(result.customers["churn_risk"].to_numpy(), actual == 0)
    assert abs(m["mean_predicted"] - m["base_rate"]) <= 0.02
    # Target 0.05 in every bin with >= 50 customers not met: measured 0.089 (0.4-0.5, 76
    # customers: 0.457 predicted, 0.368 observed) and 0.057 (0.7-0.8, 352 customers); the
    # other five such bins within 0.03.
    assert m["max_calibration_gap"] <= 0.10
    judged = [b for b in m["calibration"] if b["n"] >= CALIBRATION_MIN_BIN]
    assert len(judged) >= 6
    assert sum(abs(b["predicted"] - b["observed"]) > 0.05 for b in judged) <= 2


def test_cdnow_reasons_name_the_facts(cdnow_1997):
    result, _ = cdnow_1997
    c = result.customers
    risky = c.filter(pl.col("churn_risk") > 0.8)
    assert risky.height > 100
    reasons = risky["churn_reason"].to_list()
    assert all(r for r in reasons)
    assert sum("no compra hace" in r or "una sola compra" in r for r in reasons) > risky.height / 2


def test_39_week_calibration_falls_back_to_the_textbook_model(cdnow):
    cfg = AnalysisConfig(period="week", observation_end=dt.date(1997, 9, 30), horizon=6,
                         model="auto", descriptive=(), next_purchase=False,
                         fit_paretonbd=False)
    result = analyze(cdnow, cfg)
    bt = result.models["backtest"]
    assert bt["chosen"] == "textbook"
    assert "9 months of history < 2 horizons" in bt["learned"]["skipped"]
    assert "learned" not in bt["models"]
    assert "learned" not in set(result.customers["p_alive_model"].unique())


def test_small_base_falls_back(cdnow):
    small = cdnow.filter(pl.col("customer_id") <= 400)
    cfg = AnalysisConfig(period="week", observation_end=END_1997, horizon=6, model="learned",
                         descriptive=(), next_purchase=False, fit_paretonbd=False)
    bt = analyze(small, cfg).models["backtest"]
    assert bt["chosen"] == "textbook"
    assert "< 500" in bt["learned"]["skipped"]


# -- a BTYD world: the learned model must not overfit when the textbook model is right ----
TRUE_BGNBD = (0.6, 5.0, 0.7, 3.0)  # r, alpha (weeks), a, b


def _simulate_bgnbd(n: int, seed: int, start: dt.date, weeks: float) -> pl.DataFrame:
    """BG/NBD purchases: acquired uniformly over the first year, then Poisson(lambda)
    purchases, each followed by dropping out with probability p."""
    r, alpha, a, b = TRUE_BGNBD
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    birth = rng.uniform(0.0, 52.0, n)
    ids, when = [], []
    for i in range(n):
        t = birth[i]
        ids.append(i)
        when.append(t)
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t >= weeks:
                break
            ids.append(i)
            when.append(t)
            if rng.random() < p[i]:
                break
    days = np.floor(np.asarray(when) * 7.0).astype(int)
    return pl.DataFrame({
        "customer_id": ids,
        "ts": [dt.datetime.combine(start + dt.timedelta(days=int(d)), dt.time(12)) for d in days],
        "amount": rng.gamma(4.0, 10.0, len(ids)),
    })


def test_learned_model_does_not_overfit_a_btyd_world():
    start = dt.date(2020, 1, 6)
    end = dt.date(2022, 6, 30)
    ahead = months_before(end, -6)
    tx = _simulate_bgnbd(4000, seed=7, start=start, weeks=((ahead - start).days + 1) / 7)
    seen = tx.filter(pl.col("ts") < dt.datetime(2022, 7, 1))
    days = purchase_days(tx)
    cut = months_before(end, 6)
    true_model = BetaGeoFitter()
    true_model._params = np.array(TRUE_BGNBD)

    def btyd(at: dt.date, window_days: int, model: BetaGeoFitter | None = None
             ) -> pl.DataFrame:
        """Textbook outputs at ``at``: BG/NBD fitted there (as the product does), or
        ``model``."""
        s = summary_data_from_transaction_data(seen, amount_col=None, period="day",
                                               freq_multiplier=7.0, observation_end=at)
        x, rr, tt = (s[c].to_numpy() for c in ("frequency", "recency", "T"))
        bg = model or BetaGeoFitter().fit(x, rr, tt)
        w = window_days / 7.0
        return s.select("customer_id").with_columns(
            btyd_p_alive=pl.Series(bg.conditional_probability_alive(x, rr, tt)),
            btyd_p_none=pl.Series(bg.conditional_probability_no_purchase_up_to_time(w, x, rr, tt)),
            btyd_expected=pl.Series(
                bg.conditional_expected_number_of_purchases_up_to_time(w, x, rr, tt)),
        )

    h_days = (end - cut).days
    train = customer_features(days, cutoff=cut, horizon_days=h_days, transactions=seen,
                              btyd=btyd(cut, h_days))
    model = LearnedModel().fit(train, purchases_between(days, train["customer_id"], cut, end))
    at_end = customer_features(days, cutoff=end, horizon_days=h_days, transactions=seen,
                               btyd=btyd(end, (ahead - end).days))
    actual = purchases_between(days, at_end["customer_id"], end, ahead)
    # The true model's own prediction (same customers, same order).
    truth = btyd(end, (ahead - end).days, true_model)["btyd_expected"].to_numpy()
    learned = model.predict_purchases(at_end)
    mae_truth = np.mean(np.abs(truth - actual))
    mae_learned = np.mean(np.abs(learned - actual))
    assert mae_learned <= 1.02 * mae_truth, (mae_learned, mae_truth)
    assert list(train.columns[1:]) == list(FEATURES)


def test_fideliza_analyze_writes_every_models_backtest(cdnow, tmp_path):
    from fideliza.analytics.cli import main

    path = tmp_path / "cdnow.csv"
    cdnow.write_csv(path)
    out = tmp_path / "out"
    assert main([str(path), "--period", "week", "--observation-end", "1997-12-31",
                 "--horizon", "6", "--no-next-purchase", "--out", str(out)]) == 0
    report = json.loads((out / "models.json").read_text())
    bt = report["backtest"]
    assert report["config"]["model"] == "auto"
    assert set(bt["models"]) == {"bgnbd", "paretonbd", "learned"}
    for name, m in bt["models"].items():
        assert set(m["churn"]) >= {"auc", "brier", "calibration", "max_calibration_gap"}, name
        assert set(m["purchases"]) >= {"mae", "rmse", "predicted_total", "total_error"}, name
    # On CDNOW's last half of 1997 the learned model does not beat BG/NBD: auto keeps the
    # textbook models and says why.
    assert bt["chosen"] == "textbook"
    assert bt["reason"].startswith("textbook: learned AUC")
    customers = pl.read_csv(out / "customers.csv")
    assert "learned" not in set(customers["p_alive_model"].unique())


def test_no_history_before_the_window_is_no_backtest_not_a_crash():
    # Every customer first bought on the cutoff day itself: T = 0 there (BG/NBD cannot be
    # fitted on it; a half-loaded demo looks like this).
    rows = [(c, dt.datetime(2024, 6, 30, 12), 10.0) for c in range(20)]
    rows += [(c, dt.datetime(2024, 9, 1 + c % 20, 12), 12.0) for c in range(0, 20, 2)]
    rows += [(c, dt.datetime(2024, 11, 1 + c % 20, 12), 9.0) for c in range(0, 20, 4)]
    tx = pl.DataFrame(rows, schema=["customer_id", "ts", "amount"], orient="row")
    cfg = AnalysisConfig(period="week", observation_end=dt.date(2024, 12, 31), horizon=6,
                         model="auto", descriptive=(), next_purchase=False,
                         fit_paretonbd=False)
    result = analyze(tx, cfg)
    bt = result.models["backtest"]
    assert bt["chosen"] == "textbook" and "too little history" in bt["skipped"]
    assert result.customers.height == 20
