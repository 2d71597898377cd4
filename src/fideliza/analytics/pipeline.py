"""The whole per-customer scoring in one call: :func:`analyze`.

Used by ``fideliza analyze FILE`` and by the Django app's nightly job (which reads the
transaction columns from the database into a Polars frame and writes the result back as the
customer metrics snapshot). Steps:

1. BTYD summary up to the observation end (purchases collapse by day; time is measured in
   the configured unit: day, week = 7 days, month = 30.436875 days).
2. Optional holdout validation: with a calibration end, the models are also fitted on the
   calibration period and scored against the holdout (per-customer MAE and the cumulative
   repeat-purchase curve).
3. BG/NBD (and Pareto/NBD) fitted on the whole observation period; P(alive), predicted
   purchases over the horizon, expected time to the next purchase.
4. Gamma-Gamma on repeat customers; expected spend; discounted CLV (and CLV in margin when
   a margin column exists).
5. Churn risk, band and reason.
6. The descriptive scores of :mod:`fideliza.analytics.rfm`, :mod:`~fideliza.analytics.abc`,
   :mod:`~fideliza.analytics.activity` and :mod:`~fideliza.analytics.tiers` (tier by CLV)
   when those modules are installed.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from fideliza.analytics.churn import DEFAULT_THRESHOLDS, churn_frame, interval_rule_p_alive
from fideliza.analytics.forecast import Forecast, forecast, reason_texts
from fideliza.analytics.models._special import compress_rows, group_keys
from fideliza.analytics.models.bgnbd import BetaGeoFitter
from fideliza.analytics.models.clv import discount_profile, lifetimes_units_per_month
from fideliza.analytics.models.evaluation import cumulative_repeat_purchases, holdout_errors
from fideliza.analytics.models.gammagamma import GammaGammaFitter
from fideliza.analytics.models.paretonbd import ParetoNBDFitter
from fideliza.analytics.summary import (
    PERIOD_DAYS,
    Period,
    as_date,
    calibration_and_holdout_data,
    summary_data_from_transaction_data,
)
from fideliza.analytics.transactions import AMOUNT, CUSTOMER, MARGIN, TS

__all__ = ["AnalysisConfig", "AnalysisResult", "analyze"]


@dataclass(frozen=True)
class AnalysisConfig:
    """Settings of :func:`analyze`.

    Parameters
    ----------
    period : {"day", "week", "month"}
        Time unit of the models (purchases always collapse by calendar day, as in Fader,
        Hardie & Lee's CDNOW analysis).
    calibration_end : date, optional
        End of the calibration period; enables the holdout validation.
    observation_end : date, optional
        Last day observed; defaults to the last purchase date.
    horizon : int
        Months ahead for predicted purchases and CLV.
    discount_rate : float
        Monthly discount rate of the CLV.
    transaction_model : {"bgnbd", "paretonbd"}
        Model behind P(alive), predicted purchases and CLV.
    churn_model : {"auto", "bgnbd", "paretonbd"}
        Model whose P(alive) gives the churn risk. ``"auto"`` uses Pareto/NBD when it is
        fitted: BG/NBD assumes that a customer can only drop out right after a purchase,
        so its P(alive) is 1 for every one-time buyer however long ago they bought, which
        is the wrong message for a churn list. Otherwise ``transaction_model``.
    fit_paretonbd : bool or "auto"
        Also fit Pareto/NBD. Its likelihood has no analytic gradient here and needs two
        hypergeometric evaluations per distinct history, so ``"auto"`` (default) fits it
        only up to 200,000 customers (the skip is reported in ``models``).
    penalizer_coef : float or "auto"
        Passed to the estimators.
    churn_thresholds : tuple of three floats
        Churn band boundaries.
    next_purchase : bool or "auto"
        Compute the expected time to the next purchase (BG/NBD; a root search per
        distinct history, about 3.5 s of CPU for a million customers). ``"auto"`` does it
        only up to 200,000 customers and reports the skip in ``models``.
    descriptive : tuple of str
        Descriptive scores to add when their modules are available: any of ``"rfm"``,
        ``"abc"``, ``"activity"``, ``"tiers"`` (value tiers by predicted CLV, or by
        revenue without amounts for a CLV).
    seed : int
        Seed of the warm-start subsample of very large fits.
    max_fit_seconds : float, optional
        Wall-clock limit of each model fit (a safety net; see ``BaseFitter.max_seconds``).
        A Pareto/NBD fit that does not converge in it is dropped: P(alive) and churn then
        come from BG/NBD and the interval rule, and ``models`` says so.
    lang : {"es", "en"}
        Language of the churn band words and reasons.
    model : {"auto", "bgnbd", "paretonbd", "learned"}, optional
        With a value, every model is backtested on the most recent ``horizon`` months
        (``models["backtest"]``, see :mod:`fideliza.analytics.forecast`) and the learned
        model is trained when the history allows it. ``"learned"`` then uses it for
        P(alive), churn risk and reasons, predicted purchases and CLV whenever it could be
        trained; ``"auto"`` only when its backtest beats every textbook model (see
        :func:`fideliza.analytics.backtest.choose_model`); ``"bgnbd"``/``"paretonbd"``
        record the backtest only (choose the textbook models with ``transaction_model``
        and ``churn_model``). None (default): no backtest, textbook models only.
    """

    period: Period = "week"
    calibration_end: dt.date | None = None
    observation_end: dt.date | None = None
    horizon: int = 12
    discount_rate: float = 0.01
    transaction_model: Literal["bgnbd", "paretonbd"] = "bgnbd"
    churn_model: Literal["auto", "bgnbd", "paretonbd"] = "auto"
    fit_paretonbd: bool | Literal["auto"] = "auto"
    penalizer_coef: float | Literal["auto"] = "auto"
    churn_thresholds: tuple[float, float, float] = DEFAULT_THRESHOLDS
    next_purchase: bool | Literal["auto"] = True
    descriptive: tuple[str, ...] = ("rfm", "abc", "activity", "tiers")
    seed: int = 0
    max_fit_seconds: float | None = None
    lang: Literal["es", "en"] = "es"
    model: Literal["auto", "bgnbd", "paretonbd", "learned"] | None = None


@dataclass
class AnalysisResult:
    """Output of :func:`analyze`.

    Attributes
    ----------
    customers : polars.DataFrame
        One row per customer with the summary and every score.
    models : dict
        JSON-ready report: configuration, each model's parameters under their literature
        names, log-likelihood, convergence report and (with a calibration end) holdout
        validation.
    timings : dict
        Wall-clock seconds spent per step.
    cpu_timings : dict
        CPU seconds (all threads of the process) per step.
    """

    customers: pl.DataFrame
    models: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    cpu_timings: dict[str, float] = field(default_factory=dict)


def _model_report(model: BetaGeoFitter | ParetoNBDFitter | GammaGammaFitter) -> dict[str, Any]:
    info = dict(model.fit_info_)
    info.pop("standard_errors", None)
    return {
        "params": model.params_,
        "standard_errors": model.standard_errors_,
        "log_likelihood": model.log_likelihood_,
        "convergence": info,
    }


#: Largest customer count for which the "auto" settings fit Pareto/NBD and compute next purchases.
AUTO_MAX_CUSTOMERS = 200_000

#: What ``models["p_alive"]["note"]`` says about each source of P(alive).
_P_ALIVE_NOTES = {
    "paretonbd": "Pareto/NBD for every customer (customers may drop out at any time, so a "
    "one-time buyer silent for long is likely gone)",
    "bgnbd": "BG/NBD for repeat customers; one-time buyers by the interval rule (Kaplan-Meier "
    "of the time returning customers took: the share of those silent as long who come "
    "back), since BG/NBD deems every one-time buyer alive",
}


def _want_pareto(cfg: AnalysisConfig, n_customers: int) -> bool:
    if cfg.fit_paretonbd == "auto":
        return n_customers <= AUTO_MAX_CUSTOMERS or cfg.transaction_model == "paretonbd"
    return bool(cfg.fit_paretonbd)


def _fit_count_model(
    kind: str, summary: pl.DataFrame, cfg: AnalysisConfig, suffix: str = ""
) -> BetaGeoFitter | ParetoNBDFitter:
    x = summary["frequency" + suffix].to_numpy()
    tx = summary["recency" + suffix].to_numpy()
    t = summary["T" + suffix].to_numpy()
    return _fit_histories(kind, x, tx, t, None, cfg)


def _distinct_histories(
    summary: pl.DataFrame, x: np.ndarray, tx: np.ndarray, t: np.ndarray, obs_end: dt.date
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct (x, t_x, T) histories, as :func:`compress_rows` returns them.

    A day-collapsed summary's history is exactly (x, days from first to last purchase,
    days from first purchase to the end): packed into one integer it groups without
    hashing or checking (1M customers: ~0.1 s of CPU instead of ~0.25 s).
    """
    first = summary["first_purchase"].to_numpy()
    rec_days = (summary["last_purchase"].to_numpy() - first).astype(np.int64)
    age_days = (np.datetime64(obs_end, "D") - first).astype(np.int64)
    if x.size == 0 or x.max() >= 2**22 or age_days.max() >= 2**20:
        return compress_rows(x, tx, t)
    keys = (x.astype(np.int64) << 40) | (rec_days << 20) | age_days
    first_rows, inverse, counts = group_keys(keys)
    return [x[first_rows], tx[first_rows], t[first_rows]], inverse, counts


def _fit_histories(
    kind: str,
    x: np.ndarray,
    tx: np.ndarray,
    t: np.ndarray,
    weights: np.ndarray | None,
    cfg: AnalysisConfig,
    on_iteration: Callable[[int], None] | None = None,
) -> BetaGeoFitter | ParetoNBDFitter:
    if kind == "bgnbd":
        bg = BetaGeoFitter(cfg.penalizer_coef, max_seconds=cfg.max_fit_seconds)
        bg.on_iteration = on_iteration
        return bg.fit(x, tx, t, weights, seed=cfg.seed)
    pn = ParetoNBDFitter(cfg.penalizer_coef, max_seconds=cfg.max_fit_seconds)
    pn.on_iteration = on_iteration
    return pn.fit(x, tx, t, weights)


def _holdout(
    tx: pl.DataFrame, cfg: AnalysisConfig, obs_end: dt.date, unit_days: float, has_amount: bool
) -> dict[str, Any]:
    assert cfg.calibration_end is not None
    ch = calibration_and_holdout_data(
        tx,
        calibration_end=cfg.calibration_end,
        observation_end=obs_end,
        amount_col=AMOUNT if has_amount else None,
        period="day",
        freq_multiplier=unit_days,
    )
    d0 = tx.select(pl.col(TS).min()).item().date()
    n_points = math.ceil(((obs_end - d0).days + 1) / unit_days)
    report: dict[str, Any] = {
        "calibration_end": as_date(cfg.calibration_end).isoformat(),
        "n_customers": ch.height,
        "duration": float(ch["duration_holdout"][0]),
    }
    kinds = ["bgnbd", "paretonbd"] if _want_pareto(cfg, ch.height) else ["bgnbd"]
    for kind in kinds:
        model = _fit_count_model(kind, ch, cfg, "_cal")
        curve = cumulative_repeat_purchases(model, tx, n_points=n_points, unit_days=unit_days)
        report[kind] = {
            "params": model.params_,
            "log_likelihood": model.log_likelihood_,
            "convergence": {k: v for k, v in model.fit_info_.items() if k != "standard_errors"},
            "errors": holdout_errors(model, ch),
            "cumulative_repeat_purchases": {
                "period": curve["period"].to_list(),
                "date": [d.isoformat() for d in curve["date"].to_list()],
                "actual": curve["actual"].to_list(),
                "predicted": curve["predicted"].to_list(),
            },
        }
    if has_amount:
        repeat = ch.filter((pl.col("frequency_cal") > 0) & (pl.col("monetary_value_cal") > 0))
        if repeat.height:
            gg = GammaGammaFitter(cfg.penalizer_coef).fit(
                repeat["frequency_cal"].to_numpy(), repeat["monetary_value_cal"].to_numpy()
            )
            both = repeat.filter(pl.col("frequency_holdout") > 0)
            spend = gg.conditional_expected_average_profit(
                both["frequency_cal"].to_numpy(), both["monetary_value_cal"].to_numpy()
            )
            actual = both["monetary_value_holdout"].to_numpy()
            report["gammagamma"] = {
                "params": gg.params_,
                "log_likelihood": gg.log_likelihood_,
                "n_compared": both.height,
                "spend_mae": float(np.mean(np.abs(spend - actual))) if both.height else None,
                "mean_predicted_spend": float(spend.mean()) if both.height else None,
                "mean_actual_spend": float(actual.mean()) if both.height else None,
            }
    return report


def _descriptive(
    tx: pl.DataFrame,
    summary: pl.DataFrame,
    obs_end: dt.date,
    has_margin: bool,
    wanted: tuple[str, ...],
) -> tuple[list[pl.DataFrame], dict[str, str]]:
    """Per-customer tables from the descriptive modules that are importable.

    RFM and ABC need only per-customer totals, which the summary already carries
    (``n_transactions``, ``total_amount``, ``total_margin``, ``last_purchase``): they are
    scored from it with :func:`~fideliza.analytics.rfm.rfm_scores` and
    :func:`~fideliza.analytics.abc.abc_classify`, giving exactly what ``rfm_table`` and
    ``abc_classes`` give on the transactions (every row an order) without two more passes
    over them (1M customers / 10M transactions: 3.4 s of CPU saved). Activity states look
    at every inter-purchase gap and still read the transactions.
    """
    frames: list[pl.DataFrame] = []
    status: dict[str, str] = {}
    bases = ["revenue", "margin"] if has_margin else ["revenue"]
    totals = summary.select(
        CUSTOMER,
        (pl.lit(obs_end) - pl.col("last_purchase")).dt.total_days().alias("recency_days"),
        pl.col("n_transactions").alias("frequency"),
        pl.col("total_amount").alias("monetary"),
        pl.col("total_amount").alias("revenue"),
        *([pl.col("total_" + MARGIN).alias("margin")] if has_margin else []),
    )
    steps: list[tuple[str, str, Callable[[Any], pl.DataFrame]]] = [
        (
            "rfm",
            "fideliza.analytics.rfm",
            lambda mod: mod.rfm_scores(
                totals.select(CUSTOMER, "recency_days", "frequency", "monetary")
            ).select(
                CUSTOMER,
                pl.col("r_score"),
                pl.col("f_score"),
                pl.col("m_score"),
                pl.col("rfm_score"),
                pl.col("segment").alias("rfm_segment"),
            ),
        ),
        (
            "abc",
            "fideliza.analytics.abc",
            lambda mod: mod.abc_classify(totals.select(CUSTOMER, *bases), basis=bases).select(
                CUSTOMER, *[f"abc_{b}" for b in bases]
            ),
        ),
        (
            "activity",
            "fideliza.analytics.activity",
            lambda mod: mod.activity_states(tx, as_of=obs_end).select(
                CUSTOMER,
                pl.col("state").alias("activity_state"),
                pl.col("gap_days").alias("activity_gap_days"),
                pl.col("overdue").alias("activity_overdue"),
            ),
        ),
    ]
    for name, module_name, run in steps:
        if name not in wanted:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            status[name] = f"unavailable: {exc}"
            continue
        frames.append(run(module))
        status[name] = "included"
    return frames, status


def _tiers(out: pl.DataFrame, status: dict[str, str]) -> pl.DataFrame:
    try:
        module = importlib.import_module("fideliza.analytics.tiers")
    except ImportError as exc:
        status["tiers"] = f"unavailable: {exc}"
        return out
    value = "clv" if "clv" in out.columns else "total_amount"
    status["tiers"] = f"included (by {value})"
    return module.value_tiers(out, value_col=value, tier_col="tier")


#: Rough share of a run's time per step (Pareto/NBD's fit usually dominates): only to make
#: the progress bar move evenly, not a promise.
STEP_WEIGHTS: dict[str, float] = {
    "holdout": 0.15,
    "summary": 0.06,
    "descriptive": 0.08,
    "fit_bgnbd": 0.10,
    "fit_paretonbd": 0.30,
    "predict": 0.06,
    "backtest": 0.25,
    "fit_gammagamma": 0.05,
    "clv": 0.02,
    "churn": 0.03,
    "next_purchase": 0.10,
    "descriptive_join": 0.05,
}

Progress = Callable[[float, str], None]


class _Steps:
    """Progress of :func:`analyze`: the fraction done (0..1) and the step under way.

    A step reports its start; long steps (the model fits) also report inside, one call
    per optimiser iteration, advancing along 1 - 1 / (1 + iterations / 20) of the step's
    share so the bar keeps moving however many iterations a fit needs.
    """

    def __init__(self, progress: Progress | None, steps: list[str]) -> None:
        self.progress = progress
        self.total = sum(STEP_WEIGHTS[s] for s in steps) or 1.0
        self.done = 0.0
        self.current: str | None = None

    def start(self, step: str) -> None:
        if self.current is not None:
            self.done += STEP_WEIGHTS.get(self.current, 0.0)
        self.current = step
        self._send(0.0)

    def within(self, fraction: float) -> None:
        self._send(max(0.0, min(1.0, fraction)))

    def iteration(self, count: int) -> None:
        self.within(1.0 - 1.0 / (1.0 + count / 20.0))

    def _send(self, inside: float) -> None:
        if self.progress is None or self.current is None:
            return
        share = STEP_WEIGHTS.get(self.current, 0.0)
        self.progress(min(1.0, (self.done + share * inside) / self.total), self.current)


def analyze(
    transactions: pl.DataFrame,
    config: AnalysisConfig | None = None,
    *,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Score every customer: summary, P(alive), predicted purchases, CLV, churn, RFM/ABC.

    Parameters
    ----------
    transactions : polars.DataFrame
        Canonical transactions (see :mod:`fideliza.analytics.transactions`): ``customer_id``,
        ``ts`` and, for spend and CLV, ``amount`` (optional ``margin``).
    config : AnalysisConfig, optional
        Settings; defaults to weekly models, 12-month horizon, 1 % monthly discount.
    progress : callable, optional
        Called as ``progress(fraction, step)`` at the start of every step (the keys of
        :data:`STEP_WEIGHTS`) and at every iteration of the model fits.

    Returns
    -------
    AnalysisResult
        ``customers`` (one row per customer who bought by the observation end) and
        ``models`` (the JSON-ready model report).

    Notes
    -----
    P(alive), the churn risk (1 - P(alive)) and the expected next purchase come from one
    model, named per customer in ``p_alive_model``: Pareto/NBD when it is fitted and
    converged; otherwise BG/NBD for repeat customers and the model-free
    :func:`~fideliza.analytics.churn.interval_rule_p_alive` for one-time buyers, whom
    BG/NBD would always deem alive. Predicted purchases and CLV come from
    ``transaction_model``. Next purchases expected beyond the horizon are left empty with
    ``next_purchase_note = "beyond_horizon"``.
    """
    cfg = config or AnalysisConfig()
    timings: dict[str, float] = {}
    cpu_timings: dict[str, float] = {}
    clock, cpu_clock = time.perf_counter(), time.process_time()

    def lap(name: str) -> None:
        nonlocal clock, cpu_clock
        now, cpu_now = time.perf_counter(), time.process_time()
        timings[name], cpu_timings[name] = now - clock, cpu_now - cpu_clock
        clock, cpu_clock = now, cpu_now

    if cfg.period not in PERIOD_DAYS:
        raise ValueError(f"period must be one of {', '.join(PERIOD_DAYS)}")
    plan = [*(["holdout"] if cfg.calibration_end is not None else []), "summary",
            *(["descriptive"] if cfg.descriptive else []), "fit_bgnbd",
            *(["fit_paretonbd"] if cfg.fit_paretonbd is not False else []),
            *(["backtest"] if cfg.model is not None else []), "predict",
            "fit_gammagamma", "clv", "churn",
            *(["next_purchase"] if cfg.next_purchase is not False else []),
            *(["descriptive_join"] if cfg.descriptive else [])]
    steps = _Steps(progress, plan)
    unit_days = PERIOD_DAYS[cfg.period]
    per_month = lifetimes_units_per_month(unit_days)
    has_amount = AMOUNT in transactions.columns
    has_margin = has_amount and MARGIN in transactions.columns
    if cfg.observation_end is None:
        last = transactions.select(pl.col(TS).max()).item()
        if last is None:
            raise ValueError("no transactions to analyse")
        obs_end = as_date(last)
    else:
        obs_end = as_date(cfg.observation_end)
    cutoff = dt.datetime.combine(obs_end + dt.timedelta(days=1), dt.time())
    tx = transactions.filter(pl.col(TS) < cutoff)

    models: dict[str, Any] = {
        "config": {
            **{k: v for k, v in asdict(cfg).items() if k not in ("calibration_end",)},
            "calibration_end": as_date(cfg.calibration_end).isoformat()
            if cfg.calibration_end
            else None,
            "observation_end": obs_end.isoformat(),
            "time_unit_days": unit_days,
            "time_units_per_month": per_month,
        },
        "n_transactions": tx.height,
    }
    if cfg.calibration_end is not None:
        steps.start("holdout")
        models["holdout"] = _holdout(tx, cfg, obs_end, unit_days, has_amount)
        lap("holdout")
    steps.start("summary")

    # One pass over the transactions gives the BTYD summary and the totals RFM, ABC and
    # the margin CLV need.
    summary = summary_data_from_transaction_data(
        tx,
        amount_col=AMOUNT if has_amount else None,
        period="day",
        freq_multiplier=unit_days,
        observation_end=obs_end,
        count_rows=True,
        sum_cols=(MARGIN,) if has_margin else (),
    )
    models["n_customers"] = summary.height
    lap("summary")
    descriptive = None
    if cfg.descriptive and has_amount:
        steps.start("descriptive")
        descriptive = _descriptive(tx, summary, obs_end, has_margin, cfg.descriptive)
        lap("descriptive")
    margin_total = summary["total_" + MARGIN].cast(pl.Float64) if has_margin else None
    summary = summary.drop("n_transactions", *(["total_" + MARGIN] if has_margin else []))
    x = summary["frequency"].to_numpy().astype(float)
    tx_ = summary["recency"].to_numpy()
    big_t = summary["T"].to_numpy()

    count_models: dict[str, BetaGeoFitter | ParetoNBDFitter] = {}
    kinds = ["bgnbd", "paretonbd"] if _want_pareto(cfg, summary.height) else ["bgnbd"]
    if "paretonbd" not in kinds and cfg.fit_paretonbd == "auto":
        models["paretonbd"] = {
            "skipped": f"{summary.height} customers > {AUTO_MAX_CUSTOMERS:,} (fit_paretonbd='auto')"
        }
    if cfg.transaction_model not in kinds:
        kinds.append(cfg.transaction_model)
    if cfg.model is not None and "bgnbd" not in kinds:
        kinds.append("bgnbd")
    # The models depend on (x, t_x, T) only: fit on, and evaluate once per, distinct history.
    (xu, txu, tu), inv, counts = _distinct_histories(summary, x, tx_, big_t, obs_end)
    for kind in kinds:
        steps.start(f"fit_{kind}")
        count_models[kind] = _fit_histories(kind, xu, txu, tu, counts, cfg, steps.iteration)
        models[kind] = _model_report(count_models[kind])
        lap(f"fit_{kind}")
    pareto = count_models.get("paretonbd")
    if (pareto is not None and not pareto.fit_info_["success"]
            and cfg.transaction_model != "paretonbd"):
        # Not converged (time limit, no finite optimum even penalised): its P(alive) would
        # be a guess. It is left out and the report says why and what replaces it.
        del count_models["paretonbd"]
        models["paretonbd"]["dropped"] = (
            f"not converged ({pareto.fit_info_['message']}): P(alive), churn and next "
            "purchase from BG/NBD and the interval rule for one-time buyers"
        )

    fc: Forecast | None = None
    if cfg.model is not None:
        steps.start("backtest")
        bg_end = count_models["bgnbd"]
        assert isinstance(bg_end, BetaGeoFitter)
        fc = forecast(
            tx,
            observation_end=obs_end,
            horizon_months=cfg.horizon,
            unit_days=unit_days,
            bgnbd_at_end=bg_end,
            summary_at_end=summary.select(CUSTOMER, "frequency", "recency", "T"),
            fit_paretonbd="paretonbd" in count_models,
            textbook="textbook",
            want=cfg.model,
            penalizer=cfg.penalizer_coef,
            seed=cfg.seed,
            max_fit_seconds=cfg.max_fit_seconds,
        )
        models["backtest"] = fc.report
        lap("backtest")
    use_learned = fc is not None and fc.chosen == "learned" and fc.customers is not None

    steps.start("predict")
    horizon_units = cfg.horizon * per_month
    columns: dict[str, Any] = {}
    main = count_models[cfg.transaction_model]
    # The CLV's discounted purchases end with the expected purchases over the horizon:
    # one pass over the monthly steps gives both (per distinct history).
    profile_u, expected_u = discount_profile(
        main,
        xu,
        txu,
        tu,
        time=cfg.horizon,
        discount_rate=cfg.discount_rate,
        units_per_month=per_month,
        distinct=True,
        return_cumulative=True,
    )
    columns["predicted_purchases"] = expected_u[inv]
    for kind, model in count_models.items():
        if model is not main:
            columns["predicted_purchases_" + kind] = (
                model.conditional_expected_number_of_purchases_up_to_time(
                    horizon_units, xu, txu, tu
                )[inv]
            )
    # P(alive) comes from one model, the same one the churn risk and the next purchase use
    # (see Notes). BG/NBD's own P(alive) is 1 for every one-time buyer: never shown.
    churn_kind = cfg.churn_model
    if churn_kind == "auto":
        churn_kind = "paretonbd" if "paretonbd" in count_models else cfg.transaction_model
    if churn_kind not in count_models:
        raise ValueError(f"churn_model {churn_kind!r} is not fitted (see fit_paretonbd)")
    alive_model = count_models[churn_kind]
    palive_u = alive_model.conditional_probability_alive(xu, txu, tu)
    if "bgnbd" in count_models:
        # BG/NBD's own P(alive) (lifetimes' value; 1 for every one-time buyer by
        # construction): kept for comparisons, not for display (not in customers.csv).
        own = palive_u if churn_kind == "bgnbd" else count_models[
            "bgnbd"].conditional_probability_alive(xu, txu, tu)
        columns["p_alive_bgnbd"] = own[inv]
    source_u = np.full(xu.size, churn_kind, dtype=object)
    if isinstance(alive_model, BetaGeoFitter):
        # Each distinct history weighs the Kaplan-Meier estimate by its customers.
        rule = interval_rule_p_alive(xu, txu, tu, weights=counts)
        one_time = np.isfinite(rule)
        palive_u = np.where(one_time, rule, palive_u)
        source_u[one_time] = "interval_rule"
    models["config"]["churn_model"] = churn_kind
    models["p_alive"] = {
        "model": churn_kind,
        "one_time_buyers": "interval_rule" if isinstance(alive_model, BetaGeoFitter)
        else churn_kind,
        "note": _P_ALIVE_NOTES[churn_kind],
    }
    columns["p_alive"] = palive_u[inv]
    columns["p_alive_model"] = source_u[inv]
    clv_scale = None
    if use_learned:
        assert fc is not None and fc.customers is not None
        # The learned model's P(no purchase in the horizon) is the churn risk, and one
        # minus it the probability shown as "still active"; its counts are the predicted
        # purchases, and the CLV keeps the textbook model's timing of the discounted
        # purchases, scaled to the learned count.
        textbook_count = columns["predicted_purchases"]
        learned_count = fc.customers["purchases_learned"].to_numpy()
        columns["predicted_purchases_" + cfg.transaction_model] = textbook_count
        columns["predicted_purchases"] = learned_count
        columns["p_alive_textbook"] = columns["p_alive"]
        columns["p_alive"] = 1.0 - fc.customers["churn_learned"].to_numpy()
        columns["p_alive_model"] = np.full(summary.height, "learned", dtype=object)
        with np.errstate(divide="ignore", invalid="ignore"):
            clv_scale = np.where(textbook_count > 0, learned_count / textbook_count, 0.0)
        models["p_alive"] = {
            "model": "learned",
            "note": "1 - the learned model's P(no purchase in the next "
                    f"{cfg.horizon} months) (see backtest)",
        }
    lap("predict")

    out = summary.with_columns(**{k: pl.Series(k, v) for k, v in columns.items()})
    if has_amount:
        steps.start("fit_gammagamma")
        mv = summary["monetary_value"].to_numpy()
        repeat = (x > 0) & (mv > 0)
        if repeat.any():
            gg = GammaGammaFitter(cfg.penalizer_coef, max_seconds=cfg.max_fit_seconds)
            gg.on_iteration = steps.iteration
            gg.fit(x[repeat], mv[repeat], seed=cfg.seed)
            models["gammagamma"] = _model_report(gg)
            lap("fit_gammagamma")
            steps.start("clv")
            spend = gg.conditional_expected_average_profit(x, mv)
            clv = spend * profile_u[inv]
            if clv_scale is not None:
                clv = clv * clv_scale
            out = out.with_columns(pl.Series("expected_spend", spend), pl.Series("clv", clv))
            if margin_total is not None:
                out = out.with_columns(
                    (pl.col("clv") * margin_total / pl.col("total_amount").cast(pl.Float64)).alias(
                        "clv_margin"
                    )
                )
            lap("clv")
        else:
            models["gammagamma"] = {"skipped": "no repeat customers with positive spend"}

    steps.start("churn")
    churn = churn_frame(
        out["p_alive"].to_numpy(),
        x,
        tx_,
        big_t,
        unit_days=unit_days,
        thresholds=cfg.churn_thresholds,
        lang=cfg.lang,
    )
    if use_learned:
        assert fc is not None and fc.customers is not None
        learned_reason = pl.Series(
            reason_texts(fc.customers, horizon_months=cfg.horizon, lang=cfg.lang))
        churn = churn.with_columns(
            pl.when(learned_reason != "").then(learned_reason)
            .otherwise(pl.col("churn_reason")).alias("churn_reason"))
    out = pl.concat([out, churn], how="horizontal")
    lap("churn")

    want_next = cfg.next_purchase is True or (
        cfg.next_purchase == "auto" and summary.height <= AUTO_MAX_CUSTOMERS
    )
    if cfg.next_purchase == "auto" and not want_next:
        models["next_purchase"] = {
            "skipped": f"{summary.height} customers > {AUTO_MAX_CUSTOMERS:,} (next_purchase='auto')"
        }
    if want_next:
        steps.start("next_purchase")
        if isinstance(alive_model, BetaGeoFitter):
            wait_u = alive_model.expected_time_to_next_purchase(xu, txu, tu, p_alive=palive_u)
        else:
            wait_u = alive_model.expected_time_to_next_purchase(xu, txu, tu)
        wait = wait_u[inv] * unit_days
        horizon_days = horizon_units * unit_days
        # Beyond the horizon the model says nothing useful (a date in 2145 is noise):
        # empty, with the reason.
        within = np.isfinite(wait) & (wait <= horizon_days)
        days = np.where(within, np.rint(wait), 0).astype(np.int64)
        out = out.with_columns(
            pl.Series("next_purchase_days", np.where(within, wait, np.nan)).fill_nan(None),
            pl.when(pl.Series(within))
            .then(pl.lit(obs_end) + pl.duration(days=pl.lit(pl.Series(days))))
            .otherwise(None)
            .alias("expected_next_purchase"),
            pl.Series("next_purchase_note", np.where(within, "", "beyond_horizon")),
        )
        models["next_purchase"] = {
            "model": churn_kind,
            "horizon_days": round(horizon_days, 2),
            "beyond_horizon": int((~within).sum()),
        }
        lap("next_purchase")

    if descriptive is not None:
        steps.start("descriptive_join")
        frames, status = descriptive
        for frame in frames:
            if frame[CUSTOMER].equals(out[CUSTOMER]):
                # Scored from the summary itself: same customers in the same order.
                out = out.hstack(frame.drop(CUSTOMER).get_columns())
            else:
                out = out.join(frame, on=CUSTOMER, how="left")
        if "tiers" in cfg.descriptive:
            out = _tiers(out, status)
        models["descriptive"] = status
        lap("descriptive_join")
    return AnalysisResult(customers=out, models=models, timings=timings, cpu_timings=cpu_timings)
