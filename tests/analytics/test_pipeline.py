"""The analyze pipeline, the ``fideliza analyze`` command, churn reasons and the benchmark.

CDNOW end to end: the parameters in ``models.json`` must be the published ones (holdout
fit on the 39-week calibration) and every customer must get a score.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fideliza.analytics.churn import churn_band, churn_frame, churn_reason
from fideliza.analytics.cli import main
from fideliza.analytics.pipeline import AnalysisConfig, analyze
from fideliza.analytics.transactions import read_cdnow

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    read_cdnow(DATA / "CDNOW_sample.txt").rename(
        {"customer_id": "cliente", "ts": "fecha", "amount": "importe"}
    ).write_csv(path)
    return path


@pytest.fixture(scope="module")
def cli_run(cdnow_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    code = main(
        [
            str(cdnow_csv),
            "--customer-col", "cliente",
            "--date-col", "fecha",
            "--amount-col", "importe",
            "--decimal-scale", "2",
            "--period", "week",
            "--calibration-end", "1997-09-30",
            "--observation-end", "1998-06-30",
            "--horizon", "12",
            "--discount-rate", "0.01",
            "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    return out


def test_cli_models_json_has_published_parameters(cli_run):
    models = json.loads((cli_run / "models.json").read_text())
    hold = models["holdout"]
    assert hold["calibration_end"] == "1997-09-30" and hold["n_customers"] == 2357
    published = {
        "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
        "paretonbd": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
        "gammagamma": {"p": 6.25, "q": 3.74, "v": 15.44},
    }
    for model, params in published.items():
        assert set(hold[model]["params"]) == set(params)
        for name, value in params.items():
            assert hold[model]["params"][name] == pytest.approx(value, rel=0.01), (model, name)
    assert hold["bgnbd"]["errors"]["mae"] == pytest.approx(0.785454, abs=1e-5)
    curve = hold["bgnbd"]["cumulative_repeat_purchases"]
    assert len(curve["actual"]) == 78 and curve["actual"][-1] == 4339
    # the full-period fit is reported with its convergence information
    for model in ("bgnbd", "paretonbd", "gammagamma"):
        report = models[model]
        assert report["convergence"]["success"] is True
        assert np.isfinite(report["log_likelihood"])
        assert set(report["params"]) == set(published[model])
    assert models["bgnbd"]["params"]["r"] != pytest.approx(hold["bgnbd"]["params"]["r"], rel=1e-3)
    assert models["n_customers"] == 2357 and models["n_transactions"] == 6919
    assert models["config"]["period"] == "week" and models["config"]["time_unit_days"] == 7.0


def test_cli_customers_csv(cli_run):
    customers = pl.read_csv(cli_run / "customers.csv", infer_schema_length=None)
    assert customers.height == 2357
    for col in (
        "customer_id", "frequency", "recency", "T", "monetary_value", "total_amount",
        "p_alive", "predicted_purchases", "expected_spend", "clv",
        "churn_risk", "churn_band", "churn_band_label", "churn_reason",
    ):  # fmt: skip
        assert col in customers.columns, col
    assert customers["p_alive"].is_between(0, 1).all()
    assert (customers["predicted_purchases"] >= 0).all() and (customers["clv"] >= 0).all()
    assert customers["churn_band"].is_in(["low", "medium", "high", "critical"]).all()
    assert customers["churn_band_label"].is_in(["bajo", "medio", "alto", "muy alto"]).all()
    row = customers.filter(pl.col("customer_id") == 1).row(0, named=True)
    # customer 1: purchases 1997-01-01, 01-18, 08-02, 12-12; 200 days before 1998-06-30
    assert row["frequency"] == 3 and row["total_amount"] == pytest.approx(100.50)
    assert row["churn_reason"] == "no compra hace 200 días; su intervalo habitual es 115"
    one_timer = customers.filter(pl.col("frequency") == 0).row(0, named=True)
    assert re.fullmatch(r"una sola compra, hace \d+ días", one_timer["churn_reason"])
    status = json.loads((cli_run / "models.json").read_text()).get("descriptive", {})
    if status.get("rfm") == "included":
        assert customers["r_score"].is_between(1, 5).all()
    if status.get("activity") == "included":
        assert customers["activity_state"].is_in(["active", "at_risk", "dormant", "lost"]).all()
    if str(status.get("tiers", "")).startswith("included"):
        top = customers.sort("clv", descending=True).head(50)
        assert (top["tier"] == "platino").all()  # top 5 % of 2,357 by CLV


def test_cli_bad_input_exit_code(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    assert main([str(path), "--out", str(tmp_path / "o")]) == 2
    assert "missing transaction columns" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(path), "--period", "year", "--out", str(tmp_path / "o")])


def test_analyze_decimal_money_and_margin():
    rng = np.random.default_rng(7)
    n = 400
    days = rng.integers(0, 365, size=n * 4)
    cust = np.repeat(np.arange(n), 4)
    cents = rng.integers(100, 10_000, size=n * 4)
    tx = pl.DataFrame(
        {
            "customer_id": cust,
            "ts": [dt.datetime(2024, 1, 1) + dt.timedelta(days=int(d)) for d in days],
            "amount": (pl.Series(cents) / 100).cast(pl.Decimal(12, 2)),
            "margin": (pl.Series(cents // 4) / 100).cast(pl.Decimal(12, 2)),
        }
    )
    result = analyze(tx, AnalysisConfig(period="week", fit_paretonbd=False, next_purchase=False))
    c = result.customers
    assert isinstance(c.schema["total_amount"], pl.Decimal)
    expected = tx.group_by("customer_id").agg(pl.col("amount").sum()).sort("customer_id")
    assert c.sort("customer_id")["total_amount"].to_list() == expected["amount"].to_list()
    assert sum(c["total_amount"].to_list(), Decimal(0)) == sum(tx["amount"].to_list(), Decimal(0))
    ratio = (c["clv_margin"] / c["clv"]).drop_nans().drop_nulls()
    assert ratio.is_between(0.2, 0.26).all()  # margins are a quarter of revenue, in cents
    assert result.models["config"]["churn_model"] == "bgnbd"
    assert set(result.timings) >= {"summary", "fit_bgnbd", "fit_gammagamma", "clv", "churn"}


def test_analyze_tiny_shop_is_penalised_and_reported():
    tx = pl.DataFrame(
        {
            "customer_id": [1, 1, 2, 3, 3, 3, 4],
            "ts": [dt.datetime(2024, m, 1) for m in (1, 3, 2, 1, 2, 5, 4)],
            "amount": [10.0, 12.0, 8.0, 30.0, 25.0, 20.0, 5.0],
        }
    )
    result = analyze(tx, AnalysisConfig(period="week", observation_end=dt.date(2024, 6, 30)))
    conv = result.models["bgnbd"]["convergence"]
    assert conv["penalizer_coef"] == 0.01 and "fewer than 200" in conv["penalty_reason"]
    assert result.customers.height == 4
    assert result.customers["p_alive"].is_between(0, 1).all()


def test_churn_bands_and_reasons():
    assert list(churn_band([0.0, 0.29, 0.3, 0.5, 0.69, 0.7, 1.0])) == [
        "low", "low", "medium", "high", "high", "critical", "critical",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        churn_band([0.5], thresholds=(0.5, 0.4, 0.9))
    frame = churn_frame([0.2, 0.9, 0.6], [4, 0, 1], [8.0, 0.0, 1.0], [30.0, 10.0, 1.0], unit_days=7)
    assert frame["churn_risk"].to_list() == pytest.approx([0.8, 0.1, 0.4])
    assert frame["churn_reason"].to_list() == [
        "no compra hace 154 días; su intervalo habitual es 14",
        "una sola compra, hace 70 días",
        "compró hace 0 días; su intervalo habitual es 7",
    ]
    assert churn_reason(3, 1, 10.0) == "compró hace 1 día; su intervalo habitual es 10"
    assert churn_reason(0, 142, None) == "una sola compra, hace 142 días"


def _load_benchmark():
    spec = importlib.util.spec_from_file_location(
        "bench_analytics", ROOT / "benchmarks" / "analytics.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_analytics"] = module
    spec.loader.exec_module(module)
    return module


def test_benchmark_generator_and_pipeline_smoke(tmp_path):
    bench = _load_benchmark()
    tx = bench.generate(2000, seed=1)
    assert tx.schema["amount"] == pl.Decimal(12, 2) and tx["customer_id"].n_unique() == 2000
    assert 4 < tx.height / 2000 < 20
    assert (tx["amount"] > 0).all()
    assert tx.equals(bench.generate(2000, seed=1))
    data = tmp_path / "tx.parquet"
    tx.write_parquet(data)
    ours = bench.worker_ours(data, tmp_path / "ours.parquet")
    floor = bench.worker_floor(data, tmp_path / "floor.parquet")
    assert ours["n_customers"] == floor["n_customers"] == 2000
    assert ours["peak_rss_mb"] > 0 and ours["pipeline_s"] > 0
    assert ours["bgnbd"]["r"] > 0 and ours["gammagamma"]["q"] > 1
    # the bare Polars summary of the floor equals the pipeline's summary
    a = pl.read_parquet(tmp_path / "ours.parquet").sort("customer_id")
    b = pl.read_parquet(tmp_path / "floor.parquet")
    assert a["customer_id"].equals(b["customer_id"]) and a["frequency"].equals(b["frequency"])
    for col in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=1e-12)


def test_time_unit_only_rescales_alpha_and_beta():
    """Purchases collapse by day whatever the unit, so only the rate scales change."""
    tx = read_cdnow(DATA / "CDNOW_sample.txt").filter(pl.col("customer_id") <= 1200)
    end = dt.date(1997, 9, 30)
    kwargs = {"observation_end": end, "next_purchase": False, "descriptive": ()}
    week = analyze(tx, AnalysisConfig(period="week", **kwargs)).models
    day = analyze(tx, AnalysisConfig(period="day", **kwargs)).models
    month = analyze(tx, AnalysisConfig(period="month", **kwargs)).models
    assert week["bgnbd"]["convergence"]["success"] and week["paretonbd"]["convergence"]["success"]
    for other, days in ((day, 1.0), (month, 365.2425 / 12)):
        for name in ("r", "a", "b"):
            assert other["bgnbd"]["params"][name] == pytest.approx(
                week["bgnbd"]["params"][name], rel=1e-5
            )
        assert other["bgnbd"]["params"]["alpha"] * days == pytest.approx(
            week["bgnbd"]["params"]["alpha"] * 7, rel=1e-5
        )
        for name in ("alpha", "beta"):
            assert other["paretonbd"]["params"][name] * days == pytest.approx(
                week["paretonbd"]["params"][name] * 7, rel=1e-4
            )


def test_descriptive_scores_from_the_summary_equal_the_transaction_modules():
    """RFM and ABC come from the summary's totals; same as scoring the transactions."""
    from fideliza.analytics.abc import abc_classes
    from fideliza.analytics.rfm import rfm_table

    rng = np.random.default_rng(11)
    n_rows = 3000
    cust = rng.integers(0, 500, size=n_rows) * 3 + 10  # sparse-ish integer ids
    days = rng.integers(0, 400, size=n_rows)
    cents = rng.integers(-500, 20_000, size=n_rows)  # a few refunds
    tx = pl.DataFrame(
        {
            "customer_id": cust,
            "ts": [dt.datetime(2023, 3, 1, 10) + dt.timedelta(days=int(d)) for d in days],
            "amount": (pl.Series(cents) / 100).cast(pl.Decimal(12, 2)),
            "margin": (pl.Series(cents // 3) / 100).cast(pl.Decimal(12, 2)),
        }
    )
    end = dt.date(2024, 2, 1)  # some transactions fall after it
    result = analyze(
        tx,
        AnalysisConfig(
            observation_end=end,
            fit_paretonbd=False,
            next_purchase=False,
            descriptive=("rfm", "abc"),
        ),
    )
    got = result.customers.sort("customer_id")
    rfm = rfm_table(tx, as_of=end, order_col=None)
    abc = abc_classes(tx, basis=("revenue", "margin"), end=end)
    assert got["customer_id"].to_list() == rfm["customer_id"].to_list()
    for col in ("r_score", "f_score", "m_score", "rfm_score"):
        assert got[col].to_list() == rfm[col].to_list()
    assert got["rfm_segment"].to_list() == rfm["segment"].to_list()
    assert got["abc_revenue"].to_list() == abc["abc_revenue"].to_list()
    assert got["abc_margin"].to_list() == abc["abc_margin"].to_list()
    margin = abc["margin"].cast(pl.Float64) / abc["revenue"].cast(pl.Float64)
    np.testing.assert_allclose(got["clv_margin"], got["clv"] * margin, rtol=1e-12)
