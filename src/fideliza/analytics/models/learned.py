"""A learned model of the next horizon: P(no purchase) and the number of purchases.

The textbook models (BG/NBD, Pareto/NBD) see a customer only through (x, t_x, T). This
model also sees the customer's own rhythm (mean interval between purchases and its
regularity, the last interval, how overdue they are), their recent activity (purchases in
the last horizon, half-horizon and the horizon before), their spend and its trend, the
number of categories and returns when the log has them, and the textbook models' own
outputs (P(alive), expected purchases), and learns from the business's own past how these
translate into the next horizon.

Training is a time split of the customer's own history: features computed with the
transactions up to ``c = T - h`` and labels from the purchases in ``(c, T]``, then the
model is applied to the features at ``T`` to predict ``(T, T + h]``. ``h`` is the horizon
in calendar months.

Two targets, two gradient-boosted tree ensembles (scikit-learn's
``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor``):

- P(no purchase in the next h), calibrated on a held-out part of the training customers
  (isotonic regression with at least :data:`ISOTONIC_MIN_ROWS` held-out customers, Platt's
  sigmoid below);
- the number of purchase days in the next h, with the Poisson loss, as a multiplier of
  BG/NBD's own expectation (a Poisson regression with offset): the textbook model carries
  the ageing of the customer base that a time split cannot show (at ``T`` every customer
  is ``h`` older than any training customer was), the trees correct it per customer.

When it is not trained: fewer than :data:`MIN_CUSTOMERS` customers with a purchase by the
training cutoff, a history shorter than :data:`MIN_HORIZONS` horizons (calendar months from
the first purchase's month to the observation end's month, both counted, fewer than
``2 h``), or fewer than :data:`MIN_CLASS` customers on either side of the churn label.
The caller then keeps the textbook model (see :func:`learned_trainable`).

Why scikit-learn and not LightGBM: ``HistGradientBoosting*`` is LightGBM's algorithm
(histogram binning, leaf-wise growth, native missing values, Poisson loss) in a library
that ships wheels for every platform with no system OpenMP to install, keeps a stable API
across versions, and also gives the isotonic/Platt calibration and the metrics; at the
sizes trained here (at most :data:`MAX_TRAIN_CUSTOMERS` customers, ~20 features) the speed
difference is a second or two.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from fideliza.analytics.models._base import FloatArray
from fideliza.analytics.transactions import AMOUNT, CATEGORY, CUSTOMER, TS

__all__ = [
    "FEATURES",
    "MIN_CUSTOMERS",
    "MIN_HORIZONS",
    "LearnedModel",
    "customer_features",
    "history_months",
    "learned_trainable",
    "months_before",
    "purchases_between",
]

#: Fewest customers with a purchase by the training cutoff to train the learned model.
MIN_CUSTOMERS = 500
#: Fewest horizons of history (calendar months, both ends counted) to train it.
MIN_HORIZONS = 2
#: Fewest customers on each side of the churn label (bought / did not buy) to train it.
MIN_CLASS = 25
#: Training customers kept (a seeded random sample above it: the cost stays bounded; at
#: this size the trees of 15 leaves are well determined).
MAX_TRAIN_CUSTOMERS = 50_000
#: Held-out calibration customers from which isotonic regression is used (Platt below).
ISOTONIC_MIN_ROWS = 2_000

#: The features, in the order the trees see them (NaN where undefined, e.g. the mean
#: interval of a one-time buyer; the trees route missing values natively).
FEATURES: tuple[str, ...] = (
    "frequency",  # repeat purchase days
    "recency_days",  # first to last purchase day
    "age_days",  # first purchase to the cutoff
    "days_since_last",
    "mean_interval_days",  # recency / frequency
    "interval_cv",  # regularity: std / mean of the intervals (two or more)
    "last_interval_days",
    "overdue_ratio",  # days since last / mean interval
    "purchases_last_h",  # purchase days in (c - h, c]
    "purchases_last_half_h",  # purchase days in (c - h/2, c]
    "purchases_prev_h",  # purchase days in (c - 2h, c - h]
    "spend_mean",  # mean spend per purchase day
    "spend_total",
    "spend_last",  # spend of the last purchase day
    "spend_trend",  # (mean of later half - mean of earlier half) / mean, two+ days
    "n_categories",  # distinct categories (when the log has them)
    "n_returns",  # rows with a negative amount (when the log has amounts)
    "btyd_p_alive",  # the textbook model's P(alive) at the cutoff
    "btyd_p_none",  # BG/NBD's P(no purchase in the horizon) at the cutoff
    "btyd_expected",  # BG/NBD's expected purchases over the horizon at the cutoff
)

#: Features gathered into the facts a reason names (see :meth:`LearnedModel.reasons`).
REASON_GROUPS: dict[str, tuple[str, ...]] = {
    "silence": ("days_since_last", "overdue_ratio", "btyd_p_alive", "btyd_p_none"),
    "few_purchases": ("frequency", "btyd_expected", "spend_total"),
    "recent_activity": ("purchases_last_h", "purchases_last_half_h"),
    "slowing": ("purchases_prev_h", "last_interval_days", "interval_cv"),
    "spend_down": ("spend_trend", "spend_last"),
}


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (clamped to the month's end).

    1997-12-31 minus 6 months is 1997-06-30; the window ``(1997-06-30, 1997-12-31]`` is the
    calendar half-year July-December.
    """
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (following - dt.timedelta(days=1)).day
    # The end of a month maps to the end of a month (Dec 31 -> Jun 30, not Jul 1).
    month_end = (day + dt.timedelta(days=1)).day == 1
    return dt.date(year, month, last_day if month_end else min(day.day, last_day))


def history_months(first: dt.date, end: dt.date) -> int:
    """Calendar months from ``first``'s month to ``end``'s month, both counted."""
    return (end.year - first.year) * 12 + end.month - first.month + 1


def learned_trainable(
    *, first_purchase: dt.date | None, observation_end: dt.date, horizon_months: int,
    n_customers_at_cutoff: int,
) -> str | None:
    """Why the learned model cannot be trained for this log, or None when it can.

    The rule (also in the module docstring): at least :data:`MIN_CUSTOMERS` customers
    with a purchase by the cutoff ``T - h``, and at least :data:`MIN_HORIZONS` horizons of
    history (calendar months from the first purchase's month to ``T``'s, both counted):
    one horizon of labels and at least one of features before it.
    """
    if first_purchase is None:
        return "no purchases"
    months = history_months(first_purchase, observation_end)
    if months < MIN_HORIZONS * horizon_months:
        return (f"{months} months of history < {MIN_HORIZONS} horizons of {horizon_months} "
                "months")
    if n_customers_at_cutoff < MIN_CUSTOMERS:
        return f"{n_customers_at_cutoff} customers by the training cutoff < {MIN_CUSTOMERS}"
    return None


def _cut(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` (transactions strictly before it are up to ``day``)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def purchase_days(transactions: pl.DataFrame) -> pl.DataFrame:
    """Purchases collapsed by customer and day: ``customer_id, day, spend`` (Float64)."""
    spend = (pl.col(AMOUNT).cast(pl.Float64).sum() if AMOUNT in transactions.columns
             else pl.lit(0.0).sum())
    return (transactions.lazy()
            .group_by(pl.col(CUSTOMER), pl.col(TS).dt.date().alias("day"))
            .agg(spend.alias("spend"))
            .sort(CUSTOMER, "day")
            .collect())


def purchases_between(
    days: pl.DataFrame, customers: pl.Series, start: dt.date, end: dt.date
) -> np.ndarray:
    """Purchase days of each of ``customers`` in ``(start, end]`` (0 for none)."""
    counts = (days.filter((pl.col("day") > start) & (pl.col("day") <= end))
              .group_by(CUSTOMER).len())
    joined = pl.DataFrame({CUSTOMER: customers}).join(counts, on=CUSTOMER, how="left")
    return joined["len"].fill_null(0).to_numpy().astype(float)


def customer_features(
    days: pl.DataFrame,
    *,
    cutoff: dt.date,
    horizon_days: float,
    transactions: pl.DataFrame | None = None,
    btyd: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The features of :data:`FEATURES` of every customer with a purchase by ``cutoff``.

    Parameters
    ----------
    days : polars.DataFrame
        :func:`purchase_days` of the transactions (any end; later days are ignored).
    cutoff : date
        Last day seen.
    horizon_days : float
        Length of the horizon in days (the windows of the recent-activity features).
    transactions : polars.DataFrame, optional
        The raw transactions, for ``n_categories`` (a ``category`` column) and
        ``n_returns`` (negative amounts); NaN without them.
    btyd : polars.DataFrame, optional
        ``customer_id, btyd_p_alive, btyd_p_none, btyd_expected`` from the textbook
        models fitted on the same cutoff; NaN without it.

    Returns
    -------
    polars.DataFrame
        ``customer_id`` then the features, sorted by customer.
    """
    h = float(horizon_days)
    d = days.filter(pl.col("day") <= cutoff)
    since = (pl.lit(cutoff) - pl.col("day")).dt.total_days().cast(pl.Float64)
    d = d.with_columns(
        _since=since,
        _gap=(pl.col("day") - pl.col("day").shift(1)).over(CUSTOMER).dt.total_days()
        .cast(pl.Float64),
        _rank=pl.int_range(pl.len()).over(CUSTOMER),
        _n=pl.len().over(CUSTOMER),
    )
    later = pl.col("_rank") >= pl.col("_n") // 2
    out = d.group_by(CUSTOMER).agg(
        frequency=(pl.len() - 1).cast(pl.Float64),
        recency_days=(pl.col("day").max() - pl.col("day").min()).dt.total_days().cast(pl.Float64),
        age_days=pl.col("_since").max(),
        days_since_last=pl.col("_since").min(),
        _gap_std=pl.col("_gap").std(),
        last_interval_days=pl.col("_gap").last(),
        purchases_last_h=(pl.col("_since") < h).sum().cast(pl.Float64),
        purchases_last_half_h=(pl.col("_since") < h / 2).sum().cast(pl.Float64),
        purchases_prev_h=((pl.col("_since") >= h) & (pl.col("_since") < 2 * h)).sum()
        .cast(pl.Float64),
        spend_mean=pl.col("spend").mean(),
        spend_total=pl.col("spend").sum(),
        spend_last=pl.col("spend").last(),
        _late=pl.col("spend").filter(later).mean(),
        _early=pl.col("spend").filter(~later).mean(),
    )
    mean_interval = pl.when(pl.col("frequency") > 0).then(
        pl.col("recency_days") / pl.col("frequency"))
    out = out.with_columns(mean_interval_days=mean_interval).with_columns(
        interval_cv=pl.when(pl.col("frequency") > 1).then(
            pl.col("_gap_std") / pl.col("mean_interval_days")),
        overdue_ratio=pl.col("days_since_last") / pl.col("mean_interval_days"),
        spend_trend=pl.when((pl.col("frequency") > 0) & (pl.col("spend_mean") != 0)).then(
            (pl.col("_late") - pl.col("_early")) / pl.col("spend_mean").abs()),
    )
    nan = pl.lit(None, pl.Float64)
    extra = [nan.alias("n_categories"), nan.alias("n_returns")]
    if transactions is not None:
        seen = transactions.lazy().filter(pl.col(TS) < _cut(cutoff))
        aggs = []
        if CATEGORY in transactions.columns:
            aggs.append(pl.col(CATEGORY).n_unique().cast(pl.Float64).alias("n_categories"))
        if AMOUNT in transactions.columns:
            aggs.append((pl.col(AMOUNT).cast(pl.Float64) < 0).sum().cast(pl.Float64)
                        .alias("n_returns"))
        if aggs:
            more = seen.group_by(CUSTOMER).agg(aggs).collect()
            out = out.join(more, on=CUSTOMER, how="left")
            extra = [e for e in extra if e.meta.output_name() not in more.columns]
    out = out.with_columns(extra)
    if btyd is not None:
        out = out.join(btyd.select(CUSTOMER, "btyd_p_alive", "btyd_p_none", "btyd_expected"),
                       on=CUSTOMER, how="left")
    else:
        out = out.with_columns(nan.alias("btyd_p_alive"), nan.alias("btyd_p_none"),
                               nan.alias("btyd_expected"))
    return out.select(CUSTOMER, *FEATURES).sort(CUSTOMER).with_columns(
        pl.col(f).cast(pl.Float64).fill_nan(None) for f in FEATURES)


def _matrix(features: pl.DataFrame) -> FloatArray:
    """The features as floats, nulls as NaN; a column with no value at all as 0 (a log
    without categories): the trees' binning needs at least one value per column."""
    x = features.select(FEATURES).to_numpy().astype(float)
    empty = np.isnan(x).all(axis=0)
    if empty.any():
        x[:, empty] = 0.0
    return x


#: Smallest textbook expectation used as the offset of the count model.
MIN_BASELINE = 1e-3


#: Most distinct values a feature keeps (the trees' own number of bins).
MAX_BINS = 255


def _bin_edges(x: FloatArray) -> list[FloatArray | None]:
    """Per feature, the quantile edges of :data:`MAX_BINS` bins (None: few values).

    The trees bin features themselves, but with sample weights (the count model's offset)
    scikit-learn computes weighted quantiles one at a time: 5 of the 6 seconds of a
    CDNOW training. Binning here, unweighted, as the trees would without weights, leaves
    them at most 255 distinct values, which they take as they are.
    """
    edges: list[FloatArray | None] = []
    for j in range(x.shape[1]):
        col = x[:, j][np.isfinite(x[:, j])]
        if np.unique(col).size <= MAX_BINS:
            edges.append(None)
            continue
        cuts = np.percentile(col, np.linspace(0, 100, MAX_BINS + 1)[1:-1],
                             method="averaged_inverted_cdf")
        edges.append(np.unique(cuts))
    return edges


def _binned(x: FloatArray, edges: list[FloatArray | None]) -> FloatArray:
    """``x`` with each binned feature replaced by its bin number (NaN stays NaN)."""
    out = x.copy()
    for j, cuts in enumerate(edges):
        if cuts is not None:
            col = x[:, j]
            out[:, j] = np.where(np.isnan(col), np.nan,
                                 np.searchsorted(cuts, col, side="left").astype(float))
    return out


def _threads(rows: int) -> Any:
    """One OpenMP thread for the trees.

    The recompute runs beside the web server and the other workers; OpenMP threads that
    wait by spinning then fight for the cores. Measured on a shared 2-core machine (load
    9): one fit on 50,000 rows took 2.4 s wall with one thread and 47 s with two.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _shift_to_mean(p: FloatArray, target: float) -> FloatArray:
    """``p`` shifted by one constant on the log-odds scale so that its mean is ``target``."""
    target = min(max(target, 1e-4), 1 - 1e-4)
    logit = np.log(np.clip(p, 1e-6, 1 - 1e-6)) - np.log(np.clip(1 - p, 1e-6, 1.0))
    lo, hi = -20.0, 20.0
    for _ in range(60):  # bisection: the mean is increasing in the shift
        mid = (lo + hi) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(logit + mid)))) < target:
            lo = mid
        else:
            hi = mid
    return 1.0 / (1.0 + np.exp(-(logit + (lo + hi) / 2)))


def _baseline(x: FloatArray) -> FloatArray:
    """The offset of the count model: BG/NBD's expected purchases (1 where missing)."""
    base = x[:, FEATURES.index("btyd_expected")]
    return np.where(np.isfinite(base), np.maximum(base, MIN_BASELINE), 1.0)


@dataclass
class _Platt:
    """Platt scaling: a logistic regression on the log-odds of the raw probability."""

    a: float
    b: float

    def predict(self, p: FloatArray) -> FloatArray:
        logit = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1.0))
        return 1.0 / (1.0 + np.exp(-(self.a * logit + self.b)))


class LearnedModel:
    """Gradient-boosted P(no purchase in the next h) and purchases in the next h.

    Parameters
    ----------
    calibration_share : float
        Share of the training customers held out to calibrate the probabilities.
    max_train_customers : int
        Training customers kept (seeded random sample above it).
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf, l2_regularization
        Of the two ``HistGradientBoosting*`` estimators (early stopping on a random 15 %
        of the fitting rows, 20 rounds without improvement). Deliberately small trees and
        a slow rate: the models must not overfit a few thousand customers.
    align_level : bool
        Take the *level* of both predictions from BG/NBD at the scoring date: the
        probabilities are shifted (one constant on the log-odds scale) to BG/NBD's mean
        P(no purchase in h), the counts scaled to its expected total. A time split has
        one training window, so it cannot tell the business's drift over time (customers
        ageing, a season) from a steady level; the textbook model extrapolates that level
        from its structure. The trees then decide who is more or less likely, which is
        what they can learn.
    seed : int
        Seed of the samples, splits and trees.

    Attributes
    ----------
    classifier_, regressor_ : fitted scikit-learn estimators
    calibration_ : dict
        ``method`` (``"isotonic"`` or ``"sigmoid"``) and ``n_customers`` held out.
    n_train_ : int
        Training customers used.
    reference_ : numpy.ndarray
        Per feature, the median among training customers who did buy in the label window
        (the "typical active customer" the reasons compare against).
    """

    def __init__(
        self,
        *,
        calibration_share: float = 0.3,
        max_train_customers: int = MAX_TRAIN_CUSTOMERS,
        learning_rate: float = 0.05,
        max_iter: int = 300,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        align_level: bool = True,
        seed: int = 0,
    ) -> None:
        self.align_level = align_level
        self.calibration_share = calibration_share
        self.max_train_customers = max_train_customers
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.seed = seed

    def _params(self) -> dict[str, Any]:
        return {
            "learning_rate": self.learning_rate,
            "max_iter": self.max_iter,
            "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf,
            "l2_regularization": self.l2_regularization,
            "early_stopping": True,
            "validation_fraction": 0.15,
            "n_iter_no_change": 20,
            "random_state": self.seed,
        }

    def fit(self, features: pl.DataFrame, purchases: Sequence[float] | np.ndarray) -> LearnedModel:
        """Train on the features at a cutoff and the purchase days in the horizon after it.

        Raises ``ValueError`` when either side of the churn label has fewer than
        :data:`MIN_CLASS` customers.
        """
        with _threads(len(features)):
            return self._fit(features, purchases)

    def _fit(self, features: pl.DataFrame, purchases: Sequence[float] | np.ndarray
             ) -> LearnedModel:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        from sklearn.isotonic import IsotonicRegression
        from sklearn.linear_model import LogisticRegression

        x_all = _matrix(features)
        y_all = np.asarray(purchases, dtype=float)
        rng = np.random.default_rng(self.seed)
        rows = np.arange(y_all.size)
        if rows.size > self.max_train_customers:
            rows = np.sort(rng.choice(rows, self.max_train_customers, replace=False))
        x, y = x_all[rows], y_all[rows]
        none = (y == 0).astype(int)
        if min(none.sum(), (1 - none).sum()) < MIN_CLASS:
            raise ValueError(f"fewer than {MIN_CLASS} customers on one side of the churn label")
        self.n_train_ = int(rows.size)
        held = rng.random(rows.size) < self.calibration_share
        self._edges = _bin_edges(x)
        xq = _binned(x, self._edges)
        self.classifier_ = HistGradientBoostingClassifier(**self._params()).fit(
            xq[~held], none[~held])
        raw = self.classifier_.predict_proba(xq[held])[:, 1]
        if held.sum() >= ISOTONIC_MIN_ROWS:
            self._calibrator: Any = IsotonicRegression(
                y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, none[held])
            method = "isotonic"
        else:
            logit = np.log(np.clip(raw, 1e-6, 1 - 1e-6) / np.clip(1 - raw, 1e-6, 1.0))
            lr = LogisticRegression(C=1e6).fit(logit[:, None], none[held])
            self._calibrator = _Platt(float(lr.coef_[0, 0]), float(lr.intercept_[0]))
            method = "sigmoid"
        self.calibration_ = {"method": method, "n_customers": int(held.sum())}
        # The count is learned as a multiplier of the textbook model's expectation (a Poisson
        # regression with offset log E: target y / E with weight E). The textbook model
        # carries what a time split cannot teach -- how purchases fade as customers age
        # past the oldest training customer -- and the trees correct it where the other
        # features say more; where BG/NBD is right the multiplier stays near 1.
        base = _baseline(x)
        self.regressor_ = HistGradientBoostingRegressor(loss="poisson", **self._params()).fit(
            xq, y / base, sample_weight=base)
        active = x[y > 0]
        self.reference_ = np.nanmedian(active, axis=0) if active.size else np.nanmedian(x, axis=0)
        self.iterations_ = {"classifier": int(self.classifier_.n_iter_),
                            "regressor": int(self.regressor_.n_iter_)}
        return self

    def _churn(self, x: FloatArray) -> FloatArray:
        return self._churn_binned(_binned(x, self._edges))

    def _churn_binned(self, xq: FloatArray) -> FloatArray:
        if not xq.shape[0]:
            return np.zeros(0)
        with _threads(xq.shape[0]):
            raw = self.classifier_.predict_proba(xq)[:, 1]
        return np.clip(np.asarray(self._calibrator.predict(raw), dtype=float), 0.0, 1.0)

    def _aligned(self, p: FloatArray, x: FloatArray) -> FloatArray:
        target = x[:, FEATURES.index("btyd_p_none")]
        if self.align_level and np.isfinite(target).any() and p.size:
            p = _shift_to_mean(p, float(np.nanmean(target)))
        return p

    def predict_churn(self, features: pl.DataFrame) -> FloatArray:
        """Calibrated P(no purchase in the next horizon) per customer.

        With ``align_level``, shifted on the log-odds scale so that their mean is BG/NBD's
        mean P(no purchase) on the same customers (the ``btyd_p_none`` feature), see the
        class docstring.
        """
        x = _matrix(features)
        return self._aligned(self._churn(x), x)

    def predict_purchases(self, features: pl.DataFrame) -> FloatArray:
        """Expected purchase days in the next horizon per customer.

        With ``align_level``, scaled so that they add up to BG/NBD's expected total on the
        same customers (the ``btyd_expected`` feature).
        """
        x = _matrix(features)
        base = _baseline(x)
        with _threads(x.shape[0]):
            out = np.asarray(self.regressor_.predict(_binned(x, self._edges)), dtype=float) * base
        if self.align_level and np.isfinite(x[:, FEATURES.index("btyd_expected")]).any():
            total = out.sum()
            if total > 0:
                out *= base.sum() / total
        return out

    def predict_churn_with_reasons(
        self, features: pl.DataFrame, *, top: int = 2, min_effect: float = 0.03,
        from_risk: float = 0.5,
    ) -> tuple[FloatArray, np.ndarray]:
        """:meth:`predict_churn` and the facts that raise each customer's risk most.

        For each group of :data:`REASON_GROUPS`, the customer's features of that group are
        replaced by the typical active customer's (``reference_``) and the risk
        recomputed; the drop is the group's effect on this customer's risk. Groups whose
        effect is at least ``min_effect`` are returned (at most ``top``), only for the
        customers whose risk is at least ``from_risk`` (the reasons of a risk; each group
        costs one more pass of the trees over those customers).

        Returns
        -------
        (risk, groups)
            The risk of :meth:`predict_churn` and an array of shape (customers, top) of
            group codes, strongest first, "" where no (further) group reaches
            ``min_effect`` or the risk is below ``from_risk``.
        """
        x_all = _matrix(features)
        xq_all = _binned(x_all, self._edges)
        raw_all = self._churn_binned(xq_all)
        aligned = self._aligned(raw_all, x_all)
        rows = np.flatnonzero(aligned >= from_risk)
        x, xq, risk = x_all[rows], xq_all[rows], raw_all[rows]
        reference_q = _binned(self.reference_[None, :], self._edges)[0]
        effects = np.zeros((rows.size, len(REASON_GROUPS)))
        for k, names in enumerate(REASON_GROUPS.values()):
            cols = [FEATURES.index(n) for n in names]
            swapped = xq.copy()
            swapped[:, cols] = reference_q[cols]
            effects[:, k] = risk - self._churn_binned(swapped)
        # A reason is a fact about the customer, not only a direction of the trees: a
        # one-time buyer has no "last interval" to compare, so "buys less often than
        # before" must not be said of them however the swap moves the risk.
        col = {n: x[:, FEATURES.index(n)] for n in FEATURES}
        ref = {n: self.reference_[FEATURES.index(n)] for n in FEATURES}
        with np.errstate(invalid="ignore"):
            applies = np.column_stack([
                col["days_since_last"] > ref["days_since_last"],
                col["frequency"] < ref["frequency"],
                col["purchases_last_h"] < ref["purchases_last_h"],
                (col["frequency"] >= 1) & (col["purchases_last_h"] < col["purchases_prev_h"]),
                col["spend_trend"] < 0,
            ])
        effects[~applies] = 0.0
        codes = np.array([*REASON_GROUPS, ""], dtype=object)
        order = np.argsort(-effects, axis=1)[:, :top]
        strong = np.take_along_axis(effects, order, axis=1) >= min_effect
        groups = np.full((x_all.shape[0], top), "", dtype=object)
        # "" where the k-th strongest group is too weak: codes[-1].
        groups[rows] = codes[np.where(strong, order, len(REASON_GROUPS))]
        return aligned, groups
