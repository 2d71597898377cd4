"""Every model's predictions on CDNOW against what the customers did next (issue 19).

Fits on the data up to an observation end and scores the next months, which no model
sees: churn (no purchase in the window) AUC, Brier and reliability curve; per-customer MAE
and the predicted total. Two settings:

- 52 weeks: observation end 1997-12-31, horizon 6 months, scored on January-June 1998;
- 39 weeks (Fader, Hardie & Lee's calibration): observation end 1997-09-30, scored on
  October 1997-June 1998 (39 weeks), horizon 9 months.

The textbook models' churn score is what the product shows as churn risk (1 - P(alive);
for BG/NBD the interval rule for one-time buyers); BG/NBD's own P(no purchase in the
window) is printed too.

    .venv/bin/python benchmarks/learned_cdnow.py [--data CDNOW_sample.txt]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import polars as pl

from fideliza.analytics.backtest import churn_metrics, count_metrics
from fideliza.analytics.models import BetaGeoFitter
from fideliza.analytics.models.learned import purchase_days, purchases_between
from fideliza.analytics.pipeline import AnalysisConfig, analyze
from fideliza.analytics.summary import summary_data_from_transaction_data
from fideliza.analytics.transactions import read_cdnow

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "tests/analytics/data/CDNOW_sample.txt"


def _line(name: str, churn: dict, counts: dict | None) -> str:
    text = (f"  {name:<24} AUC {churn['auc']:.3f}  Brier {churn['brier']:.4f}  "
            f"calib. gap {churn['max_calibration_gap']:.3f}")
    if counts is not None:
        text += (f"  MAE {counts['mae']:.3f}  total {counts['predicted_total']:,.0f} "
                 f"({counts['total_error']:+.1%})")
    return text


def setting(tx: pl.DataFrame, end: dt.date, score_end: dt.date, horizon: int, model: str
            ) -> dict:
    started = time.perf_counter()
    cfg = AnalysisConfig(period="week", observation_end=end, horizon=horizon, model=model,
                         descriptive=(), next_purchase=False)
    result = analyze(tx, cfg)
    seconds = time.perf_counter() - started
    c = result.customers
    days = purchase_days(tx)
    actual = purchases_between(days, c["customer_id"], end, score_end)
    churned = actual == 0
    window = (score_end - end).days / 7.0
    s = summary_data_from_transaction_data(tx, amount_col=None, period="day",
                                           freq_multiplier=7.0, observation_end=end)
    x, r, t = (s[k].to_numpy() for k in ("frequency", "recency", "T"))
    bg = BetaGeoFitter().fit(x, r, t)
    out = {
        "observation_end": end.isoformat(), "scored_to": score_end.isoformat(),
        "actual_total": float(actual.sum()), "no_purchase_share": float(churned.mean()),
        "chosen": result.models["backtest"]["chosen"],
        "reason": result.models["backtest"]["reason"],
        "learned": result.models["backtest"].get("learned"),
        "skipped": result.models["backtest"].get("skipped"),
        "seconds": seconds,
        "scores": {},
    }
    scores = out["scores"]
    textbook_alive = c["p_alive_textbook"] if "p_alive_textbook" in c.columns else c["p_alive"]
    scores["paretonbd"] = (churn_metrics(1 - textbook_alive.to_numpy(), churned),
                           count_metrics(c["predicted_purchases_paretonbd"].to_numpy()
                                         if "predicted_purchases_paretonbd" in c.columns
                                         else np.full(c.height, np.nan), actual))
    bg_counts = bg.conditional_expected_number_of_purchases_up_to_time(window, x, r, t)
    scores["bgnbd P(no purchase)"] = (
        churn_metrics(bg.conditional_probability_no_purchase_up_to_time(window, x, r, t),
                      churned),
        count_metrics(bg_counts, actual))
    if "learned" in set(c["p_alive_model"].unique()):
        scores["learned"] = (churn_metrics(c["churn_risk"].to_numpy(), churned),
                             count_metrics(c["predicted_purchases"].to_numpy(), actual))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    tx = read_cdnow(args.data).select("customer_id", "ts", "amount")
    runs = {
        "52 weeks, horizon 6 months": setting(tx, dt.date(1997, 12, 31), dt.date(1998, 6, 30),
                                              6, "learned"),
        "39 weeks, horizon 9 months": setting(tx, dt.date(1997, 9, 30), dt.date(1998, 6, 30),
                                              9, "learned"),
    }
    for name, run in runs.items():
        print(f"{name}: fit to {run['observation_end']}, scored to {run['scored_to']}: "
              f"{run['actual_total']:,.0f} purchases, {run['no_purchase_share']:.1%} "
              f"without; chosen {run['chosen']} ({run['reason']}); {run['seconds']:.1f} s")
        for model, (churn, counts) in run["scores"].items():
            print(_line(model, churn, counts if not np.isnan(counts["mae"] or np.nan) else None))
            if model == "learned":
                for b in churn["calibration"]:
                    print(f"      {b['lo']:.1f}-{b['hi']:.1f}: n {b['n']:>4}  predicted "
                          f"{b['predicted']:.3f}  observed {b['observed']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1, default=str))


if __name__ == "__main__":
    main()
