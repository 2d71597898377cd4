"""The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While active, a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha);
after each purchase they drop out with probability p ~ Beta(a, b). Time 0 is the first
purchase; the data per customer are x (repeat purchases), t_x (time of the last one) and
T (time observed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, gammaln, hyp2f1, psi

from fideliza.analytics.models._base import BaseFitter, FloatArray, warm_start, wdot
from fideliza.analytics.models._special import (
    compress_rows,
    log1mexp,
    softplus,
    unique_inverse,
    weighted_counts,
)

__all__ = ["BetaGeoFitter"]

#: Above this many distinct (x, t_x, T) patterns the optimiser is first run on a seeded
#: subsample, whose optimum is an excellent start for the full data.
WARM_START_ROWS = 150_000


@dataclass
class _Data:
    """Compressed BG/NBD data, split by x = 0 / x > 0.

    Terms that depend on x alone are summed once per distinct x (``xu`` with total weights
    ``wx``). ``log(alpha + t)`` and ``1/(alpha + t)`` are evaluated once per distinct time
    value (``tv``); the terms in which they meet only fixed weights (every term of an
    x = 0 customer, and the ``(alpha + T)^-(r + x)`` factor of the others) are sums over
    the distinct times with the weights pre-aggregated per time (``wt0``, ``wt1``,
    ``wxt1``). Per row of the x > 0 part remain the logistic terms in t_x and T: one
    ``exp`` and one ``log1p``, and gathers through integer (intp) indices.
    """

    xu: FloatArray  # distinct frequencies
    wx: FloatArray  # total weight per distinct frequency
    tv: FloatArray  # distinct values of T (all rows) and t_x (x > 0 rows)
    wt0: FloatArray  # weight of the x = 0 rows per distinct T
    w0_total: float
    x1: FloatArray  # rows with x > 0
    ix1: np.ndarray  # index of x1 in xu
    itx1: np.ndarray  # index of t_x in tv
    it1: np.ndarray  # index of T in tv
    w1: FloatArray
    wt1: FloatArray  # weight of the x > 0 rows per distinct T
    wxt1: FloatArray  # weight times x of the x > 0 rows per distinct T
    total: float

    @classmethod
    def build(cls, x: FloatArray, tx: FloatArray, t: FloatArray, w: FloatArray) -> _Data:
        zero = x == 0
        pos = ~zero
        xu, inv = unique_inverse(x)
        wx = weighted_counts(inv, w, xu.size)
        n1 = int(pos.sum())
        tv, tinv = unique_inverse(np.concatenate([tx[pos], t[pos], t[zero]]))
        x1, w1, it1 = x[pos], w[pos], tinv[n1 : 2 * n1]
        return cls(
            xu=xu,
            wx=wx,
            tv=tv,
            wt0=weighted_counts(tinv[2 * n1 :], w[zero], tv.size),
            w0_total=float(w[zero].sum()),
            x1=x1,
            ix1=inv[pos],
            itx1=tinv[:n1],
            it1=it1,
            w1=w1,
            wt1=weighted_counts(it1, w1, tv.size),
            wxt1=weighted_counts(it1, w1 * x1, tv.size),
            total=float(w.sum()),
        )

    def subsample(self, size: int, seed: int) -> _Data:
        """A seeded subsample of the x > 0 rows, re-weighted to keep their total weight."""
        rng = np.random.default_rng(seed)
        n1 = self.x1.size
        keep = np.sort(rng.choice(n1, size=min(size, n1), replace=False))
        w1 = self.w1[keep] * (self.w1.sum() / self.w1[keep].sum())
        wx = weighted_counts(self.ix1[keep], w1, self.xu.size)
        wx[self.xu == 0] += self.w0_total
        x1, it1 = self.x1[keep], self.it1[keep]
        return _Data(
            xu=self.xu,
            wx=wx,
            tv=self.tv,
            wt0=self.wt0,
            w0_total=self.w0_total,
            x1=x1,
            ix1=self.ix1[keep],
            itx1=self.itx1[keep],
            it1=it1,
            w1=w1,
            wt1=weighted_counts(it1, w1, self.tv.size),
            wxt1=weighted_counts(it1, w1 * x1, self.tv.size),
            total=float(wx.sum()),
        )


def _neg_mean_loglik(phi: FloatArray, d: _Data, coef: float) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood of FHL (2005) eq. (6) and its gradient in log-params.

    Per customer, with A_1..A_4 as in Hardie's note 004 (and lifetimes),
    ``ll = A_1 + A_2 + log(exp(A_3) + [x > 0] exp(A_4))`` where
    ``A_1 = log G(r+x) - log G(r) + r log(alpha)``,
    ``A_2 = log G(a+b) + log G(b+x) - log G(b) - log G(a+b+x)``,
    ``A_3 = -(r+x) log(alpha+T)`` and
    ``A_4 = log(a) - log(b+x-1) - (r+x) log(alpha+t_x)``; the last term is
    ``A_3 + softplus(A_4 - A_3)``, whose derivative weights are ``sigmoid(A_4 - A_3)``.
    ``A_3`` is summed per distinct T (see :class:`_Data`).
    """
    r, alpha, a, b = np.exp(phi)
    xu = d.xu
    ll = float(
        wdot(
            d.wx,
            gammaln(r + xu)
            - gammaln(r)
            + r * np.log(alpha)
            + gammaln(a + b)
            + gammaln(b + xu)
            - gammaln(b)
            - gammaln(a + b + xu),
        )
    )
    g_r = float(wdot(d.wx, psi(r + xu) - psi(r) + np.log(alpha)))
    g_alpha = float(d.wx.sum() * r / alpha)
    g_a = float(wdot(d.wx, psi(a + b) - psi(a + b + xu)))
    g_b = float(wdot(d.wx, psi(a + b) + psi(b + xu) - psi(b) - psi(a + b + xu)))
    log_tv = np.log(alpha + d.tv)
    inv_tv = 1.0 / (alpha + d.tv)
    # A_3 for every customer: -(r + x) log(alpha + T), summed per distinct T.
    sum_log = wdot(d.wt0 + d.wt1, log_tv)
    sum_x_log = wdot(d.wxt1, log_tv)
    ll -= r * sum_log + sum_x_log
    g_r -= sum_log
    g_alpha -= r * wdot(d.wt0 + d.wt1, inv_tv) + wdot(d.wxt1, inv_tv)
    if d.x1.size:
        bx = b + np.maximum(xu, 1.0) - 1.0
        dl = log_tv[d.itx1]
        dl -= log_tv[d.it1]  # log(alpha + t_x) - log(alpha + T) <= 0
        u = d.x1 + r
        diff = (np.log(a) - np.log(bx))[d.ix1]
        diff -= u * dl  # A_4 - A_3
        e = np.exp(-np.abs(diff))
        w = d.w1
        ll += wdot(w, np.maximum(diff, 0.0)) + wdot(w, np.log1p(e))
        p = np.where(diff >= 0, 1.0, e)
        p /= 1.0 + e  # sigmoid(A_4 - A_3)
        wp = np.multiply(w, p, out=p)
        g_r -= wdot(wp, dl)
        di = inv_tv[d.itx1]
        di -= inv_tv[d.it1]
        u *= wp
        g_alpha -= wdot(u, di)
        g_a += float(wp.sum() / a)
        g_b -= float(wdot(weighted_counts(d.ix1, wp, xu.size), 1.0 / bx))
    grad = -np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b]) / d.total
    value = -ll / d.total + coef * float(float(phi @ phi))
    grad = grad + 2.0 * coef * phi
    if not np.isfinite(value):
        return float("inf"), np.zeros(4)
    return value, grad


def _loglik_rows(params: FloatArray, x: FloatArray, tx: FloatArray, t: FloatArray) -> FloatArray:
    """Per-customer log-likelihood, FHL (2005) eq. (6) (Hardie's note 004 form)."""
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + t)
    a4 = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + tx)
    return a1 + a2 + np.where(x > 0, np.logaddexp(a3, a4), a3)


class BetaGeoFitter(BaseFitter):
    """BG/NBD model of repeat purchasing, fitted by maximum likelihood.

    Parameters
    ----------
    penalizer_coef : float or "auto"
        Weak L2 penalty on the log-parameters; see
        :class:`~fideliza.analytics.models._base.BaseFitter`.
    tol, max_iter
        Optimiser settings.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha`` (in the time unit of the data), ``a``, ``b``.
    log_likelihood_ : float
        Total log-likelihood of the fitted data at ``params_`` (no penalty).
    standard_errors_ : dict
        Asymptotic standard errors (inverse Hessian, delta method).
    fit_info_ : dict
        Convergence report: success, iterations, message, penalty and why, warnings.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
    easy way: an alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275-284.
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) using the
    BG/NBD model. http://brucehardie.com/notes/021/
    """

    param_names = ("r", "alpha", "a", "b")
    shape_params = (0, 2, 3)

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
        *,
        seed: int = 0,
    ) -> BetaGeoFitter:
        """Estimate ``r, alpha, a, b`` by maximum likelihood.

        Identical ``(x, t_x, T)`` rows are compressed into one weighted row (Fader &
        Hardie's practice); time is rescaled so that max(T) = 1 while optimising
        (``alpha`` is scaled back). The search runs L-BFGS-B on the log-parameters with the
        analytic gradient, then Newton steps on its finite-difference Jacobian.

        Parameters
        ----------
        frequency, recency, T : array_like
            x, t_x and T per customer (``recency <= T``, ``recency = 0`` when x = 0).
        weights : array_like, optional
            Number of customers each row stands for.
        seed : int
            Seed of the subsample used to warm-start very large fits.

        Returns
        -------
        BetaGeoFitter
            ``self``, fitted.
        """
        x, tx, t, w = _validate(frequency, recency, T, weights)
        (xu, txu, tu), inv, counts = compress_rows(x, tx, t)
        wu = weighted_counts(inv, w, xu.size) if weights is not None else counts
        scale = 1.0 / float(tu.max())
        data = _Data.build(xu, txu * scale, tu * scale, wu)

        def make_objective(coef: float):
            return lambda phi: _neg_mean_loglik(phi, data, coef)

        x0 = np.zeros(4)
        warm = None
        if data.x1.size > WARM_START_ROWS:
            sub = data.subsample(WARM_START_ROWS // 3, seed)

            def warm(coef: float) -> tuple[FloatArray, FloatArray]:
                return warm_start(lambda phi: _neg_mean_loglik(phi, sub, coef), x0)

        attempt = self._run(make_objective, x0, round(w.sum()), warm)
        params = np.exp(attempt.phi)
        params[1] /= scale
        # The objective is the mean NLL in rescaled time; t -> s t, alpha -> s alpha
        # multiplies each customer's likelihood by s^-x.
        penalty = attempt.penalizer * float(attempt.phi @ attempt.phi)
        ll = -(attempt.value - penalty) * data.total + np.log(scale) * float(wdot(wu, xu))
        self._finish(attempt, params, ll, data.total, np.ones(4))
        self.fit_info_["n_patterns"] = int(xu.size)
        return self

    # -- predictions -----------------------------------------------------------------------
    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Per-customer log-likelihood at the fitted parameters, FHL (2005) eq. (6)."""
        self._check_fitted()
        x, tx, t, _ = _validate(frequency, recency, T, None)
        return _loglik_rows(self._params, x, tx, t)

    def conditional_probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(alive | x, t_x, T).

        .. math:: P = 1 / \\left(1 + \\delta_{x>0} \\frac{a}{b+x-1}
                  \\left(\\frac{\\alpha+T}{\\alpha+t_x}\\right)^{r+x}\\right)

        Fader, Hardie & Lee (2008), note 021, eq. (2); computed as a logistic of a
        log-odds so that it neither overflows nor leaves [0, 1].
        """
        self._check_fitted()
        r, alpha, a, b = self._params
        x = np.asarray(frequency, dtype=float)
        tx = np.asarray(recency, dtype=float)
        t = np.asarray(T, dtype=float)
        log_odds = (
            (r + x) * (np.log(alpha + t) - np.log(alpha + tx))
            + np.log(a)
            - np.log(b + np.maximum(x, 1.0) - 1.0)
        )
        return np.where(x > 0, expit(-log_odds), 1.0)

    def expected_number_of_purchases_up_to_time(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] for a customer just acquired, FHL (2005) eq. (9).

        .. math:: \\frac{a+b-1}{a-1}\\left[1 - \\left(\\frac{\\alpha}{\\alpha+t}\\right)^r
                  {}_2F_1\\left(r, b; a+b-1; \\frac{t}{\\alpha+t}\\right)\\right]

        At a = 1 (and at a + b = 1) the formula is 0/0; the finite, continuous limit is
        taken (see ``_at_a``).
        """
        self._check_fitted()
        r, alpha, a, b = self._params
        t = np.asarray(t, dtype=float)
        return _at_a(a, b, lambda a_, b_: _expected_new(r, alpha, a_, b_, t))

    def conditional_probability_no_purchase_up_to_time(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(no purchase in (T, T + t] | x, t_x, T).

        .. math:: 1 - P_a + P_a \\left(\\frac{\\alpha+T}{\\alpha+T+t}\\right)^{r+x}

        with P_a = P(alive | x, t_x, T). In BG/NBD a customer can only drop out right after
        a purchase, so an alive customer makes none in (T, T + t] exactly when the Poisson
        process has no event there; given alive, lambda's posterior is Gamma(r + x,
        alpha + T) independently of p (the likelihood of an alive customer factorises), and
        E[exp(-lambda t)] is the power above. This, not 1 - P(alive), is the model's
        probability of the event a churn backtest observes.
        """
        self._check_fitted()
        r, alpha, _, _ = self._params
        t = np.asarray(t, dtype=float)
        x = np.asarray(frequency, dtype=float)
        big_t = np.asarray(T, dtype=float)
        alive = self.conditional_probability_alive(frequency, recency, T)
        quiet = np.exp((r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t)))
        return 1.0 - alive + alive * quiet

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T + t], FHL (2005) eq. (10).

        .. math:: \\frac{\\frac{a+b+x-1}{a-1}\\left[1-\\left(\\frac{\\alpha+T}{\\alpha+T+t}
                  \\right)^{r+x}{}_2F_1\\left(r+x, b+x; a+b+x-1; \\frac{t}{\\alpha+T+t}
                  \\right)\\right]}{1+\\delta_{x>0}\\frac{a}{b+x-1}\\left(\\frac{\\alpha+T}
                  {\\alpha+t_x}\\right)^{r+x}}

        The hypergeometric term is evaluated in log-space (with Euler's transformation
        where the direct value overflows) and ``1 - exp(.)`` with ``expm1``; at a = 1 the
        continuous limit is used as in :meth:`expected_number_of_purchases_up_to_time`.
        """
        self._check_fitted()
        r, alpha, a, b = self._params
        t = np.asarray(t, dtype=float)
        x = np.asarray(frequency, dtype=float)
        tx = np.asarray(recency, dtype=float)
        big_t = np.asarray(T, dtype=float)
        return _at_a(
            a, b, lambda a_, b_: _conditional_expectation(r, alpha, a_, b_, t, x, tx, big_t)
        )

    def conditional_expectation_function(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Callable[[float], FloatArray]:
        """``t -> E[Y(t) | x, t_x, T]`` for fixed histories, for repeated horizons.

        P(alive) and the grouping of customers by distinct (x, T) are computed once, so
        that evaluating many horizons (the monthly steps of the CLV) costs one
        hypergeometric evaluation per distinct (x, T) and horizon.
        """
        self._check_fitted()
        r, alpha, a, b = self._params
        x, tx, big_t = np.broadcast_arrays(
            *(np.asarray(v, dtype=float) for v in (frequency, recency, T))
        )
        shape = x.shape
        (xu, tu), inv, _ = compress_rows(x.ravel(), big_t.ravel())
        log_odds = (
            (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx))
            + np.log(a)
            - np.log(b + np.maximum(x, 1.0) - 1.0)
        )
        log_palive = np.where(x > 0, -softplus(log_odds), 0.0).ravel()

        def at(t: float) -> FloatArray:
            def one(a_: float, b_: float) -> FloatArray:
                log_v, sign = _numerator(r, alpha, a_, b_, float(t), xu, tu)
                with np.errstate(over="ignore"):
                    return sign[inv] * np.exp(log_v[inv] + log_palive)

            return _at_a(a, b, one).reshape(shape)

        return at

    def predict(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Alias of :meth:`conditional_expected_number_of_purchases_up_to_time`."""
        return self.conditional_expected_number_of_purchases_up_to_time(t, frequency, recency, T)

    def expected_time_to_next_purchase(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        *,
        n: float = 1.0,
        max_time: float | None = None,
        grid: int = 128,
        iterations: int = 10,
        p_alive: ArrayLike | None = None,
    ) -> FloatArray:
        """Time from T until the expected number of purchases reaches ``n``.

        Solves E[Y(t) | x, t_x, T] = n for t (the expectation increases with t). Since
        E = numerator(t; x, T) x P(alive | x, t_x, T), the numerator is tabulated once per
        distinct (x, T) on ``grid`` log-spaced times over 40 e-folds below ``max_time``;
        each history's root is bracketed between two grid points by binary search on that
        table and then refined by the Illinois variant of regula falsi on log t with exact
        evaluations. Customers whose expected purchases stay below ``n`` up to
        ``max_time`` (default 100 x max(T)) get ``inf``: the model does not expect them to
        buy again within a horizon that matters.

        Parameters
        ----------
        frequency, recency, T : array_like
            Customer histories.
        n : float
            Target number of expected purchases (1 = "next purchase").
        max_time : float, optional
            Longest horizon searched, in the data's time unit.
        grid : int
            Tabulation points per distinct (x, T).
        iterations : int
            Illinois steps inside the bracket (relative precision on t far below 1e-8).
        p_alive : array_like, optional
            P(alive) to use instead of the model's, one per customer and equal for equal
            histories (e.g. a model-free estimate for one-time buyers, whom BG/NBD
            always deems alive): E[Y(t)] = numerator(t) x P(alive).

        Returns
        -------
        numpy.ndarray
            Expected waiting time, in the data's time unit.
        """
        self._check_fitted()
        r, alpha, a, b = self._params
        x = np.asarray(frequency, dtype=float)
        tx = np.asarray(recency, dtype=float)
        big_t = np.asarray(T, dtype=float)
        (xu, txu, tu), inv, _ = compress_rows(x.ravel(), tx.ravel(), big_t.ravel())
        override = None
        if p_alive is not None:
            override = np.empty(xu.size)
            override[inv] = np.broadcast_to(np.asarray(p_alive, dtype=float), x.shape).ravel()
        (px, pt), pinv, _ = compress_rows(xu, tu)
        horizon = float(max_time if max_time is not None else 100.0 * max(float(tu.max()), 1.0))
        log_grid = np.linspace(np.log(horizon) - 40.0, np.log(horizon), grid)

        def log_numerator(t: FloatArray, xs: FloatArray, ts: FloatArray) -> FloatArray:
            def one(a_: float, b_: float) -> FloatArray:
                log_v, sign = _numerator(r, alpha, a_, b_, t, xs, ts)
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    return sign * np.exp(log_v)

            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log(_at_a(a, b, one))

        table = np.empty((px.size, grid))
        for g, lt in enumerate(log_grid):
            table[:, g] = log_numerator(np.exp(lt), px, pt)
        table = np.maximum.accumulate(np.nan_to_num(table, nan=-np.inf), axis=1)
        log_odds = (
            (r + xu) * (np.log(alpha + tu) - np.log(alpha + txu))
            + np.log(a)
            - np.log(b + np.maximum(xu, 1.0) - 1.0)
        )
        log_palive = np.where(xu > 0, -softplus(log_odds), 0.0)
        if override is not None:
            with np.errstate(divide="ignore"):
                log_palive = np.log(np.clip(override, 0.0, 1.0))
        target = np.log(n) - log_palive  # log numerator needed (inf when P(alive) = 0)
        reach = table[pinv, -1] >= target
        immediate = table[pinv, 0] >= target
        lo = np.zeros(xu.size, dtype=np.intp)
        hi = np.full(xu.size, grid - 1, dtype=np.intp)
        while np.any(hi - lo > 1):
            mid = (lo + hi) // 2
            above = table[pinv, mid] >= target
            hi = np.where(above, mid, hi)
            lo = np.where(above, lo, mid)
        u_lo, u_hi = log_grid[lo], log_grid[hi]
        f_lo, f_hi = table[pinv, lo] - target, table[pinv, hi] - target
        active = reach & ~immediate
        side = np.zeros(xu.size, dtype=np.int8)
        for _ in range(iterations):
            with np.errstate(divide="ignore", invalid="ignore"):
                u = np.where(
                    np.isfinite(f_lo) & (f_hi != f_lo),
                    u_hi - f_hi * (u_hi - u_lo) / (f_hi - f_lo),
                    0.5 * (u_lo + u_hi),
                )
            u = np.clip(u, u_lo, u_hi)
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            f = np.full(xu.size, np.nan)
            f[idx] = log_numerator(np.exp(u[idx]), xu[idx], tu[idx]) - target[idx]
            up = active & (f >= 0)
            down = active & (f < 0)
            # Illinois: halve the retained endpoint's value when the same side moves twice.
            f_lo = np.where(up & (side == 1), 0.5 * f_lo, f_lo)
            f_hi = np.where(down & (side == -1), 0.5 * f_hi, f_hi)
            u_hi, f_hi = np.where(up, u, u_hi), np.where(up, f, f_hi)
            u_lo, f_lo = np.where(down, u, u_lo), np.where(down, f, f_lo)
            side = np.where(up, 1, np.where(down, -1, side)).astype(np.int8)
            active &= np.abs(u_hi - u_lo) > 1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            root = np.where(
                np.isfinite(f_lo) & (f_hi != f_lo),
                u_hi - f_hi * (u_hi - u_lo) / (f_hi - f_lo),
                0.5 * (u_lo + u_hi),
            )
        root = np.clip(root, u_lo, u_hi)
        out = np.where(reach, np.exp(np.where(immediate, log_grid[0], root)), np.inf)
        return out[inv].reshape(x.shape)


def _at_a(
    a: float, b: float, fun: Callable[[float, float], FloatArray], eps: float = 1e-6
) -> FloatArray:
    """fun(a, b), or its continuous limit where the BG/NBD formulas are 0/0.

    At a = 1 the factor 1/(a - 1) meets a vanishing bracket, and at a + b = 1 the
    hypergeometric function of eq. (9)/(10) for x = 0 has c = 0 with a vanishing prefactor
    a + b - 1; both limits are finite and are taken as the mean of the two neighbours.
    """
    if abs(a - 1.0) < eps:
        return 0.5 * (fun(1.0 - eps, b) + fun(1.0 + eps, b))
    if abs(a + b - 1.0) < eps:
        return 0.5 * (fun(a, b - eps) + fun(a, b + eps))
    return fun(a, b)


def _log_growth(
    log_abs_h: FloatArray, sign_h: FloatArray, log_ratio: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(log|g|, sign g) of ``g = 1 - exp(log_ratio) * h``, h given as (log|h|, sign).

    Kept in log-space because for a < 1 the hypergeometric term grows without bound and
    only its product with P(alive) is of moderate size.
    """
    e = log_abs_h + log_ratio
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # h > 0: g = -expm1(e): log(-expm1(e)) for e < 0, log(expm1(e)) for e > 0.
        pos_small = log1mexp(np.minimum(e, 0.0))
        pos_large = e + log1mexp(-np.maximum(e, 0.0))
        log_abs = np.where(sign_h > 0, np.where(e <= 0, pos_small, pos_large), softplus(e))
    sign = np.where((sign_h > 0) & (e > 0), -1.0, 1.0)
    return log_abs, sign


def _signed_term(
    prefactor: FloatArray, log_abs_h: FloatArray, sign_h: FloatArray, log_ratio: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(log|.|, sign) of ``prefactor * (1 - exp(log_ratio) * h)``."""
    log_g, sign_g = _log_growth(log_abs_h, sign_h, log_ratio)
    with np.errstate(divide="ignore"):
        return np.log(np.abs(prefactor)) + log_g, np.sign(prefactor) * sign_g


def _expected_new(r: float, alpha: float, a: float, b: float, t: FloatArray) -> FloatArray:
    log_h, sign_h = _log_abs_hyp2f1(r, b, a + b - 1.0, t / (alpha + t))
    prefactor = np.asarray((a + b - 1.0) / (a - 1.0))
    log_v, sign = _signed_term(prefactor, log_h, sign_h, r * np.log(alpha / (alpha + t)))
    return sign * np.exp(log_v)


def _numerator(
    r: float, alpha: float, a: float, b: float, t: float | FloatArray, x: FloatArray, big_t: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(log|.|, sign) of the numerator of FHL (2005) eq. (10)."""
    z = t / (alpha + big_t + t)
    log_h, sign_h = _log_abs_hyp2f1(r + x, b + x, a + b + x - 1.0, z)
    log_ratio = (r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t))
    return _signed_term((a + b + x - 1.0) / (a - 1.0), log_h, sign_h, log_ratio)


def _conditional_expectation(
    r: float,
    alpha: float,
    a: float,
    b: float,
    t: FloatArray,
    x: FloatArray,
    tx: FloatArray,
    big_t: FloatArray,
) -> FloatArray:
    """FHL (2005) eq. (10): numerator x P(alive), multiplied in log-space.

    The numerator depends on (x, T) only; for many customers and a scalar t it is
    evaluated once per distinct (x, T) pair (the hypergeometric function dominates the
    cost) and gathered back.
    """
    x, tx, big_t = np.broadcast_arrays(x, tx, big_t)
    if np.ndim(t) == 0 and x.size > 2048:
        (xu, tu), inv, _ = compress_rows(x.ravel(), big_t.ravel())
        log_vu, sign_u = _numerator(r, alpha, a, b, t, xu, tu)
        log_v, sign = log_vu[inv].reshape(x.shape), sign_u[inv].reshape(x.shape)
    else:
        log_v, sign = _numerator(r, alpha, a, b, t, x, big_t)
    log_odds = (
        (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx))
        + np.log(a)
        - np.log(b + np.maximum(x, 1.0) - 1.0)
    )
    log_palive = np.where(x > 0, -softplus(log_odds), 0.0)
    with np.errstate(over="ignore"):
        return sign * np.exp(log_v + log_palive)


def _hyp2f1_series(a: float, b: float, c: float, z: float, max_terms: int = 2_000_000) -> float:
    """Gauss series of 2F1 summed directly (fallback where SciPy returns nan/inf).

    Used on Euler-transformed arguments whose numerator parameters are small next to c, so
    the terms shrink geometrically at rate ~z.
    """
    total, term, n = 1.0, 1.0, 0
    chunk = 4096
    while n < max_terms:
        k = np.arange(n, n + chunk, dtype=float)
        ratios = (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z
        terms = term * np.cumprod(ratios)
        total += float(terms.sum())
        term = float(terms[-1])
        n += chunk
        if abs(term) <= 1e-17 * abs(total) or term == 0.0:
            break
    return total


def _log_abs_hyp2f1(
    a: ArrayLike, b: ArrayLike, c: ArrayLike, z: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """(log|2F1(a, b; c; z)|, sign) for 0 <= z < 1.

    Where SciPy's value overflows, Euler's transformation
    2F1(a, b; c; z) = (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z) is used in log-space (the
    transformed function summed as a series if SciPy fails on it too). The value can be
    negative when c < 0 (x = 0 and a + b < 1), hence the sign.
    """
    a_arr, b_arr, c_arr, z_arr = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (a, b, c, z))
    )
    shape = a_arr.shape
    a_arr, b_arr, c_arr, z_arr = (np.atleast_1d(v).ravel() for v in (a_arr, b_arr, c_arr, z_arr))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        direct = np.asarray(hyp2f1(a_arr, b_arr, c_arr, z_arr), dtype=float)
        log_abs = np.log(np.abs(direct))
        sign = np.sign(direct)
        bad = ~np.isfinite(direct)
        if np.any(bad):
            # Euler's transformation only where the direct value overflowed.
            ab, bb, cb, zb = a_arr[bad], b_arr[bad], c_arr[bad], z_arr[bad]
            euler = np.array(hyp2f1(cb - ab, cb - bb, cb, zb), dtype=float)
            for i in np.flatnonzero(~np.isfinite(euler)):
                euler[i] = _hyp2f1_series(
                    float(cb[i] - ab[i]), float(cb[i] - bb[i]), float(cb[i]), float(zb[i])
                )
            log_abs[bad] = np.log(np.abs(euler)) + (cb - ab - bb) * np.log1p(-zb)
            sign[bad] = np.sign(euler)
    return log_abs.reshape(shape), sign.reshape(shape)


def _validate(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    x = np.asarray(frequency, dtype=float).ravel()
    tx = np.asarray(recency, dtype=float).ravel()
    t = np.asarray(T, dtype=float).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    if not (x.size == tx.size == t.size == w.size):
        raise ValueError("frequency, recency, T and weights must have the same length")
    if x.size == 0:
        raise ValueError("no customers to fit")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be non-negative integers")
    if np.any(tx < 0) or np.any(tx > t + 1e-9):
        raise ValueError("recency must lie in [0, T]")
    if np.any((x == 0) & (tx != 0)):
        raise ValueError("recency must be 0 when frequency is 0")
    if np.any(t < 0):
        raise ValueError("T must be non-negative")
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    return x, tx, t, w
