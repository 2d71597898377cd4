"""«¿Qué tan fiable es?»: the backtest of the snapshot's predictions, for the dashboard.

Every recompute re-plays the most recent horizon (``parameters["backtest"]``, written by
`fideliza.analytics.forecast`): each model predicted those months from the data before
them, and the snapshot kept how it went. This module turns the figures of the model the
snapshot uses into what the churn and CLV cards say: a reliability curve, the AUC in
words and the error of the predicted purchases.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from . import charts

#: The textbook models' names (not translated).
MODEL_NAMES = {"bgnbd": "BG/NBD", "paretonbd": "Pareto/NBD"}


def _model_name(code: str) -> str:
    return _("modelo aprendido") if code == "learned" else MODEL_NAMES.get(code, code)


def _day(text: str | None) -> str | None:
    return date_format(dt.date.fromisoformat(text)) if text else None


def _pct(value: float) -> str:
    return f"{number_format(round(value * 100), force_grouping=True)} %"


def reliability_context(parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the two «¿qué tan fiable es?» panels show; None without a backtest.

    The churn figures are those of the model behind the snapshot's churn risk (the learned
    model when the backtest chose it, else Pareto/NBD when it was backtested, else
    BG/NBD); the purchase figures those of the model behind the predicted purchases (the
    learned model, else BG/NBD).
    """
    backtest = (parameters or {}).get("backtest")
    if not backtest or not backtest.get("models"):
        return None
    models = backtest["models"]
    chosen = backtest.get("chosen")
    churn_code: str | None
    count_code: str | None
    if chosen == "learned" and "churn" in models.get("learned", {}):
        churn_code = count_code = "learned"
    else:
        churn_code = next((c for c in ("paretonbd", "bgnbd") if "churn" in models.get(c, {})),
                          None)
        count_code = "bgnbd" if "purchases" in models.get("bgnbd", {}) else None
    window = backtest.get("window") or {}
    months = backtest.get("horizon_months")
    out: dict[str, Any] = {
        "months": months,
        "window_start": _day(window.get("start_after")),
        "window_end": _day(window.get("end")),
        "learned_note": None,
    }
    learned = backtest.get("learned") or {}
    if learned.get("skipped"):
        out["learned_note"] = _("El modelo aprendido no se entrenó: hace falta historia de al "
                                "menos dos horizontes y 500 clientes; se usan los modelos "
                                "clásicos.")
    elif chosen != "learned" and "learned" in models:
        out["learned_note"] = _("El modelo aprendido no mejoró a los clásicos en esta "
                                "comprobación; se usan los clásicos.")
    if churn_code is not None:
        churn = models[churn_code]["churn"]
        auc = churn.get("auc")
        bins = churn.get("calibration") or []
        labels = [f"{round(b['lo'] * 100)}–{round(b['hi'] * 100)} %" for b in bins]
        out["churn"] = {
            "model": _model_name(churn_code),
            "auc": auc,
            "auc_text": number_format(auc, 2) if auc is not None else None,
            "of_ten": round(auc * 10) if auc is not None else None,
            "n": churn.get("n"),
            "base_rate": _pct(churn["base_rate"]) if churn.get("base_rate") is not None else None,
            "curve": charts.line_chart(
                [(_("Riesgo previsto"), [b["predicted"] for b in bins], charts.MUTED),
                 (_("Abandono real"), [b["observed"] for b in bins], charts.SECONDARY)],
                labels,
                title=_("Curva de fiabilidad: riesgo previsto y abandono real por tramo"),
                y_max=1.0,
                css_class="chart-reliability",
                empty_message=_("Sin datos"),
            ),
            "bins": [{"label": label, "n": b["n"], "predicted": _pct(b["predicted"]),
                      "observed": _pct(b["observed"])} for label, b in zip(labels, bins,
                                                                           strict=True)],
        }
    if count_code is not None:
        counts = models[count_code]["purchases"]
        error = counts.get("total_error")
        out["purchases"] = {
            "model": _model_name(count_code),
            "predicted": number_format(round(counts["predicted_total"]), force_grouping=True),
            "actual": number_format(round(counts["actual_total"]), force_grouping=True),
            "error": (("+" if error >= 0 else "−") + _pct(abs(error))) if error is not None
            else None,
            "mae": number_format(counts["mae"], 2) if counts.get("mae") is not None else None,
        }
    return out
