"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

While alive a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); their
lifetime is exponential with rate mu ~ Gamma(s, beta). The likelihood follows Fader &
Hardie's note "A note on deriving the Pareto/NBD model and related expressions" (2005),
eq. (22) with the A_0 term of eqs. (19)-(20), evaluated entirely in log-space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

from fideliza.analytics.models._base import BaseFitter, FloatArray, numeric_gradient, wdot
from fideliza.analytics.models._special import (
    compress_rows,
    log1mexp,
    log_hyp2f1_a_b_aplus1_scipy,
    log_power_product_integral,
    weighted_counts,
)
from fideliza.analytics.models.bgnbd import _validate

__all__ = ["ParetoNBDFitter"]

#: Rows with c = r + s + x and z = k / (m + t_x) at or above these go straight to the
#: integral (see `_log_a0`).
SCIPY_HYP2F1_MAX_C = 90.0
SCIPY_HYP2F1_MAX_Z = 0.92


@dataclass(frozen=True)
class _Pairs:
    """The distinct (x, t_x) and (x, T) pairs of a set of rows, with each row's index into them.

    The two 2F1 terms of A_0 depend on the row through (x, t_x) and (x, T) only, and a
    history in days has far fewer distinct pairs than distinct (x, t_x, T) patterns (T
    takes one value per day of the window, x a few dozen). The pairs do not depend on the
    parameters, so a fit finds them once and every likelihood evaluation computes each
    SciPy 2F1 once per pair instead of once per row, with the same values.
    """

    x_tx: FloatArray
    tx: FloatArray
    inv_tx: np.ndarray
    x_t: FloatArray
    t: FloatArray
    inv_t: np.ndarray

    @classmethod
    def of(cls, x: FloatArray, tx: FloatArray, t: FloatArray) -> _Pairs:
        (x_tx, tx_u), inv_tx = _unique_pairs(x, tx)
        (x_t, t_u), inv_t = _unique_pairs(x, t)
        return cls(x_tx, tx_u, inv_tx, x_t, t_u, inv_t)


def _unique_pairs(a: FloatArray, b: FloatArray) -> tuple[tuple[FloatArray, FloatArray], np.ndarray]:
    pairs, inverse = np.unique(np.column_stack([a, b]), axis=0, return_inverse=True)
    return (pairs[:, 0].copy(), pairs[:, 1].copy()), inverse.reshape(-1)


def _log_a0(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, tx: FloatArray, t: FloatArray,
    pairs: _Pairs | None = None,
) -> FloatArray:
    """log A_0 of Fader & Hardie (2005), eqs. (19)-(20).

    With m = max(alpha, beta), k = |alpha - beta|, c = r + s + x and
    b = s + 1 if alpha >= beta else r + x,

    .. math:: A_0 = \\frac{{}_2F_1(c, b; c+1; \\frac{k}{m+t_x})}{(m+t_x)^{c}}
                  - \\frac{{}_2F_1(c, b; c+1; \\frac{k}{m+T})}{(m+T)^{c}}
                  = c \\int_{t_x}^{T} (\\alpha+y)^{-(r+x)} (\\beta+y)^{-(s+1)}\\,dy

    (the integral is the chance of dying unseen after the last purchase). Both terms are
    formed in log-space from SciPy's hypergeometric function (through Pfaff's
    transformation, which stays finite for any x) and subtracted with ``log1mexp``; the
    first term is never smaller than the second, so A_0 >= 0 (0 when t_x = T). Where
    SciPy fails (z -> 1 with large parameters: a customer whose history spans decades,
    or an optimiser step to an extreme s) or the two terms nearly cancel, the integral is
    evaluated directly by `log_power_product_integral`, with bounded work per row.

    With ``pairs`` (of the same 1-D rows, see `_Pairs`) each term is computed once per
    distinct pair and gathered: the same values, with far fewer SciPy calls.
    """
    if alpha >= beta:
        m, k = alpha, alpha - beta
    else:
        m, k = beta, beta - alpha

    def b_of(xv: FloatArray) -> FloatArray:
        return np.full_like(xv, s + 1.0) if alpha >= beta else r + xv

    def term(xv: FloatArray, yv: FloatArray) -> FloatArray:
        """log 2F1(c, b; c+1; k/(m+y)) - c log(m+y): one of the two terms of A_0."""
        cv = r + s + xv
        return log_hyp2f1_a_b_aplus1_scipy(cv, b_of(xv), k / (m + yv)) - cv * np.log(m + yv)

    if pairs is not None:
        cp, txp, tp = r + s + np.asarray(x, dtype=float), np.asarray(tx, dtype=float), np.asarray(t, dtype=float)
        pshape = cp.shape
        # SciPy's 2F1 fails (nan) or takes ~1 ms per value for c >= 100 and z >= 0.93; the
        # integral takes ~25 us there and is exact to ~1e-13.
        direct_u = ((r + s + pairs.x_tx) >= SCIPY_HYP2F1_MAX_C) & (k / (m + pairs.tx) >= SCIPY_HYP2F1_MAX_Z)
        term_tx_u = np.full(pairs.tx.size, np.nan)
        keep = ~direct_u
        term_tx_u[keep] = term(pairs.x_tx[keep], pairs.tx[keep])
        direct = direct_u[pairs.inv_tx]
        needed = np.zeros(pairs.t.size, dtype=bool)
        needed[pairs.inv_t[~direct]] = True  # the T term only where the t_x term was computed
        term_t_u = np.full(pairs.t.size, np.nan)
        term_t_u[needed] = term(pairs.x_t[needed], pairs.t[needed])
        pout = np.empty(pshape)
        prows: slice | np.ndarray = np.flatnonzero(~direct) if direct.any() else slice(None)
        term_tx, term_t = term_tx_u[pairs.inv_tx][prows], term_t_u[pairs.inv_t][prows]
        ptx, pt = txp[prows], tp[prows]
        with np.errstate(invalid="ignore"):
            gap = np.minimum(term_t - term_tx, 0.0)
            pout[prows] = term_tx + log1mexp(gap)
            direct[prows] = ~np.isfinite(gap) | ((gap > -1e-6) & (pt > ptx))
        if np.any(direct):
            p_ = (r + np.asarray(x, dtype=float))[direct]
            pout[direct] = np.log(cp[direct]) + log_power_product_integral(
                p_, s + 1.0, alpha, beta, txp[direct], tp[direct]
            )
        return pout

    c = r + s + x
    b = b_of(x)
    c_, b_ = np.broadcast_arrays(np.asarray(c, dtype=float), np.asarray(b, dtype=float))
    tx_, t_ = np.broadcast_arrays(np.asarray(tx, dtype=float), np.asarray(t, dtype=float))
    shape = np.broadcast_shapes(c_.shape, tx_.shape)
    c_, b_, tx_, t_ = (np.broadcast_to(v, shape).ravel() for v in (c_, b_, tx_, t_))
    out = np.empty(c_.size)
    z_tx = k / (m + tx_)
    direct = (c_ >= SCIPY_HYP2F1_MAX_C) & (z_tx >= SCIPY_HYP2F1_MAX_Z)
    # The usual case has no such row: views, no copies.
    rows: slice | np.ndarray = np.flatnonzero(~direct) if direct.any() else slice(None)
    cr, br, txr, tr = c_[rows], b_[rows], tx_[rows], t_[rows]
    if cr.size:
        term_tx = log_hyp2f1_a_b_aplus1_scipy(cr, br, z_tx[rows]) - cr * np.log(m + txr)
        term_t = log_hyp2f1_a_b_aplus1_scipy(cr, br, k / (m + tr)) - cr * np.log(m + tr)
        with np.errstate(invalid="ignore"):
            gap = np.minimum(term_t - term_tx, 0.0)
            out[rows] = term_tx + log1mexp(gap)
            # Where SciPy failed, or the subtraction would lose more than ~6 digits (t_x
            # very close to T), the integral too.
            direct[rows] = ~np.isfinite(gap) | ((gap > -1e-6) & (tr > txr))
    if np.any(direct):
        p_ = (r + np.broadcast_to(np.asarray(x, dtype=float), shape).ravel())[direct]
        out[direct] = np.log(c_[direct]) + log_power_product_integral(
            p_, s + 1.0, alpha, beta, tx_[direct], t_[direct]
        )
    return out.reshape(shape)


def _loglik_rows(params: FloatArray, x: FloatArray, tx: FloatArray, t: FloatArray,
                 pairs: _Pairs | None = None) -> FloatArray:
    """Per-customer log-likelihood, Fader & Hardie (2005) eq. (22).

    .. math:: L = \\frac{\\Gamma(r+x)\\alpha^r\\beta^s}{\\Gamma(r)}\\left[
              \\frac{1}{(\\alpha+T)^{r+x}(\\beta+T)^s} + \\frac{s}{r+s+x}A_0\\right]
    """
    r, alpha, s, beta = params
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    first = -(r + x) * np.log(alpha + t) - s * np.log(beta + t)
    with np.errstate(divide="ignore"):
        second = np.log(s) - np.log(r + s + x) + _log_a0(r, alpha, s, beta, x, tx, t, pairs)
    return head + np.logaddexp(first, second)


class ParetoNBDFitter(BaseFitter):
    """Pareto/NBD model of repeat purchasing, fitted by maximum likelihood.

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
        ``r``, ``alpha``, ``s``, ``beta`` (alpha and beta in the data's time unit).
    log_likelihood_, standard_errors_, fit_info_
        As for :class:`~fideliza.analytics.models.bgnbd.BetaGeoFitter`.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers:
    who are they and what will they do next? *Management Science* 33(1), 1-24.
    Fader, P. S. & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
    related expressions. http://brucehardie.com/notes/009/
    """

    param_names = ("r", "alpha", "s", "beta")
    shape_params = (0, 2)

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> ParetoNBDFitter:
        """Estimate ``r, alpha, s, beta`` by maximum likelihood.

        Rows are compressed to distinct ``(x, t_x, T)`` patterns and time rescaled so that
        max(T) = 1; the gradient is a central difference of the log-space likelihood
        (the 2F1 terms have no convenient analytic derivative), which is cheap on the
        compressed data.

        Parameters
        ----------
        frequency, recency, T : array_like
            x, t_x and T per customer.
        weights : array_like, optional
            Number of customers each row stands for.

        Returns
        -------
        ParetoNBDFitter
            ``self``, fitted.
        """
        x, tx, t, w = _validate(frequency, recency, T, weights)
        (xu, txu, tu), inv, counts = compress_rows(x, tx, t)
        wu = weighted_counts(inv, w, xu.size) if weights is not None else counts
        scale = 1.0 / float(tu.max())
        txs, ts = txu * scale, tu * scale
        total = float(wu.sum())
        found = _Pairs.of(xu, txs, ts)
        n_pairs = found.tx.size + found.t.size
        # Every pattern its own T (no shared calendar): nothing to gain from the pairs.
        pairs = found if n_pairs < 2 * xu.size else None

        def make_objective(coef: float):
            def value(phi: FloatArray) -> float:
                ll = wdot(wu, _loglik_rows(np.exp(phi), xu, txs, ts, pairs))
                out = -float(ll) / total + coef * float(float(phi @ phi))
                return out if np.isfinite(out) else float("inf")

            def objective(phi: FloatArray) -> tuple[float, FloatArray]:
                v = value(phi)
                if not np.isfinite(v):
                    return float("inf"), np.zeros_like(phi)
                return v, numeric_gradient(value, phi, step=1e-6)

            return objective

        attempt = self._run(make_objective, np.zeros(4), round(w.sum()))
        params = np.exp(attempt.phi)
        params[1] /= scale
        params[3] /= scale
        ll = float(wdot(wu, _loglik_rows(params, xu, txu, tu, pairs and _Pairs.of(xu, txu, tu))))
        self._finish(attempt, params, ll, total, np.ones(4))
        self.fit_info_["n_patterns"] = int(xu.size)
        self.fit_info_["n_pairs"] = int(n_pairs)
        return self

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Per-customer log-likelihood at the fitted parameters, eq. (22)."""
        self._check_fitted()
        x, tx, t, _ = _validate(frequency, recency, T, None)
        return _loglik_rows(self._params, x, tx, t)

    def _log_palive(self, x: FloatArray, tx: FloatArray, t: FloatArray) -> FloatArray:
        r, alpha, s, beta = self._params
        with np.errstate(divide="ignore"):
            log_odds_dead = (
                np.log(s)
                - np.log(r + s + x)
                + (r + x) * np.log(alpha + t)
                + s * np.log(beta + t)
                + _log_a0(r, alpha, s, beta, x, tx, t)
            )
        return -np.logaddexp(0.0, log_odds_dead)

    def conditional_probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(alive | x, t_x, T), Fader & Hardie (2005) eq. (36)-(37).

        .. math:: P = 1 / \\left(1 + \\frac{s}{r+s+x}(\\alpha+T)^{r+x}(\\beta+T)^s A_0\\right)
        """
        self._check_fitted()
        x, tx, t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        return np.exp(self._log_palive(x, tx, t))

    def expected_number_of_purchases_up_to_time(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] for a new customer, Fader & Hardie (2005) eq. (27).

        .. math:: \\frac{r\\beta}{\\alpha(s-1)}\\left[1-\\left(\\frac{\\beta}{\\beta+t}
                  \\right)^{s-1}\\right]

        (the limit ``(r beta / alpha) log(1 + t / beta)`` at s = 1).
        """
        self._check_fitted()
        r, alpha, s, beta = self._params
        t = np.asarray(t, dtype=float)
        return r * beta / alpha * _one_minus_pow_over(np.log1p(t / beta), s - 1.0)

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T], Fader & Hardie (2005) eq. (41).

        .. math:: P(\\text{alive})\\,\\frac{(r+x)(\\beta+T)}{(\\alpha+T)(s-1)}\\left[1 -
                  \\left(\\frac{\\beta+T}{\\beta+T+t}\\right)^{s-1}\\right]
        """
        self._check_fitted()
        r, alpha, s, beta = self._params
        t = np.asarray(t, dtype=float)
        x, tx, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        palive = np.exp(self._log_palive(x, tx, big_t))
        growth = _one_minus_pow_over(np.log1p(t / (beta + big_t)), s - 1.0)
        return palive * (r + x) * (beta + big_t) / (alpha + big_t) * growth

    def conditional_expectation_function(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Callable[[float], FloatArray]:
        """``t -> E[Y(t) | x, t_x, T]`` with P(alive) (the costly part) computed once."""
        self._check_fitted()
        r, alpha, s, beta = self._params
        x, tx, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        scale = np.exp(self._log_palive(x, tx, big_t)) * (r + x) * (beta + big_t) / (alpha + big_t)

        def at(t: float) -> FloatArray:
            return scale * _one_minus_pow_over(np.log1p(t / (beta + big_t)), s - 1.0)

        return at

    def expected_time_to_next_purchase(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *, n: float = 1.0
    ) -> FloatArray:
        """Time from T until E[Y(t) | x, t_x, T] (eq. (41)) reaches ``n``, in closed form.

        With A = P(alive) (r+x)(beta+T)/(alpha+T), k = s - 1 and u = log(1 + t/(beta+T)),
        eq. (41) is A (1 - e^{-k u}) / k, so u = -log(1 - k n / A) / k (u = n / A at
        k = 0). For s > 1 the expectation is bounded by A / k: customers whose bound is
        below ``n`` never reach it and get ``inf``.
        """
        self._check_fitted()
        r, alpha, s, beta = self._params
        x, tx, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        palive = np.exp(self._log_palive(x, tx, big_t))
        k = s - 1.0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            scale = palive * (r + x) * (beta + big_t) / (alpha + big_t)
            u = n / scale if abs(k) < 1e-12 else -np.log1p(-k * n / scale) / k
            wait = (beta + big_t) * np.expm1(u)
        return np.where(np.isfinite(wait) & (wait >= 0), wait, np.inf)

    def predict(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Alias of :meth:`conditional_expected_number_of_purchases_up_to_time`."""
        return self.conditional_expected_number_of_purchases_up_to_time(t, frequency, recency, T)


def _one_minus_pow_over(log_ratio: FloatArray, k: float) -> FloatArray:
    """``(1 - exp(-k * log_ratio)) / k`` with its limit ``log_ratio`` at k = 0."""
    if abs(k) < 1e-12:
        return np.asarray(log_ratio, dtype=float)
    return -np.expm1(-k * log_ratio) / k
