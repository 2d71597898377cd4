"""Churn risk: 1 - P(alive), in bands, with a reason a shopkeeper can read.

The risk comes from a purchase-count model (BG/NBD or Pareto/NBD): the probability that
the customer has already left given how often and how recently they bought. Bands turn it
into four words and the reason states the facts behind it in Spanish, e.g.
"no compra hace 142 días; su intervalo habitual es 30".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from fideliza.analytics.models._base import FloatArray
from fideliza.analytics.models._special import unique_inverse

__all__ = [
    "BANDS",
    "BAND_LABELS",
    "DEFAULT_THRESHOLDS",
    "churn_band",
    "churn_frame",
    "churn_reason",
    "interval_rule_p_alive",
]

#: Band codes from lowest to highest risk and their Spanish display words.
BANDS: tuple[tuple[str, str], ...] = (
    ("low", "bajo"),
    ("medium", "medio"),
    ("high", "alto"),
    ("critical", "muy alto"),
)
#: Display words of the bands per language.
BAND_LABELS: dict[str, tuple[str, ...]] = {
    "es": tuple(word for _, word in BANDS),
    "en": ("low", "medium", "high", "very high"),
}
#: The reason sentences per language: one purchase / overdue / on time.
_REASONS: dict[str, tuple[str, str, str, str, str]] = {
    # one purchase, overdue, on time, "1 day", "{} days"
    "es": ("una sola compra, hace {}", "no compra hace {}; su intervalo habitual es {}",
           "compró hace {}; su intervalo habitual es {}", "1 día", "{} días"),
    "en": ("one purchase only, {} ago", "no purchase for {}; usual interval {} days",
           "bought {} ago; usual interval {} days", "1 day", "{} days"),
}
#: Upper bounds of the first three bands on the risk scale [0, 1].
DEFAULT_THRESHOLDS: tuple[float, float, float] = (0.3, 0.5, 0.7)


def churn_band(risk: ArrayLike, thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> np.ndarray:
    """Band code per customer: ``low`` < t0 <= ``medium`` < t1 <= ``high`` < t2 <= ``critical``.

    Parameters
    ----------
    risk : array_like
        Churn risk in [0, 1].
    thresholds : sequence of three floats
        Increasing band boundaries.

    Returns
    -------
    numpy.ndarray
        Array of band codes (``str``).
    """
    bounds = np.asarray(thresholds, dtype=float)
    if bounds.size != len(BANDS) - 1 or np.any(np.diff(bounds) <= 0):
        raise ValueError(f"thresholds must be {len(BANDS) - 1} increasing numbers")
    codes = np.array([code for code, _ in BANDS], dtype=object)
    return codes[np.searchsorted(bounds, np.asarray(risk, dtype=float), side="right")]


def _days(value: float) -> str:
    n = round(value)
    return "1 día" if n == 1 else f"{n} días"


def churn_reason(frequency: float, days_since_last: float, interval_days: float | None) -> str:
    """Plain Spanish reason for one customer (see :func:`churn_frame` for the rules)."""
    if frequency <= 0 or interval_days is None or not np.isfinite(interval_days):
        return f"una sola compra, hace {_days(days_since_last)}"
    interval = max(round(interval_days), 1)
    if days_since_last > interval:
        return f"no compra hace {_days(days_since_last)}; su intervalo habitual es {interval}"
    return f"compró hace {_days(days_since_last)}; su intervalo habitual es {interval}"


def interval_rule_p_alive(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *, weights: ArrayLike | None = None
) -> FloatArray:
    """Model-free P(alive) of one-time buyers from how long returning customers took.

    BG/NBD lets customers drop out only right after a purchase, so it deems every
    one-time buyer alive (P = 1) however long ago they bought. This rule asks the data
    instead: a repeat customer's usual interval (``recency / frequency``) is the time
    they took to come back, and a one-time buyer silent for ``T`` has not come back yet
    (a censored time). With S the Kaplan-Meier survival of "time until coming back"
    and S_inf its value after the longest interval seen (the share who never return),

    .. math:: P(\\text{alive} \\mid \\text{silent for } T) = 1 - S_\\infty / S(T),

    the share of the customers still silent at T who come back. It falls from the
    share of returning customers (T near 0) to 0 beyond the longest interval seen.

    Parameters
    ----------
    frequency, recency, T : array_like
        The BTYD summary (any one time unit).
    weights : array_like, optional
        Customers each row stands for (distinct histories).

    Returns
    -------
    numpy.ndarray
        P(alive) for one-time buyers (``frequency == 0``), NaN for repeat customers and
        for everybody when no customer came back.
    """
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    t = np.asarray(T, dtype=float)
    w = np.ones(x.shape) if weights is None else np.asarray(weights, dtype=float)
    out = np.full(x.shape, np.nan)
    repeat = x > 0
    if not repeat.any() or repeat.all():
        return out
    times, where = np.unique(tx[repeat] / x[repeat], return_inverse=True)
    deaths = np.bincount(where.ravel(), weights=w[repeat], minlength=times.size)
    # At risk at time u: every customer whose (event or censoring) time is >= u.
    order = np.argsort(t[~repeat], kind="stable")
    censored, censored_w = t[~repeat][order], w[~repeat][order]
    censored_after = np.concatenate([np.cumsum(censored_w[::-1])[::-1], [0.0]])
    events_after = np.concatenate([np.cumsum(deaths[::-1])[::-1], [0.0]])
    at_risk = events_after[:-1] + censored_after[np.searchsorted(censored, times, side="left")]
    survival = np.cumprod(1.0 - deaths / at_risk)
    s_inf = survival[-1]
    idx = np.searchsorted(times, t[~repeat], side="right") - 1
    s_at = np.where(idx >= 0, survival[np.maximum(idx, 0)], 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(s_at > 0, 1.0 - s_inf / s_at, 0.0)
    out[~repeat] = np.clip(p, 0.0, 1.0)
    return out


def churn_frame(
    p_alive: ArrayLike,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    unit_days: float,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    lang: str = "es",
) -> pl.DataFrame:
    """Churn risk, band and reason for each customer.

    The reason compares the days since the last purchase, ``(T - recency) * unit_days``,
    with the customer's usual inter-purchase interval ``recency / frequency * unit_days``
    (the mean gap between their purchases):

    - one purchase only: "una sola compra, hace N días";
    - overdue: "no compra hace N días; su intervalo habitual es K";
    - otherwise: "compró hace N días; su intervalo habitual es K".

    Parameters
    ----------
    p_alive : array_like
        Model probability that the customer is still active.
    frequency, recency, T : array_like
        The BTYD summary, in the model's time unit.
    unit_days : float
        Days per model time unit (1, 7, 30.436875...).
    thresholds : sequence of three floats
        Band boundaries on the risk scale (see :func:`churn_band`).
    lang : {"es", "en"}
        Language of ``churn_band_label`` and ``churn_reason``.

    Returns
    -------
    polars.DataFrame
        Columns ``churn_risk`` (Float64), ``churn_band`` (code), ``churn_band_label``
        (word in ``lang``), ``days_since_last_purchase`` (Int64), ``usual_interval_days``
        (Float64, null with one purchase) and ``churn_reason`` (String), one row per input.
    """
    if lang not in BAND_LABELS:
        raise ValueError(f"lang must be one of {', '.join(BAND_LABELS)}")
    one, overdue, on_time, one_day, n_days = _REASONS[lang]
    risk: FloatArray = np.clip(1.0 - np.asarray(p_alive, dtype=float), 0.0, 1.0)
    x = np.asarray(frequency, dtype=float)
    since = np.rint((np.asarray(T, dtype=float) - np.asarray(recency, dtype=float)) * unit_days)
    with np.errstate(divide="ignore", invalid="ignore"):
        interval = np.where(x > 0, np.asarray(recency, dtype=float) * unit_days / x, np.nan)
    bounds = np.asarray(thresholds, dtype=float)
    if bounds.size != len(BANDS) - 1 or np.any(np.diff(bounds) <= 0):
        raise ValueError(f"thresholds must be {len(BANDS) - 1} increasing numbers")
    # Band codes and words gathered from four-row tables, as churn_band() would give.
    band = pl.Series(np.searchsorted(bounds, risk, side="right"), dtype=pl.UInt32)
    frame = pl.DataFrame(
        {
            "churn_risk": risk,
            "churn_band": pl.Series([c for c, _ in BANDS]).gather(band),
            "churn_band_label": pl.Series(BAND_LABELS[lang]).gather(band),
            "days_since_last_purchase": since.astype(np.int64),
            "usual_interval_days": np.round(interval, 2),
        }
    ).with_columns(pl.col("usual_interval_days").fill_nan(None))
    interval_int = pl.when(pl.col("usual_interval_days").is_not_null()).then(
        pl.max_horizontal(pl.col("usual_interval_days").round(0), pl.lit(1.0)).cast(pl.Int64)
    )
    # A reason depends on (days since, usual interval) only: each distinct pair is worded
    # once and gathered (1M customers: a few thousand sentences instead of a million).
    facts = frame.select(pl.col("days_since_last_purchase"), interval_int.alias("_interval"))
    days = facts["days_since_last_purchase"].to_numpy()
    shifted = facts["_interval"].fill_null(0).to_numpy()  # 0: no interval (one purchase)
    base = int(shifted.max(initial=0)) + 1
    keys, inverse = unique_inverse(days * base + shifted)
    keys = keys.astype(np.int64)
    distinct = pl.DataFrame(
        {
            "days_since_last_purchase": keys // base,
            "_interval": pl.Series(keys % base).replace(0, None),
        }
    )
    since_words = (
        pl.when(pl.col("days_since_last_purchase") == 1)
        .then(pl.lit(one_day))
        .otherwise(pl.format(n_days, pl.col("days_since_last_purchase")))
    )
    reason = (
        pl.when(pl.col("_interval").is_null())
        .then(pl.format(one, since_words))
        .when(pl.col("days_since_last_purchase") > pl.col("_interval"))
        .then(pl.format(overdue, since_words, pl.col("_interval")))
        .otherwise(pl.format(on_time, since_words, pl.col("_interval")))
    )
    words = distinct.select(reason.alias("churn_reason")).to_series()
    return frame.with_columns(words.gather(inverse)).select(
        "churn_risk",
        "churn_band",
        "churn_band_label",
        "days_since_last_purchase",
        "usual_interval_days",
        "churn_reason",
    )
