"""``fideliza analyze``: score the customers of a transaction file, no database needed.

Writes ``DIR/customers.csv`` (one row per customer: summary, P(alive), predicted
purchases, CLV, churn risk/band/reason, RFM and ABC when available) and
``DIR/models.json`` (each model's parameters under the literature names, log-likelihood,
convergence report and, with ``--calibration-end``, the holdout validation).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fideliza.analytics.pipeline import AnalysisConfig, analyze
from fideliza.analytics.transactions import ColumnMapping, read_transactions

__all__ = ["build_parser", "main"]


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
    p.add_argument("--separator", default=",", help="CSV field separator")
    p.add_argument(
        "--decimal-scale",
        type=int,
        default=None,
        help="read money as exact decimals with this many places (e.g. 2)",
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
        choices=("bgnbd", "paretonbd"),
        default="bgnbd",
        help="model behind P(alive), churn and CLV",
    )
    p.add_argument("--no-paretonbd", action="store_true", help="do not fit Pareto/NBD")
    p.add_argument("--no-next-purchase", action="store_true", help="skip next-purchase dates")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    return p


def _jsonable(value: Any) -> Any:
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
        )
        config = AnalysisConfig(
            period=args.period,
            calibration_end=args.calibration_end,
            observation_end=args.observation_end,
            horizon=args.horizon,
            discount_rate=args.discount_rate,
            transaction_model=args.model,
            fit_paretonbd=False if args.no_paretonbd and args.model != "paretonbd" else "auto",
            next_purchase=not args.no_next_purchase,
        )
        result = analyze(tx, config)
    except (OSError, ValueError, TypeError, pl.exceptions.PolarsError) as exc:
        print(f"fideliza analyze: error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    result.customers.write_csv(args.out / "customers.csv")
    report = {**result.models, "timings_seconds": result.timings}
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
