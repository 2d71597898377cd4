"""``fideliza analyze``: score the customers of a transaction file, no database needed.

Writes ``DIR/customers.csv`` (one row per customer: summary, P(alive), predicted
purchases, CLV, churn risk/band/reason, RFM and ABC when available) and
``DIR/models.json`` (each model's parameters under the literature names, log-likelihood,
convergence report, the backtest of every model on the most recent horizon -- AUC, Brier
score, reliability curve, per-customer MAE and total error -- with the model chosen, and,
with ``--calibration-end``, the holdout validation).

In ``customers.csv`` money is rounded to cents, probabilities and other fractions to 4
decimals; every code column (``churn_band``, ``rfm_segment``, ``activity_state``, ``tier``,
``abc_*``, ``p_alive_model``, ``next_purchase_note``) keeps its stable English code and is
followed by a ``*_label`` column in the chosen language (``--lang``, else the
``LANGUAGE_CODE`` environment variable, else Spanish).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fideliza.analytics import labels
from fideliza.analytics.pipeline import AnalysisConfig, analyze
from fideliza.analytics.transactions import ColumnMapping, TransactionFileError, read_transactions

__all__ = ["build_parser", "main"]

#: Money columns of ``customers.csv`` (rounded to cents).
MONEY_COLUMNS = frozenset({"monetary_value", "total_amount", "total_margin", "expected_spend",
                           "clv", "clv_margin"})
#: Code columns and the label kind of :mod:`fideliza.analytics.labels` that names them.
CODE_LABELS = {
    "p_alive_model": "p_alive_model",
    "next_purchase_note": "next_purchase_note",
    "rfm_segment": "rfm_segment",
    "abc_revenue": "abc_class",
    "abc_margin": "abc_class",
    "activity_state": "activity_state",
    "tier": "value_tier",
}


def _default_lang() -> str:
    code = (os.environ.get("LANGUAGE_CODE") or "es")[:2].lower()
    return code if code in ("es", "en") else "es"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``fideliza analyze``."""
    p = argparse.ArgumentParser(
        prog="fideliza analyze",
        description="Score customers from a transaction file (CSV or Parquet): P(alive), "
        "predicted purchases, CLV, churn risk, RFM and ABC.",
    )
    p.add_argument("transactions", type=Path, help="TRANSACTIONS.csv or .parquet")
    p.add_argument("--customer-col", default="customer_id", help="customer id column")
    p.add_argument("--date-col", default="ts", help="purchase date/time column")
    p.add_argument("--amount-col", default="amount", help="amount paid column")
    p.add_argument("--margin-col", default=None, help="gross margin column (optional)")
    p.add_argument("--product-col", default=None, help="product id column (optional)")
    p.add_argument("--category-col", default=None, help="product category column (optional)")
    p.add_argument("--date-format", default=None, help="strftime format of the date column")
    p.add_argument("--separator", default=None,
                   help="CSV field separator (default: detected among , ; tab |)")
    p.add_argument(
        "--decimal-scale",
        type=int,
        default=None,
        help="read money as exact decimals with this many places (e.g. 2)",
    )
    p.add_argument(
        "--decimal-comma",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="amounts use a decimal comma, as 12,50 or 1.234,56 (default: detected)",
    )
    p.add_argument(
        "--lang",
        choices=("es", "en"),
        default=_default_lang(),
        help="language of labels, reasons and messages (default: LANGUAGE_CODE, else es)",
    )
    p.add_argument(
        "--period",
        choices=("day", "week", "month"),
        default="week",
        help="time unit of the models (purchases collapse by day)",
    )
    p.add_argument("--calibration-end", type=_date, default=None, help="enables holdout check")
    p.add_argument("--observation-end", type=_date, default=None, help="last day observed")
    p.add_argument("--horizon", type=int, default=12, help="months ahead for predictions/CLV")
    p.add_argument("--discount-rate", type=float, default=0.01, help="monthly discount rate")
    p.add_argument(
        "--model",
        choices=("auto", "bgnbd", "paretonbd", "learned"),
        default="auto",
        help="model behind P(alive), churn risk, predicted purchases and CLV: auto (default) "
        "uses the learned model when its backtest on the last horizon beats the textbook "
        "models (else BG/NBD purchases and Pareto/NBD churn); learned whenever it can be "
        "trained (at least 500 customers and two horizons of history); bgnbd or paretonbd "
        "for everything. Every model's backtest goes to models.json",
    )
    p.add_argument("--no-backtest", action="store_true",
                   help="textbook models only: no backtest and no learned model (faster)")
    p.add_argument("--no-paretonbd", action="store_true", help="do not fit Pareto/NBD")
    p.add_argument("--no-next-purchase", action="store_true", help="skip next-purchase dates")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    return p


def _jsonable(value: Any) -> Any:
    # A copy of the idea of `fideliza.core.serialization.jsonable`, not an import: the
    # analytics core is pure (no Django, no app; `.importlinter`), and the file it writes
    # keeps dates as dates and numbers as numbers.
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def for_file(customers: pl.DataFrame, lang: str) -> pl.DataFrame:
    """``customers`` as written to ``customers.csv``: rounded, with label columns.

    Money to cents, every other float to 4 decimals (probabilities, times in model units,
    expected purchases); each code column followed by its label in ``lang``.
    """
    # BG/NBD's own P(alive) is 1 for every one-time buyer: never shown (see p_alive).
    customers = customers.drop("p_alive_bgnbd", strict=False)
    rounded = customers.with_columns(
        pl.col(name).round(2 if name in MONEY_COLUMNS else 4)
        for name, dtype in customers.schema.items()
        if dtype in (pl.Float64, pl.Float32)
    )
    exprs: list[pl.Expr] = []
    for name in rounded.columns:
        exprs.append(pl.col(name))
        kind = CODE_LABELS.get(name)
        if kind is not None and f"{name}_label" not in rounded.columns:
            codes = rounded[name].drop_nulls().unique().to_list()
            words = {code: labels.label(kind, code, lang) if code else "" for code in codes}
            exprs.append(pl.col(name).replace_strict(words, default=None, return_dtype=pl.String)
                         .alias(f"{name}_label"))
    return rounded.select(exprs)


def main(argv: list[str] | None = None) -> int:
    """Run ``fideliza analyze``; returns the process exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments after ``analyze``; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 on bad input (message on stderr).
    """
    args = build_parser().parse_args(argv)
    mapping = ColumnMapping(
        customer=args.customer_col,
        ts=args.date_col,
        amount=args.amount_col,
        margin=args.margin_col,
        product=args.product_col,
        category=args.category_col,
    )
    try:
        tx = read_transactions(
            args.transactions,
            mapping,
            date_format=args.date_format,
            decimal_scale=args.decimal_scale,
            separator=args.separator,
            decimal_comma=args.decimal_comma,
        )
        config = AnalysisConfig(
            period=args.period,
            calibration_end=args.calibration_end,
            observation_end=args.observation_end,
            horizon=args.horizon,
            discount_rate=args.discount_rate,
            transaction_model="paretonbd" if args.model == "paretonbd" else "bgnbd",
            churn_model=args.model if args.model in ("bgnbd", "paretonbd") else "auto",
            model=None if args.no_backtest else args.model,
            fit_paretonbd=False if args.no_paretonbd and args.model != "paretonbd" else "auto",
            next_purchase=not args.no_next_purchase,
            lang=args.lang,
        )
        result = analyze(tx, config)
    except TransactionFileError as exc:
        print(f"fideliza analyze: {exc.message(args.lang)}", file=sys.stderr)
        return 2
    except (OSError, ValueError, TypeError, pl.exceptions.PolarsError) as exc:
        print(f"fideliza analyze: error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for_file(result.customers, args.lang).write_csv(args.out / "customers.csv")
    report = {
        **result.models,
        "output": {
            "lang": args.lang,
            "rounding": "money to 0.01; probabilities and other fractions to 0.0001",
            "labels": {name: f"{name}_label" for name in CODE_LABELS} | {
                "churn_band": "churn_band_label"},
        },
        "timings_seconds": result.timings,
    }
    (args.out / "models.json").write_text(
        json.dumps(_jsonable(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(
        f"{result.customers.height} customers -> {args.out / 'customers.csv'}, "
        f"{args.out / 'models.json'}"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
