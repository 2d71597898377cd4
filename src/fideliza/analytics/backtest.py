"""How good were the predictions? Scores of a churn probability and of purchase counts.

Every recompute re-plays the most recent horizon: each model is given the transactions up
to ``T - h`` only, predicts ``(T - h, T]``, and is compared with what the customers did.

- churn: ``AUC`` (the chance that a customer who did not buy was ranked riskier than one
  who did; 0.5 is a coin), ``brier`` (mean squared error of the probability), and the
  reliability curve: customers in ten bins of predicted probability (0-10 %, ..., 90-100 %)
  with the mean prediction and the share who really did not buy in each;
- purchases: per-customer ``mae`` and ``rmse``, predicted and actual totals and the
  relative ``total_error``.

:func:`choose_model` is the ``auto`` rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import rankdata

__all__ = ["CALIBRATION_MIN_BIN", "choose_model", "churn_metrics", "count_metrics", "roc_auc"]

#: Bins of the reliability curve with fewer customers than this are drawn but not judged
#: (``max_calibration_gap`` ignores them): their share is mostly noise.
CALIBRATION_MIN_BIN = 50


def roc_auc(event: ArrayLike, score: ArrayLike) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted half); None with one class."""
    y = np.asarray(event, dtype=bool)
    s = np.asarray(score, dtype=float)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def churn_metrics(p_churn: ArrayLike, churned: ArrayLike, *, bins: int = 10) -> dict[str, Any]:
    """AUC, Brier score and reliability curve of a churn probability.

    Parameters
    ----------
    p_churn : array_like
        Predicted probability of the event (no purchase in the window).
    churned : array_like of bool
        Whether the event happened.
    bins : int
        Equal-width bins of the predicted probability.

    Returns
    -------
    dict
        ``n``, ``base_rate``, ``mean_predicted``, ``auc``, ``brier``, ``calibration``
        (one entry per non-empty bin: ``lo``, ``hi``, ``n``, ``predicted``, ``observed``)
        and ``max_calibration_gap`` (largest ``|predicted - observed|`` over the bins with
        at least :data:`CALIBRATION_MIN_BIN` customers).
    """
    p = np.clip(np.asarray(p_churn, dtype=float), 0.0, 1.0)
    y = np.asarray(churned, dtype=bool)
    which = np.minimum((p * bins).astype(int), bins - 1)
    curve = []
    gap = None
    for k in range(bins):
        sel = which == k
        n = int(sel.sum())
        if not n:
            continue
        predicted, observed = float(p[sel].mean()), float(y[sel].mean())
        curve.append({"lo": k / bins, "hi": (k + 1) / bins, "n": n,
                      "predicted": predicted, "observed": observed})
        if n >= CALIBRATION_MIN_BIN:
            gap = max(gap or 0.0, abs(predicted - observed))
    return {
        "n": int(y.size),
        "base_rate": float(y.mean()) if y.size else None,
        "mean_predicted": float(p.mean()) if p.size else None,
        "auc": roc_auc(y, p),
        "brier": float(np.mean((p - y) ** 2)) if y.size else None,
        "calibration": curve,
        "max_calibration_gap": gap,
    }


def count_metrics(predicted: ArrayLike, actual: ArrayLike) -> dict[str, Any]:
    """Per-customer MAE/RMSE and totals of predicted against actual purchase counts."""
    q = np.asarray(predicted, dtype=float)
    y = np.asarray(actual, dtype=float)
    err = q - y
    total, actual_total = float(q.sum()), float(y.sum())
    return {
        "n": int(y.size),
        "mae": float(np.mean(np.abs(err))) if y.size else None,
        "rmse": float(np.sqrt(np.mean(err**2))) if y.size else None,
        "predicted_total": total,
        "actual_total": actual_total,
        "total_error": (total - actual_total) / actual_total if actual_total else None,
    }


def choose_model(backtest: dict[str, Any], textbook: str) -> tuple[str, str]:
    """The ``auto`` rule: which model's predictions the product uses, and why.

    The learned model is used when it was trained and backtested and, on the most recent
    window, both ranks churn at least as well (AUC) and predicts each customer's purchases
    at least as well (MAE) as every textbook model; otherwise ``textbook`` (the configured
    textbook predictions: BG/NBD counts, Pareto/NBD churn where it is fitted).

    Parameters
    ----------
    backtest : dict
        ``{"models": {name: {"churn": churn_metrics, "purchases": count_metrics}}}``;
        the learned model under ``"learned"``.
    textbook : str
        What to return when the learned model is not chosen.
    """
    models = backtest.get("models") or {}
    learned = models.get("learned")
    if not learned or "churn" not in learned or "purchases" not in learned:
        return textbook, "learned model not trained or not backtested"
    others = {k: v for k, v in models.items() if k != "learned" and "churn" in v}
    if not others:
        return textbook, "no textbook model backtested to compare with"
    auc = learned["churn"]["auc"]
    mae = learned["purchases"]["mae"]
    if auc is None or mae is None:
        return textbook, "learned model's backtest has no AUC (one class only in the window)"
    best_auc = max((v["churn"]["auc"] or 0.0) for v in others.values())
    best_mae = min(v["purchases"]["mae"] for v in others.values())
    if auc is not None and auc >= best_auc and mae <= best_mae:
        return "learned", (f"learned: AUC {auc:.3f} >= {best_auc:.3f} and MAE {mae:.3f} <= "
                           f"{best_mae:.3f} on the most recent window")
    return textbook, (f"textbook: learned AUC {auc:.3f} vs best {best_auc:.3f}, MAE {mae:.3f} "
                      f"vs best {best_mae:.3f} on the most recent window")
