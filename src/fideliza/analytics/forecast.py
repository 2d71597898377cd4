"""The backtest of every model and the learned model's predictions, for :func:`analyze`.

With ``T`` the observation end and ``h`` the horizon in calendar months:

1. **Backtest** on the most recent window ``(T - h, T]``. Each model gets the transactions
   up to ``c = T - h`` only:

   - BG/NBD and Pareto/NBD are fitted on the summary at ``c``; their churn score is what
     the product shows as churn risk under that model (1 - P(alive); for BG/NBD the
     interval rule for one-time buyers), their count the conditional expectation over
     the window. BG/NBD's own P(no purchase in the window) is scored too
     (``p_no_purchase``), for comparison.
   - The learned model is trained at ``c - h`` (labels in ``(c - h, c]``) and applied at
     ``c`` (``validation = "out_of_time"``) when the history allows it there (see
     :func:`~fideliza.analytics.models.learned.learned_trainable`); with less history,
     by cross-fitting at ``c``: the customers in three folds, each fold predicted by a
     model trained on the other two (``validation = "held_out_customers"``: the same
     window, other customers, so it does not see drift over time).

2. **Learned model** trained at ``c`` (features up to ``c``, labels in ``(c, T]``) and
   applied at ``T``: P(no purchase in ``(T, T + h]``), purchases there, and the facts
   behind each customer's risk.

3. :func:`~fideliza.analytics.backtest.choose_model` picks the model the product uses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from fideliza.analytics.backtest import choose_model, churn_metrics, count_metrics
from fideliza.analytics.churn import interval_rule_p_alive
from fideliza.analytics.models._special import compress_rows
from fideliza.analytics.models.bgnbd import BetaGeoFitter
from fideliza.analytics.models.learned import (
    LearnedModel,
    customer_features,
    learned_trainable,
    months_before,
    purchase_days,
    purchases_between,
)
from fideliza.analytics.models.paretonbd import ParetoNBDFitter
from fideliza.analytics.summary import summary_data_from_transaction_data
from fideliza.analytics.transactions import CUSTOMER

__all__ = ["Forecast", "forecast", "reason_texts"]

#: Folds of the cross-fitted backtest (with less than three horizons of history).
CROSS_FIT_FOLDS = 3
#: Customers the backtest scores (a seeded sample above it).
BACKTEST_MAX_CUSTOMERS = 200_000
#: Fewest customers with a repeat purchase by the cutoff to backtest on (as the snapshot's
#: own threshold for fitting the models at all).
MIN_REPEAT_CUSTOMERS = 3
#: What a fit on too little or degenerate history raises.
FIT_ERRORS = (ValueError, RuntimeError, FloatingPointError, ZeroDivisionError,
              np.linalg.LinAlgError)


@dataclass
class Forecast:
    """What :func:`forecast` returns.

    Attributes
    ----------
    report : dict
        JSON-ready: window, each model's backtest, the learned model's training report,
        the chosen model and the rule's reason.
    chosen : str
        ``"learned"`` or the textbook fallback passed in.
    customers : polars.DataFrame or None
        With the learned model: ``customer_id, churn_learned, purchases_learned,
        reason_1, reason_2`` (group codes, "" for none) and the facts the reasons quote.
    """

    report: dict[str, Any]
    chosen: str
    customers: pl.DataFrame | None = None


def _summary_at(tx: pl.DataFrame, cutoff: dt.date, unit_days: float) -> pl.DataFrame:
    return summary_data_from_transaction_data(
        tx, amount_col=None, period="day", freq_multiplier=unit_days, observation_end=cutoff
    )


def _xtt(summary: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (summary["frequency"].to_numpy().astype(float), summary["recency"].to_numpy(),
            summary["T"].to_numpy())


def _bg_p_alive(bg: BetaGeoFitter, x: np.ndarray, tx: np.ndarray, t: np.ndarray) -> np.ndarray:
    """BG/NBD's P(alive) with the interval rule for one-time buyers (what churn shows)."""
    rule = interval_rule_p_alive(x, tx, t)
    return np.where(np.isfinite(rule), rule, bg.conditional_probability_alive(x, tx, t))


def _btyd_features(summary: pl.DataFrame, bg: BetaGeoFitter, window: float) -> pl.DataFrame:
    """The textbook outputs the learned model sees, per distinct history."""
    x, tx, t = _xtt(summary)
    (xu, txu, tu), inv, counts = compress_rows(x, tx, t)
    rule = interval_rule_p_alive(xu, txu, tu, weights=counts)
    alive = np.where(np.isfinite(rule), rule, bg.conditional_probability_alive(xu, txu, tu))
    return summary.select(CUSTOMER).with_columns(
        btyd_p_alive=pl.Series(alive[inv]),
        btyd_p_none=pl.Series(
            bg.conditional_probability_no_purchase_up_to_time(window, xu, txu, tu)[inv]),
        btyd_expected=pl.Series(
            bg.conditional_expected_number_of_purchases_up_to_time(window, xu, txu, tu)[inv]),
    )


def _fit_bg(summary: pl.DataFrame, penalizer: Any, seed: int, seconds: float | None
            ) -> BetaGeoFitter:
    x, tx, t = _xtt(summary)
    (xu, txu, tu), _, counts = compress_rows(x, tx, t)
    return BetaGeoFitter(penalizer, max_seconds=seconds).fit(xu, txu, tu, counts, seed=seed)


def _learned_metrics(p: np.ndarray, q: np.ndarray, actual: np.ndarray) -> dict[str, Any]:
    return {"churn": churn_metrics(p, actual == 0), "purchases": count_metrics(q, actual)}


def forecast(
    tx: pl.DataFrame,
    *,
    observation_end: dt.date,
    horizon_months: int,
    unit_days: float,
    bgnbd_at_end: BetaGeoFitter,
    summary_at_end: pl.DataFrame,
    fit_paretonbd: bool,
    textbook: str,
    want: str,
    penalizer: Any = "auto",
    seed: int = 0,
    max_fit_seconds: float | None = None,
) -> Forecast:
    """Backtest every model on the most recent window and train the learned model.

    Parameters
    ----------
    tx : polars.DataFrame
        Canonical transactions up to the observation end.
    observation_end : date
        ``T``.
    horizon_months : int
        ``h``.
    unit_days : float
        Days per model time unit.
    bgnbd_at_end : BetaGeoFitter
        BG/NBD fitted at ``T`` (its outputs are features at ``T``).
    summary_at_end : polars.DataFrame
        The summary at ``T`` it was fitted on (customer order of the output).
    fit_paretonbd : bool
        Backtest Pareto/NBD too.
    textbook : str
        Returned as ``chosen`` when the learned model is not used.
    want : {"auto", "bgnbd", "paretonbd", "learned"}
        ``learned``: use it whenever it could be trained; ``auto``: the backtest decides;
        otherwise only the backtest is recorded.
    """
    h = horizon_months
    t_end = observation_end
    c1 = months_before(t_end, h)
    ahead = months_before(t_end, -h)
    h_days = (t_end - c1).days
    days = purchase_days(tx)
    first = days["day"].min() if days.height else None
    report: dict[str, Any] = {
        "horizon_months": h,
        "window": {"start_after": c1.isoformat(), "end": t_end.isoformat()},
        "churn_event": f"no purchase in the {h} months after the cutoff",
        "churn_scores": {
            "bgnbd": "churn risk as shown: 1 - P(alive), the interval rule for one-time "
                     "buyers",
            "paretonbd": "churn risk as shown: 1 - P(alive)",
            "learned": "P(no purchase in the horizon), calibrated",
        },
        "models": {},
    }
    assert isinstance(first, dt.date | type(None))
    if first is None or first > c1:
        report["skipped"] = f"no purchase before {c1.isoformat()}: no window to backtest on"
        report["chosen"], report["reason"] = textbook, "no backtest"
        return Forecast(report, textbook)
    s1_all = _summary_at(tx, c1, unit_days)
    w1 = h_days / unit_days
    repeaters = int((s1_all["frequency"] > 0).sum())
    if repeaters < MIN_REPEAT_CUSTOMERS or not s1_all.height or s1_all["T"].to_numpy().max() <= 0:
        report["skipped"] = (f"{repeaters} customers with a repeat purchase by "
                             f"{c1.isoformat()}: too little history to backtest on")
        report["chosen"], report["reason"] = textbook, "no backtest"
        return Forecast(report, textbook)
    try:
        bg1 = _fit_bg(s1_all, penalizer, seed, max_fit_seconds)
    except FIT_ERRORS as exc:
        report["skipped"] = f"BG/NBD could not be fitted at {c1.isoformat()}: {exc}"
        report["chosen"], report["reason"] = textbook, "no backtest"
        return Forecast(report, textbook)
    # The models are fitted on every customer; the backtest scores (and the learned model
    # learns from) a seeded sample above BACKTEST_MAX_CUSTOMERS: its figures are as
    # precise, and the trees' passes over the customers cost less.
    s1 = s1_all
    if s1.height > BACKTEST_MAX_CUSTOMERS:
        pick = np.sort(np.random.default_rng(seed).choice(
            s1.height, BACKTEST_MAX_CUSTOMERS, replace=False))
        s1 = s1[pick]
        report["sample"] = f"{BACKTEST_MAX_CUSTOMERS:,} of {s1_all.height:,} customers"
    actual1 = purchases_between(days, s1[CUSTOMER], c1, t_end)
    x1, tx1, t1 = _xtt(s1)
    models = report["models"]
    p_none = bg1.conditional_probability_no_purchase_up_to_time(w1, x1, tx1, t1)
    models["bgnbd"] = {
        "churn": churn_metrics(1.0 - _bg_p_alive(bg1, x1, tx1, t1), actual1 == 0),
        "purchases": count_metrics(
            bg1.conditional_expected_number_of_purchases_up_to_time(w1, x1, tx1, t1), actual1),
        "p_no_purchase": churn_metrics(p_none, actual1 == 0),
    }
    if fit_paretonbd:
        (xu, txu, tu), inv, counts = compress_rows(x1, tx1, t1)
        try:
            pn1: ParetoNBDFitter | None = ParetoNBDFitter(
                penalizer, max_seconds=max_fit_seconds).fit(xu, txu, tu, counts)
        except FIT_ERRORS:
            pn1 = None
        if pn1 is not None and pn1.fit_info_["success"]:
            models["paretonbd"] = {
                "churn": churn_metrics(1.0 - pn1.conditional_probability_alive(xu, txu, tu)[inv],
                                       actual1 == 0),
                "purchases": count_metrics(
                    pn1.conditional_expected_number_of_purchases_up_to_time(w1, xu, txu, tu)[inv],
                    actual1),
            }
        else:
            models["paretonbd"] = {"skipped": "Pareto/NBD fit at the cutoff did not converge"}

    learned: dict[str, Any] = {}
    report["learned"] = learned
    why = learned_trainable(first_purchase=first, observation_end=t_end, horizon_months=h,
                            n_customers_at_cutoff=s1_all.height)
    model = None
    f1 = None
    if why is None:
        sampled = s1.height < s1_all.height
        f1 = customer_features(
            days.join(s1.select(CUSTOMER), on=CUSTOMER, how="semi") if sampled else days,
            cutoff=c1, horizon_days=h_days,
            transactions=tx.join(s1.select(CUSTOMER), on=CUSTOMER, how="semi") if sampled
            else tx,
            btyd=_btyd_features(s1, bg1, w1))
        try:
            model = LearnedModel(seed=seed).fit(f1, actual1)
        except FIT_ERRORS as exc:
            why = str(exc)
    if model is None or f1 is None:
        learned["skipped"] = f"not trained: {why}; textbook model used"
    else:
        learned.update(trained_at=c1.isoformat(), n_train=model.n_train_,
                       calibration=model.calibration_, iterations=model.iterations_)
        # The learned model's own backtest.
        c2 = months_before(c1, h)
        s2 = _summary_at(tx, c2, unit_days) if first <= c2 else None
        why2 = learned_trainable(first_purchase=first, observation_end=c1, horizon_months=h,
                                 n_customers_at_cutoff=0 if s2 is None else s2.height)
        bt_model = None
        if why2 is None and s2 is not None:
            w2 = (c1 - c2).days / unit_days
            try:
                bg2 = _fit_bg(s2, penalizer, seed, max_fit_seconds)
            except FIT_ERRORS as exc:
                why2 = f"BG/NBD could not be fitted at {c2.isoformat()}: {exc}"
                s2 = None
        if why2 is None and s2 is not None:
            if s2.height > BACKTEST_MAX_CUSTOMERS:
                s2 = s2[np.sort(np.random.default_rng(seed).choice(
                    s2.height, BACKTEST_MAX_CUSTOMERS, replace=False))]
                f2 = customer_features(
                    days.join(s2.select(CUSTOMER), on=CUSTOMER, how="semi"), cutoff=c2,
                    horizon_days=h_days,
                    transactions=tx.join(s2.select(CUSTOMER), on=CUSTOMER, how="semi"),
                    btyd=_btyd_features(s2, bg2, w2))
            else:
                f2 = customer_features(days, cutoff=c2, horizon_days=h_days, transactions=tx,
                                       btyd=_btyd_features(s2, bg2, w2))
            try:
                bt_model = LearnedModel(seed=seed).fit(
                    f2, purchases_between(days, f2[CUSTOMER], c2, c1))
            except FIT_ERRORS as exc:
                why2 = str(exc)
        if bt_model is not None:
            models["learned"] = _learned_metrics(bt_model.predict_churn(f1),
                                                 bt_model.predict_purchases(f1), actual1)
            models["learned"]["validation"] = "out_of_time"
        else:
            p = np.empty(f1.height)
            q = np.empty(f1.height)
            fold = np.random.default_rng(seed).integers(0, CROSS_FIT_FOLDS, f1.height)
            try:
                for k in range(CROSS_FIT_FOLDS):
                    part = fold == k
                    m = LearnedModel(seed=seed).fit(f1.filter(~part), actual1[~part])
                    p[part] = m.predict_churn(f1.filter(part))
                    q[part] = m.predict_purchases(f1.filter(part))
            except FIT_ERRORS as exc:
                models["learned"] = {"skipped": f"not backtested: {exc}"}
            else:
                models["learned"] = _learned_metrics(p, q, actual1)
                models["learned"]["validation"] = "held_out_customers"
                models["learned"]["why_not_out_of_time"] = why2
    chosen, reason = choose_model(report, textbook)
    if want == "learned":
        chosen = "learned" if model is not None else textbook
        reason = "asked for" if model is not None else learned["skipped"]
    elif want != "auto":
        chosen, reason = textbook, "asked for"
    report["chosen"], report["reason"] = chosen, reason
    if model is None:
        return Forecast(report, chosen)
    w_end = (ahead - t_end).days / unit_days
    f_end = customer_features(days, cutoff=t_end, horizon_days=h_days, transactions=tx,
                              btyd=_btyd_features(summary_at_end, bgnbd_at_end, w_end))
    f_end = summary_at_end.select(CUSTOMER).join(f_end, on=CUSTOMER, how="left")
    churn, groups = model.predict_churn_with_reasons(f_end)
    out = f_end.select(
        CUSTOMER, "frequency", "days_since_last", "mean_interval_days", "purchases_last_h",
    ).with_columns(
        churn_learned=pl.Series(churn),
        purchases_learned=pl.Series(model.predict_purchases(f_end)),
        **{f"reason_{k + 1}": pl.Series(groups[:, k].astype(str), dtype=pl.String)
           for k in range(groups.shape[1])},
    )
    report["next_window"] = {"start_after": t_end.isoformat(), "end": ahead.isoformat()}
    return Forecast(report, chosen, out)


#: The sentences of each reason group per language ({days}, {interval}, {n}, {months}).
_REASON_WORDS: dict[str, dict[str, str]] = {
    "es": {
        "silence": "no compra hace {days}",
        "silence_interval": "no compra hace {days} (solía volver cada {interval} días)",
        "day": "1 día",
        "days": "{} días",
        "few_purchases": "solo {n} compras",
        "one_purchase": "una sola compra",
        "recent_activity": "{n} compras en los últimos {months} meses",
        "recent_one": "1 compra en los últimos {months} meses",
        "no_recent": "ninguna compra en los últimos {months} meses",
        "slowing": "compra menos a menudo que antes",
        "spend_down": "gasta menos por compra que antes",
    },
    "en": {
        "silence": "no purchase for {days}",
        "silence_interval": "no purchase for {days} (used to come back every {interval} days)",
        "day": "1 day",
        "days": "{} days",
        "few_purchases": "only {n} purchases",
        "one_purchase": "one purchase only",
        "recent_activity": "{n} purchases in the last {months} months",
        "recent_one": "1 purchase in the last {months} months",
        "no_recent": "no purchase in the last {months} months",
        "slowing": "buys less often than before",
        "spend_down": "spends less per purchase than before",
    },
}


def reason_texts(customers: pl.DataFrame, *, horizon_months: int, lang: str = "es") -> list[str]:
    """The learned reasons of each customer as one sentence ("" when none stands out).

    ``customers`` is :attr:`Forecast.customers` (``reason_1``, ``reason_2`` and the facts).
    Each distinct combination of reasons and the facts they quote is worded once.
    """
    words = _REASON_WORDS.get(lang, _REASON_WORDS["es"])
    reasons = [c for c in customers.columns if c.startswith("reason_")]
    needs = {
        "silence": ["days_since_last", "mean_interval_days"],
        "few_purchases": ["frequency"],
        "recent_activity": ["purchases_last_h"],
    }
    facts = customers.select(
        *reasons,
        *(pl.when(pl.any_horizontal([pl.col(c) == code for c in reasons]))
          .then(pl.col(name).round(0)).alias(name)
          for code, names in needs.items() for name in names),
    )
    keys = facts.columns
    distinct = facts.unique(maintain_order=True)
    texts = []
    for row in distinct.iter_rows(named=True):
        parts = []
        for code in (row[c] for c in reasons):
            if not code:
                continue
            if code == "silence":
                n_days = round(row["days_since_last"] or 0)
                interval = row["mean_interval_days"]
                ago = words["day"] if n_days == 1 else words["days"].format(n_days)
                parts.append(words["silence_interval" if interval else "silence"].format(
                    days=ago, interval=max(1, round(interval or 0))))
            elif code == "few_purchases":
                n = round((row["frequency"] or 0) + 1)
                parts.append(words["one_purchase"] if n <= 1 else
                             words["few_purchases"].format(n=n))
            elif code == "recent_activity":
                n = round(row["purchases_last_h"] or 0)
                key = "no_recent" if n == 0 else "recent_one" if n == 1 else "recent_activity"
                parts.append(words[key].format(n=n, months=horizon_months))
            else:
                parts.append(words[code])
        texts.append("; ".join(parts))
    worded = distinct.with_columns(pl.Series("_text", texts, dtype=pl.String))
    return facts.join(worded, on=keys, how="left", nulls_equal=True, maintain_order="left"
                      )["_text"].to_list()
