"""Holdout validation of the purchase-count models.

Two views, as in Fader, Hardie & Lee (2005) section 4:

- per customer: predicted purchases in the holdout period, E[Y(t) | x, t_x, T], against
  the purchases actually made (mean absolute error, RMSE, totals);
- in aggregate: the cumulative number of repeat purchases over calendar time (their
  Figure 2, weekly), predicted by summing the unconditional E[X(t)] over the cohorts of
  first purchases, against the actual count. This is what lifetimes'
  ``expected_cumulative_transactions`` computes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from fideliza.analytics.models._base import FloatArray
from fideliza.analytics.transactions import CUSTOMER, TS

__all__ = ["cumulative_repeat_purchases", "holdout_errors"]


class _CountModel(Protocol):
    def conditional_expected_number_of_purchases_up_to_time(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:  # pragma: no cover - protocol
        ...

    def expected_number_of_purchases_up_to_time(
        self, t: ArrayLike
    ) -> FloatArray:  # pragma: no cover - protocol
        ...


def holdout_errors(model: _CountModel, calibration_holdout: pl.DataFrame) -> dict[str, Any]:
    """Per-customer errors of predicted against actual holdout purchases.

    Parameters
    ----------
    model : fitted BG/NBD or Pareto/NBD model
        Fitted on the calibration columns.
    calibration_holdout : polars.DataFrame
        Output of :func:`fideliza.analytics.summary.calibration_and_holdout_data`.

    Returns
    -------
    dict
        ``mae`` and ``rmse`` per customer, ``predicted_total`` and ``actual_total``
        purchases, ``n_customers`` and ``duration`` (holdout length in model units).
    """
    c = calibration_holdout
    predicted = model.conditional_expected_number_of_purchases_up_to_time(
        c["duration_holdout"].to_numpy(),
        c["frequency_cal"].to_numpy(),
        c["recency_cal"].to_numpy(),
        c["T_cal"].to_numpy(),
    )
    actual = c["frequency_holdout"].to_numpy().astype(float)
    err = predicted - actual
    return {
        "n_customers": int(c.height),
        "duration": float(c["duration_holdout"][0]) if c.height else 0.0,
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "predicted_total": float(predicted.sum()),
        "actual_total": float(actual.sum()),
    }


def cumulative_repeat_purchases(
    model: _CountModel,
    transactions: pl.DataFrame | pl.LazyFrame,
    *,
    n_points: int,
    unit_days: float = 7.0,
    customer_col: str = CUSTOMER,
    ts_col: str = TS,
) -> pl.DataFrame:
    """Cumulative repeat purchases over time, actual against model, from the first purchase.

    Purchases collapse by customer and day. With ``d0`` the earliest purchase date and
    evaluation points at ``k * unit_days`` days after it (k = 1..n_points):

    - ``actual``: repeat purchase-days (every purchase day of a customer but the first)
      strictly before the point;
    - ``predicted``: sum over customers who first bought strictly before the point of
      E[X(point - first purchase)] (FHL 2005, eq. 9).

    This reproduces lifetimes' ``expected_cumulative_transactions(..., freq="D",
    freq_multiplier=unit_days)``.

    Parameters
    ----------
    model : fitted BG/NBD or Pareto/NBD model
        Fitted with time in units of ``unit_days`` days.
    transactions : polars.DataFrame or polars.LazyFrame
        Transactions (all of them: calibration and holdout).
    n_points : int
        Number of evaluation points (e.g. 78 weeks for CDNOW).
    unit_days : float
        Days per model time unit and between points.
    customer_col, ts_col : str
        Column names.

    Returns
    -------
    polars.DataFrame
        ``period`` (1..n_points), ``date`` (of the evaluation point), ``actual``,
        ``predicted``.
    """
    days = (
        transactions.lazy()
        .select(pl.col(customer_col), pl.col(ts_col).dt.date().alias("_d"))
        .unique()
        .with_columns(pl.col("_d").min().over(customer_col).alias("_first"))
        .collect()
    )
    d0 = days["_d"].min()
    if d0 is None:
        raise ValueError("no transactions")
    assert isinstance(d0, dt.date)
    offset = (days["_d"] - d0).dt.total_days().to_numpy().astype(float)
    is_first = (days["_d"] == days["_first"]).to_numpy()
    births, n_births = np.unique(offset[is_first], return_counts=True)
    repeats = np.sort(offset[~is_first])
    points = np.arange(1, n_points + 1) * unit_days
    actual = np.searchsorted(repeats, points, side="left").astype(float)
    age = (points[:, None] - births[None, :]) / unit_days
    mask = age > 0
    expected = np.zeros_like(age)
    expected[mask] = model.expected_number_of_purchases_up_to_time(age[mask])
    predicted = expected @ n_births.astype(float)
    return pl.DataFrame(
        {
            "period": np.arange(1, n_points + 1),
            "date": [d0 + dt.timedelta(days=float(p)) for p in points],
            "actual": actual,
            "predicted": predicted,
        }
    )
