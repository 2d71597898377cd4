"""From the adapter's frames to the snapshot: calls `fideliza.analytics`, shapes its tables.

No database access here (the adapter reads, `storage` writes), so this is the part a test
can check number by number. Money totals are exact integer cents from the adapter; model
outputs are floats turned into cents at this boundary.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import polars as pl
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from fideliza.analytics import abc as abc_mod
from fideliza.analytics import activity as activity_mod
from fideliza.analytics import cohorts as cohorts_mod
from fideliza.analytics import crosssell, metrics
from fideliza.analytics import rfm as rfm_mod
from fideliza.analytics.churn import churn_frame
from fideliza.analytics.pipeline import AnalysisConfig
from fideliza.analytics.summary import PERIOD_DAYS, summary_data_from_transaction_data
from fideliza.analytics.tiers import value_tiers
from fideliza.analytics.transactions import AMOUNT, CATEGORY, CUSTOMER, MARGIN, PRODUCT, TS
from fideliza.core.serialization import jsonable
from fideliza.insights.labels import run_note, run_warning

from .adapter import ORDER, Transactions
from .isolation import BudgetExceeded, analyze_within

Progress = Callable[[float, str], None]

# Below this many customers with a repeat purchase day the BTYD models have nothing to
# learn from; the snapshot then carries the descriptive scores only.
MIN_REPEAT_CUSTOMERS = 3


@dataclass(frozen=True)
class SnapshotConfig:
    """Knobs of a recompute (defaults are the literature's and the seeds')."""

    model_period: Literal["day", "week", "month"] = "week"
    horizon_months: int = 12
    monthly_discount_rate: float = 0.01
    fit_paretonbd: bool = True
    # Wall-clock limit of each model fit (cooperative: the fit keeps its best point and
    # says it did not converge; a Pareto/NBD fit that does not converge is left out).
    fit_seconds: float | None = 120.0
    # Backstop for what a fit cannot bound itself (a hang in compiled code): the child
    # process running the fits is killed after this; None = in this process, no limit.
    model_budget_seconds: float | None = 600.0
    rfm_quantiles: int = 5
    abc_cutoffs: tuple[float, float] = (0.80, 0.95)
    history_months: int = 12
    series_months: int = 24
    cohort_months: int = 12
    pareto_points: int = 50
    clv_bins: int = 20
    # Which predictions the snapshot uses (see AnalysisConfig.model): "auto" backtests
    # every model on the last horizon and takes the learned one only when it wins.
    model: Literal["auto", "bgnbd", "paretonbd", "learned"] = "auto"


@dataclass
class SnapshotData:
    customers: pl.DataFrame
    rfm_history: pl.DataFrame
    aggregates: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    orders: int = 0


def _cents(expr: pl.Expr) -> pl.Expr:
    """Float euros -> Int64 cents, half away from zero (the boundary where models meet money)."""
    return (expr * 100).round(0).cast(pl.Int64)


def _money_text(cents: int | None) -> str | None:
    if cents is None:
        return None
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def customer_base(orders: pl.DataFrame) -> pl.DataFrame:
    """Exact per-customer totals: orders, first/last purchase date, revenue and margin cents.

    Margin sums the orders whose cost is known; it is null when no order's cost is.
    Average order value is revenue / orders rounded half up to the cent.
    """
    day = pl.col(TS).dt.date()
    return (
        orders.group_by(CUSTOMER)
        .agg(
            first_purchase=day.min(),
            last_purchase=day.max(),
            orders=pl.col(ORDER).n_unique().cast(pl.Int64),
            revenue=pl.col("amount_cents").sum(),
            margin=pl.when(pl.col("margin_cents").is_not_null().any())
            .then(pl.col("margin_cents").sum())
            .otherwise(None),
        )
        .with_columns(
            average_order_value=pl.when(pl.col("revenue") >= 0)
            .then((pl.col("revenue") * 2 + pl.col("orders")) // (2 * pl.col("orders")))
            .otherwise(-((-pl.col("revenue") * 2 + pl.col("orders")) // (2 * pl.col("orders")))),
        )
        .sort(CUSTOMER)
    )


def _stage(step: str) -> str:
    """The progress bar's words for a step of `fideliza.analytics.pipeline.analyze`."""
    return {
        "holdout": _("Validando los modelos"),
        "summary": _("Resumen de compras por cliente"),
        "descriptive": _("RFM, ABC y actividad"),
        "fit_bgnbd": _("Ajustando el modelo de compras (BG/NBD)"),
        "fit_paretonbd": _("Ajustando el modelo de abandono (Pareto/NBD)"),
        "predict": _("Probabilidad de seguir activo"),
        "fit_gammagamma": _("Ajustando el modelo de gasto (Gamma-Gamma)"),
        "clv": _("Valor de vida previsto (CLV)"),
        "churn": _("Riesgo de abandono"),
        "backtest": _("Comprobando las previsiones con el pasado reciente"),
        "next_purchase": _("Próxima compra esperada"),
        "descriptive_join": _("Uniendo los resultados"),
    }.get(step, _("Calculando métricas y modelos"))


def predict(
    orders: pl.DataFrame,
    *,
    as_of: dt.date,
    config: SnapshotConfig,
    progress: Progress | None = None,
) -> tuple[pl.DataFrame, dict[str, Any], list[dict[str, Any]]]:
    """The predictive scores of `fideliza.analytics.pipeline.analyze` for every customer.

    The same call as ``fideliza analyze``: BTYD summary (purchases collapse by day, time in
    weeks), BG/NBD for predicted purchases and CLV, Pareto/NBD for P(alive), churn risk and
    next purchase (BG/NBD and the interval rule for one-time buyers when Pareto/NBD is
    not available), Gamma-Gamma for the spend. A base too small or too regular for the
    models leaves the predictive columns null and says why in the warnings instead of
    failing the snapshot; the descriptive columns still come.

    Bounded in time: each fit stops at ``config.fit_seconds``; the child process running
    them is killed at ``config.model_budget_seconds`` and the run falls back (without
    Pareto/NBD, then without models), with a warning each time. ``progress(fraction,
    stage)`` follows the fits (fraction of this step, 0..1).

    Returns a frame with ``customer_id, frequency, recency, age`` (days), ``monetary_value``
    (float euros), ``predicted_purchases, p_alive, p_alive_model, churn_risk, churn_band,
    churn_reason, expected_next_purchase, clv`` (float euros, revenue terms), the model
    report and the warnings.
    """
    warnings: list[dict[str, Any]] = []
    cfg = AnalysisConfig(
        period=config.model_period,
        observation_end=as_of,
        horizon=config.horizon_months,
        discount_rate=config.monthly_discount_rate,
        fit_paretonbd=config.fit_paretonbd,
        descriptive=(),
        max_fit_seconds=config.fit_seconds,
        model=config.model,
    )
    relay = None
    if progress is not None:
        def relay(fraction: float, step: str) -> None:
            progress(fraction, _stage(step))
    unit_days = PERIOD_DAYS[config.model_period]
    frame = orders.select(CUSTOMER, TS, AMOUNT)
    repeaters = (
        frame.group_by(CUSTOMER)
        .agg(pl.col(TS).dt.date().n_unique().alias("_days"))
        .filter(pl.col("_days") > 1)
        .height
    )
    result = None
    budget = config.model_budget_seconds
    started = time.monotonic()
    if repeaters < MIN_REPEAT_CUSTOMERS:
        warnings.append(run_warning(gettext_noop(
            "pocos clientes con compras repetidas (%(n)s): sin modelos predictivos "
            "(probabilidad de actividad, riesgo de abandono, CLV previsto)"), n=repeaters))
    else:
        try:
            result = analyze_within(frame, cfg, seconds=budget, progress=relay)
        except BudgetExceeded:
            if not cfg.fit_paretonbd:
                warnings.append(run_warning(gettext_noop(
                    "los modelos predictivos no terminaron a tiempo: sin predicciones")))
            else:
                # Pareto/NBD has no analytic gradient and is the usual culprit: retry without
                # it, with what is left of the budget (at least a third of it).
                warnings.append(run_warning(gettext_noop(
                    "Pareto/NBD no terminó a tiempo: riesgo de abandono y probabilidad de "
                    "actividad según BG/NBD y, para quien compró una sola vez, la regla del "
                    "intervalo")))
                cfg = replace(cfg, fit_paretonbd=False)
                assert budget is not None
                left = max(budget - (time.monotonic() - started), budget / 3)
                try:
                    result = analyze_within(frame, cfg, seconds=left, progress=relay)
                except BudgetExceeded:
                    warnings.append(run_warning(gettext_noop(
                        "BG/NBD tampoco terminó a tiempo: sin predicciones")))
                except (ValueError, RuntimeError, FloatingPointError, np.linalg.LinAlgError) as exc:
                    warnings.append(run_warning(gettext_noop(
                        "los modelos predictivos no se pudieron ajustar: %(reason)s"), reason=str(exc)))
        except (ValueError, RuntimeError, FloatingPointError, np.linalg.LinAlgError) as exc:
            warnings.append(run_warning(gettext_noop(
                        "los modelos predictivos no se pudieron ajustar: %(reason)s"), reason=str(exc)))
    if result is None:
        summary = summary_data_from_transaction_data(
            frame, period="day", freq_multiplier=unit_days, observation_end=as_of
        )
        # No risk score without a model, but the facts behind one still read well.
        facts = churn_frame(
            np.full(summary.height, np.nan),
            summary["frequency"].to_numpy(),
            summary["recency"].to_numpy(),
            summary["T"].to_numpy(),
            unit_days=unit_days,
        )
        out = summary.select(
            CUSTOMER,
            "frequency",
            (pl.col("recency") * unit_days).alias("recency"),
            (pl.col("T") * unit_days).alias("age"),
            pl.col("monetary_value").cast(pl.Float64),
            *(pl.lit(None, pl.Float64).alias(c)
              for c in ("predicted_purchases", "p_alive", "churn_risk", "clv")),
            pl.lit("").alias("p_alive_model"),
            pl.lit("").alias("churn_band"),
            facts["churn_reason"],
            pl.lit(None, pl.Date).alias("expected_next_purchase"),
        )
        return out, {"settings": jsonable(asdict(cfg))}, warnings

    models = jsonable(result.models)
    warnings += _fit_warnings(models)
    c = result.customers
    out = c.select(
        CUSTOMER,
        "frequency",
        (pl.col("recency") * unit_days).alias("recency"),
        (pl.col("T") * unit_days).alias("age"),
        pl.col("monetary_value").cast(pl.Float64),
        pl.col("predicted_purchases").cast(pl.Float64),
        # P(alive), churn risk and next purchase come from one model (they add up).
        pl.col("p_alive").cast(pl.Float64),
        pl.col("p_alive_model"),
        pl.col("churn_risk").cast(pl.Float64),
        pl.col("churn_band"),
        pl.col("churn_reason"),
        (pl.col("expected_next_purchase") if "expected_next_purchase" in c.columns
         else pl.lit(None, pl.Date).alias("expected_next_purchase")),
        (pl.col("clv").cast(pl.Float64) if "clv" in c.columns
         else pl.lit(None, pl.Float64).alias("clv")),
    )
    if "clv" not in c.columns:
        warnings.append(run_warning(gettext_noop("sin clientes con importe repetido: sin CLV previsto")))
    return out, models, warnings


# The core's convergence problems (English, in models.json) as the panel says them.
_PROBLEMS_ES = (
    ("fewer than", gettext_noop("menos de 200 clientes")),
    ("ran away", gettext_noop("un parámetro se disparaba: los datos no lo determinan")),
    ("ill-conditioned", gettext_noop("parámetros mal determinados por los datos")),
    ("diverged", gettext_noop("un parámetro llegó al límite de búsqueda")),
    ("time limit", gettext_noop("se agotó el tiempo del ajuste")),
    ("did not converge", gettext_noop("el optimizador no llegó al óptimo")),
    ("non-finite", gettext_noop("verosimilitud no finita")),
)


def _problems(text: str) -> list[str]:
    """The model report's problems as msgids (Spanish), in the order found."""
    return list(dict.fromkeys(es for en, es in _PROBLEMS_ES if en in (text or "")))


def _fit_warnings(models: dict[str, Any]) -> list[dict[str, Any]]:
    """Warnings for the run from the models' convergence reports."""
    out = []
    names = {"bgnbd": "BG/NBD", "paretonbd": "Pareto/NBD", "gammagamma": "Gamma-Gamma"}
    for key, name in names.items():
        report = models.get(key) or {}
        info = report.get("convergence") or {}
        if info.get("penalizer_coef"):
            problems = _problems(info.get("penalty_reason") or "")
            if problems:
                out.append(run_warning(gettext_noop(
                    "%(model)s: ajuste regularizado (resultados algo más prudentes): %(problems)s"),
                    model=name, problems=problems))
            else:
                out.append(run_warning(gettext_noop(
                    "%(model)s: ajuste regularizado (resultados algo más prudentes)"), model=name))
        if report.get("dropped"):
            out.append(run_warning(gettext_noop(
                "%(model)s: el ajuste no convergió (%(problems)s): probabilidad de actividad, "
                "riesgo de abandono y próxima compra según BG/NBD y, para quien compró una sola "
                "vez, la regla del intervalo"),
                model=name, problems=_problems(info.get("message", ""))))
        elif info and info.get("success") is False:
            out.append(run_warning(gettext_noop("%(model)s: el ajuste no convergió del todo (%(problems)s)"),
                                   model=name, problems=_problems(info.get("message", ""))))
    next_purchase = models.get("next_purchase") or {}
    if next_purchase.get("beyond_horizon"):
        # Normal for customers who buy seldom: a note, not a warning.
        out.append(run_note(gettext_noop(
            "%(n)s clientes sin próxima compra esperada: más allá del horizonte de previsión"),
            n=next_purchase["beyond_horizon"]))
    return out


def _window_dates(orders: pl.DataFrame, as_of: dt.date, days: int) -> pl.DataFrame:
    """Re-date every order to the start of its rolling window ending at `as_of`.

    Window 0 is the `days` days ending at `as_of`, window 1 the `days` before, and so on;
    window k is dated 1 January of year 3000 - k. Calendar-year metrics of the library
    (`metrics.period_metrics(freq="1y")`) on these dates are the same metrics over
    rolling windows ("the last 12 months" against "the 12 months before").
    """
    back = (pl.lit(as_of) - pl.col(TS).dt.date()).dt.total_days() // days
    return orders.with_columns(
        pl.date(3000 - back.cast(pl.Int32), 1, 1).cast(pl.Datetime("us")).alias(TS)
    )


def _euros(cents: Any) -> str | None:
    if cents is None:
        return None
    if isinstance(cents, float):
        if not math.isfinite(cents):
            return None
        cents = round(cents)
    return _money_text(int(cents))


def _rolling_kpis(orders_c: pl.DataFrame, as_of: dt.date) -> dict[str, Any]:
    """Retention, churn, cost of churn and sales indicators over the last 12 months."""
    windows = _window_dates(orders_c, as_of, 365)
    per = metrics.period_metrics(windows, freq="1y", end=dt.date(3000, 1, 1),
                                 product_col=None, quantity_col=None)
    current = per.filter(pl.col("period") == dt.date(3000, 1, 1))
    if current.is_empty():
        return {}
    row = current.row(0, named=True)
    return {
        "active_12m": row["customers"],
        "customers_start": row["customers_start"],
        "retained": row["retained"],
        "lost": row["lost"],
        "new_12m": row["new"],
        "reactivated_12m": row["reactivated"],
        "retention_rate": row["retention_rate"],
        "churn_rate": row["churn_rate"],
        "revenue_12m": _euros(row["revenue"]),
        "orders_12m": row["orders"],
        "average_purchase": _euros(row["average_purchase"]),
        "average_order_value": _euros(row["average_order_value"]),
        "purchase_frequency": row["purchase_frequency"],
        "recurring_revenue_share": row["recurring_revenue_share"],
        "cost_of_churn": _euros(row["churn_cost_revenue"]),
        "cost_of_churn_margin": _euros(row.get("churn_cost_margin")),
        "cost_of_churn_annual": _euros(row["churn_cost_annual_revenue"]),
    }


def _retention_series(orders_c: pl.DataFrame, as_of: dt.date, months: int) -> list[dict]:
    """Quarterly retention and churn rate over about `months` months (calendar quarters)."""
    start = _months_back(as_of, months)
    per = metrics.period_metrics(orders_c, freq="1q", start=start, end=as_of,
                                 product_col=None, quantity_col=None)
    out = []
    for row in per.iter_rows(named=True):
        period: dt.date = row["period"]
        out.append({
            "period": f"{period.year}-T{(period.month - 1) // 3 + 1}",
            "start": period.isoformat(),
            "customers_start": row["customers_start"],
            "customers": row["customers"],
            "retention_rate": row["retention_rate"],
            "churn_rate": row["churn_rate"],
            "new": row["new"],
            "lost": row["lost"],
            "revenue": _euros(row["revenue"]),
            "complete": _quarter_end(period) <= as_of,
        })
    return out


def _quarter_end(start: dt.date) -> dt.date:
    month = start.month + 3
    year = start.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.date(year, month, 1) - dt.timedelta(days=1)


def _cohorts(orders_c: pl.DataFrame, as_of: dt.date, n: int) -> dict[str, Any]:
    table = cohorts_mod.cohort_retention(orders_c, as_of=as_of)
    first = _months_back(as_of, n - 1)
    table = table.filter((pl.col("cohort") >= first) & (pl.col("period_index") <= n))
    cohorts = sorted(set(table["cohort"].to_list()))
    matrix = []
    sizes = []
    for cohort in cohorts:
        rows = table.filter(pl.col("cohort") == cohort).sort("period_index")
        values: list[float | None] = [None] * (n + 1)
        for idx, share in zip(rows["period_index"].to_list(), rows["retention"].to_list(),
                              strict=True):
            values[idx] = share
        matrix.append(values)
        sizes.append(int(rows["cohort_size"][0]))
    return {
        "cohorts": [c.strftime("%Y-%m") for c in cohorts],
        "sizes": sizes,
        "offsets": list(range(n + 1)),
        "matrix": matrix,
    }


def _pareto(orders_c: pl.DataFrame, as_of: dt.date, points: int) -> dict[str, Any]:
    curve = abc_mod.pareto_curve(orders_c, points=points, end=as_of)
    summary = abc_mod.pareto_summary(orders_c, end=as_of)
    out: dict[str, Any] = {
        "customer_share": curve["customer_share"].to_list(),
        "revenue_share": curve["revenue_share"].to_list(),
        "margin_share": curve["margin_share"].to_list() if "margin_share" in curve.columns else None,
    }
    for row in summary.iter_rows(named=True):
        out[f"{row['basis']}_top20_share"] = row["value_share_of_top"]
        out[f"{row['basis']}_customers_for_80"] = row["customers_for_target"]
        out[f"{row['basis']}_customer_share_for_80"] = row["customer_share_for_target"]
    return out


ABC_ORDER = ("A", "B", "C", "N", "new", "absent")


def _abc_transition(orders_c: pl.DataFrame, as_of: dt.date, basis: abc_mod.Basis) -> dict[str, Any]:
    transitions = abc_mod.abc_transitions(orders_c, as_of=as_of, basis=basis)
    matrix = abc_mod.abc_transition_matrix(transitions)
    counts = {(r["from_class"], r["to_class"]): r["customers"] for r in matrix.iter_rows(named=True)}
    rows = [c for c in ABC_ORDER if any(k[0] == c for k in counts)]
    cols = [c for c in ABC_ORDER if any(k[1] == c for k in counts)]
    dormant = abc_mod.dormant_customers(transitions)
    return {
        "basis": basis,
        "from": rows,
        "to": cols,
        "matrix": [[counts.get((f, t), 0) for t in cols] for f in rows],
        "dormant_a": dormant.height,
        "dormant_a_lost_value": _euros(dormant["change"].sum()) if dormant.height else "0.00",
    }


def _histogram(values: np.ndarray, bins: int) -> dict[str, Any]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"edges": [], "counts": []}
    top = float(np.quantile(values, 0.99)) if values.size > 20 else float(values.max())
    top = max(top, 1.0)
    edges = np.linspace(0.0, top, bins + 1)
    clipped = np.clip(values, 0.0, top)
    counts, _ = np.histogram(clipped, bins=edges)
    return {"edges": [round(float(e), 2) for e in edges], "counts": [int(c) for c in counts],
            "open_ended": bool(values.max() > top)}


def _rfm_grid(customers: pl.DataFrame) -> list[list[int]]:
    """Customers per (R, FM) cell on the 1..5 scale; rows R = 5..1, columns FM = 1..5."""
    fm = ((pl.col("f_score").cast(pl.Int64) + pl.col("m_score").cast(pl.Int64) + 1) // 2)
    counts = customers.group_by(pl.col("r_score").cast(pl.Int64).alias("r"), fm.alias("fm")).len()
    grid = [[0] * 5 for _ in range(5)]
    for r, f, n in counts.iter_rows():
        if r and f:
            grid[5 - r][f - 1] = int(n)
    return grid


def _acquisition(customers_card: pl.DataFrame | None, as_of: dt.date) -> dict[str, Any]:
    """CAC over the customers acquired in the last 12 months (cost from the card)."""
    if customers_card is None or customers_card.is_empty():
        return {"cac": None, "new_customers": 0, "customers_with_cost": 0, "spend": "0.00"}
    start = as_of - dt.timedelta(days=364)
    recent = customers_card.filter(pl.col("acquired_at").is_between(start, as_of))
    if recent.is_empty():
        return {"cac": None, "new_customers": 0, "customers_with_cost": 0, "spend": "0.00"}
    per = metrics.acquisition_cost(recent, freq="1y", cost_col="acquisition_cost_cents")
    new = int(per["new_customers"].sum())
    with_cost = int(per["customers_with_cost"].sum())
    spend = int(per["acquisition_spend"].sum())
    return {
        "new_customers": new,
        "customers_with_cost": with_cost,
        "spend": _euros(spend),
        # Only customers with a recorded cost count, so an unrecorded cost is not read as free.
        "cac": _euros(round(spend / with_cost)) if with_cost else None,
    }


def compute_snapshot(
    tx: Transactions,
    *,
    as_of: dt.date,
    config: SnapshotConfig | None = None,
    progress: Progress | None = None,
) -> SnapshotData:
    """Every per-customer column of the snapshot, the RFM history and the aggregates."""
    config = config or SnapshotConfig()
    timings: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str, fraction: float | None = None, stage: str = "") -> None:
        now = time.perf_counter()
        timings[name] = now - clock[0]
        clock[0] = now
        if progress is not None and fraction is not None:
            progress(fraction, stage)

    cutoff = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    orders = tx.orders.filter(pl.col(TS) < cutoff)
    if orders.is_empty():
        return SnapshotData(
            customers=pl.DataFrame(),
            rfm_history=pl.DataFrame(),
            aggregates=empty_aggregates(as_of, tx.customers),
            warnings=[run_warning(gettext_noop("no hay ventas registradas hasta esa fecha"))],
        )
    # Descriptive metrics run on integer cents: their sums are exact.
    orders_c = orders.select(
        CUSTOMER, ORDER, TS, pl.col("amount_cents").alias(AMOUNT), pl.col("margin_cents").alias(MARGIN)
    )
    base = customer_base(orders)
    lap("base")

    predicted, models, warnings = predict(
        orders, as_of=as_of, config=config,
        progress=None if progress is None else (lambda f, s: progress(0.02 + 0.43 * f, s)),
    )
    lap("models", 0.45, _("RFM, ABC, actividad y niveles"))

    rfm = rfm_mod.rfm_table(orders_c, as_of=as_of, q=config.rfm_quantiles, order_col=ORDER)
    rfm = rfm.select(CUSTOMER, "r_score", "f_score", "m_score",
                     pl.col("segment").alias("rfm_segment"))
    abc = abc_mod.abc_classes(orders_c, end=as_of, cutoffs=config.abc_cutoffs)
    abc = abc.select(
        CUSTOMER,
        "abc_revenue",
        pl.col("abc_margin") if "abc_margin" in abc.columns else pl.lit("").alias("abc_margin"),
    )
    activity = activity_mod.activity_states(orders_c, as_of=as_of).select(
        CUSTOMER, pl.col("state").alias("activity_state"),
        # The customer's own rhythm only: a one-time buyer's state uses the population's
        # gap, which would read as "their" interval on the card.
        pl.when(pl.col("gap_source") == "own").then(pl.col("gap_days").cast(pl.Float64))
        .alias("usual_interval_days"),
    )
    history = rfm_mod.rfm_history(
        orders_c, start=_months_back(as_of, config.history_months), end=as_of,
        q=config.rfm_quantiles, order_col=ORDER,
    ).select("period_end", CUSTOMER, "r_score", "f_score", "m_score", "segment")
    lap("descriptive", 0.6, _("Productos recomendados"))

    cross = next_best(tx, orders, as_of=as_of)
    lap("crosssell", 0.75, _("Cifras del panel"))

    margin_ratio = (pl.col("margin").cast(pl.Float64) / pl.col("revenue").cast(pl.Float64)).clip(0.0, 1.0)
    business_ratio = _business_margin_ratio(base)
    if business_ratio is None:
        warnings.append(run_warning(gettext_noop(
            "sin costes de producto: el CLV previsto se expresa en ventas, no en margen")))
    customers = (
        base.join(predicted, on=CUSTOMER, how="left")
        .join(rfm, on=CUSTOMER, how="left")
        .join(abc, on=CUSTOMER, how="left")
        .join(activity, on=CUSTOMER, how="left")
        .join(cross, on=CUSTOMER, how="left")
        .with_columns(
            days_since_last=(pl.lit(as_of) - pl.col("last_purchase")).dt.total_days(),
            # Historic CLV: the margin the customer has left so far (revenue if no cost is known).
            clv_historic=pl.coalesce(pl.col("margin"), pl.col("revenue")),
            # Unknown cost is not "no value": such customers get no margin class.
            abc_margin=pl.when(pl.col("margin").is_null()).then(pl.lit(""))
            .otherwise(pl.col("abc_margin").fill_null("")),
            # Predicted CLV in margin: the customer's own margin ratio, else the business's.
            _ratio=pl.when(pl.col("margin").is_not_null() & (pl.col("revenue") > 0))
            .then(margin_ratio)
            .otherwise(pl.lit(business_ratio if business_ratio is not None else 1.0)),
        )
        .with_columns(
            clv_predicted=_cents(pl.col("clv") * pl.col("_ratio")),
            monetary_value=_cents(pl.col("monetary_value")),
            churn_band=pl.col("churn_band").fill_null(""),
            p_alive_model=pl.col("p_alive_model").fill_null(""),
            churn_reason=pl.col("churn_reason").fill_null(""),
            next_category=pl.col("next_category").fill_null(""),
            next_reason=pl.col("next_reason").fill_null(""),
            path_step=pl.col("path_step").fill_null(""),
            path_next_step=pl.col("path_next_step").fill_null(""),
        )
    )
    customers = value_tiers(customers, value_col="revenue", tier_col="value_tier")
    customers = customers.drop("_ratio", "clv").sort(CUSTOMER)

    aggregates = build_aggregates(customers, orders_c, tx, as_of=as_of, config=config)
    lap("aggregates", 0.95, _("Listo para guardar"))
    models["snapshot"] = {
        "as_of": as_of.isoformat(),
        "rfm_quantiles": config.rfm_quantiles,
        "abc_cutoffs": list(config.abc_cutoffs),
        "history_months": config.history_months,
        "margin_ratio_business": business_ratio,
        "refunded_orders_left_out": tx.refunded_out,
    }
    return SnapshotData(
        customers=customers,
        rfm_history=history,
        aggregates=aggregates,
        parameters=jsonable(models),
        warnings=warnings,
        timings=timings,
        orders=orders.height,
    )


def _business_margin_ratio(base: pl.DataFrame) -> float | None:
    known = base.filter(pl.col("margin").is_not_null())
    revenue = known["revenue"].sum()
    if known.is_empty() or not revenue or revenue <= 0:
        return None
    return max(0.0, min(1.0, float(known["margin"].sum()) / float(revenue)))


def build_aggregates(
    customers: pl.DataFrame,
    orders_c: pl.DataFrame,
    tx: Transactions,
    *,
    as_of: dt.date,
    config: SnapshotConfig,
) -> dict[str, Any]:
    """The business-wide figures the dashboard and the API draw (JSON-ready)."""
    kpis: dict[str, Any] = {
        "customers": tx.customer_count,
        "buyers": customers.height,
        "active": int((customers["activity_state"] == "active").sum()),
        "clv_historic_avg": _euros(customers["clv_historic"].mean()),
        "clv_predicted_avg": _euros(customers["clv_predicted"].mean())
        if customers["clv_predicted"].null_count() < customers.height else None,
        "clv_predicted_total": _euros(customers["clv_predicted"].sum())
        if customers["clv_predicted"].null_count() < customers.height else None,
        "revenue_total": _euros(customers["revenue"].sum()),
        "p_alive_avg": customers["p_alive"].mean(),
    }
    kpis.update(_rolling_kpis(orders_c, as_of))
    acquisition = _acquisition(tx.customers, as_of)
    kpis["cac"] = acquisition["cac"]
    seg = (
        customers.group_by("rfm_segment")
        .agg(
            customers=pl.len(),
            revenue=pl.col("revenue").sum(),
            churn_risk=pl.col("churn_risk").mean(),
            p_alive=pl.col("p_alive").mean(),
            clv_predicted=pl.col("clv_predicted").mean(),
            clv_historic=pl.col("clv_historic").mean(),
        )
        .sort("revenue", descending=True)
    )
    segments = [
        {
            "code": r["rfm_segment"],
            "customers": r["customers"],
            "revenue": _euros(r["revenue"]),
            "churn_risk": r["churn_risk"],
            "p_alive": r["p_alive"],
            "clv_predicted_avg": _euros(r["clv_predicted"]),
            "clv_historic_avg": _euros(r["clv_historic"]),
        }
        for r in seg.iter_rows(named=True)
    ]
    clv_values = customers["clv_predicted"]
    clv_basis = "predicted"
    if clv_values.null_count() == customers.height:
        clv_values, clv_basis = customers["clv_historic"], "historic"
    histogram = _histogram(clv_values.cast(pl.Float64).to_numpy() / 100.0, config.clv_bins)
    histogram["basis"] = clv_basis
    counts = lambda col: {  # noqa: E731 - a one-line helper
        str(k): int(v) for k, v in customers.group_by(col).len().iter_rows() if k is not None
    }
    return {
        "as_of": as_of.isoformat(),
        "kpis": kpis,
        "acquisition": acquisition,
        "segments": segments,
        "rfm_grid": _rfm_grid(customers),
        "activity": counts("activity_state"),
        "tiers": counts("value_tier"),
        "churn_bands": counts("churn_band"),
        "abc_revenue": counts("abc_revenue"),
        "abc_margin": counts("abc_margin"),
        "pareto": _pareto(orders_c, as_of, config.pareto_points),
        "abc_transition": _abc_transition(orders_c, as_of, "revenue"),
        "cohorts": _cohorts(orders_c, as_of, config.cohort_months),
        "retention_series": _retention_series(orders_c, as_of, config.series_months),
        "clv_histogram": histogram,
    }


def _months_back(day: dt.date, months: int) -> dt.date:
    """First day of the month `months` months before `day`'s month."""
    month_index = day.year * 12 + day.month - 1 - months
    return dt.date(month_index // 12, month_index % 12 + 1, 1)


def empty_aggregates(as_of: dt.date, customers_card: pl.DataFrame | None = None) -> dict[str, Any]:
    return {
        "as_of": as_of.isoformat(),
        "kpis": {"customers": 0 if customers_card is None else customers_card.height, "buyers": 0},
        "empty": True,
    }


def next_best(tx: Transactions, orders: pl.DataFrame, *, as_of: dt.date) -> pl.DataFrame:
    """Next best product (with its category and reason) and relationship-path step.

    Products are the items of `crosssell.next_best_offer` at customer level (everything a
    customer ever bought is one basket), named by product name (by "name (SKU)" where
    two products share a name, so the reason text reads well and maps back to one id).
    Customers with no product lines get nulls.
    """
    schema = {CUSTOMER: pl.Int64, "next_product_id": pl.Int64, "next_category": pl.String,
              "next_reason": pl.String, "path_step": pl.String, "path_next_step": pl.String}
    if tx.lines is None or tx.products is None or tx.lines.is_empty():
        return pl.DataFrame(schema=schema)
    cutoff = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    kept_orders = orders.select(ORDER)
    lines = tx.lines.filter(pl.col(TS) < cutoff).join(kept_orders, on=ORDER, how="semi")
    products = tx.products.with_columns(
        label=pl.when(pl.col("name").is_duplicated())
        .then(pl.format("{} ({})", pl.col("name"), pl.col("sku")))
        .otherwise(pl.col("name"))
    )
    lines = lines.join(products.select(PRODUCT, "label"), on=PRODUCT, how="inner")
    offers = crosssell.next_best_offer(lines, item_col="label", level="customer",
                                       order_col=ORDER)
    offers = offers.join(
        products.select(pl.col("label").alias("item"), pl.col(PRODUCT).alias("next_product_id"),
                        pl.col(CATEGORY).alias("next_category")),
        on="item", how="left",
    ).select(CUSTOMER, "next_product_id", "next_category", pl.col("reason").alias("next_reason"))
    levels = products.filter(pl.col("path_level").is_in(list(crosssell.PATH_LEVELS))).select(
        PRODUCT, pl.col("path_level").alias("level")
    )
    if levels.is_empty():
        path = offers.select(CUSTOMER).with_columns(
            path_step=pl.lit(None, pl.String), path_next_step=pl.lit(None, pl.String)
        )
    else:
        path = crosssell.relationship_path(lines, product_levels=levels).select(
            CUSTOMER, pl.col("current_level").alias("path_step"),
            pl.col("next_level").alias("path_next_step"),
        )
    return offers.join(path, on=CUSTOMER, how="full", coalesce=True).select(list(schema))
