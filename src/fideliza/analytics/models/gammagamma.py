"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV").

A customer's transaction values are Gamma(p, nu) around their mean p/nu, with
nu ~ Gamma(q, gamma) across customers (lifetimes and this module call gamma ``v``). Fitted
on the customers with at least one repeat purchase: x = number of repeat transactions and
m = their mean value (``monetary_value`` of the summary).

Data behind the published CDNOW estimates (p = 6.25, q = 3.74, gamma = 15.44; Fader,
Hardie & Lee 2005b and note 025; lifetimes' documentation reproduces them): the 946
customers of the 2,357-customer CDNOW sample with at least one repeat purchase in the
39-week calibration period (to 1997-09-30), m = mean value of their repeat purchases in
that period, where purchases on the same day are one transaction whose value is the sum
(lifetimes' ``summary_data_from_transaction_data`` with ``freq="D"``; the
``zbar`` column of the CDNOW summary file). That is exactly
``calibration_and_holdout_data(cdnow, calibration_end="1997-09-30", freq_multiplier=7)``
here, and the test suite checks the fit against the published values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, psi

from fideliza.analytics.models._base import BaseFitter, FloatArray, warm_start, wdot
from fideliza.analytics.models._special import unique_inverse, weighted_counts

if TYPE_CHECKING:
    from fideliza.analytics.models.clv import TransactionModel

__all__ = ["GammaGammaFitter"]

WARM_START_ROWS = 150_000


def _neg_mean_loglik(
    phi: FloatArray,
    xu: FloatArray,
    xi: np.ndarray,
    wx: FloatArray,
    xm: FloatArray,
    w: FloatArray,
    w_x: FloatArray,
    const: float,
    total: float,
    coef: float,
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood of Fader, Hardie & Lee (2005b) eq. (1a), with gradient.

    .. math:: \\ell = \\log\\Gamma(px+q) - \\log\\Gamma(px) - \\log\\Gamma(q) + q\\log v
              + (px-1)\\log m + px\\log x - (px+q)\\log(xm+v)

    ``const`` carries the parameter-free sums; terms in x alone are evaluated once per
    distinct x (``xu`` with total weights ``wx``). Per customer only ``log(xm + v)`` and
    ``1 / (xm + v)`` are evaluated, with ``xm = x m`` and ``w_x = w x`` precomputed, and
    each enters the value and the gradient through two weighted sums (``w`` and ``w_x``).
    """
    p, q, v = np.exp(phi)
    pxu = p * xu
    shifted = xm + v
    log_s = np.log(shifted)
    sum_wx_log, sum_w_log = wdot(w_x, log_s), wdot(w, log_s)
    inv_s = np.reciprocal(shifted, out=shifted)
    sum_wx_inv, sum_w_inv = wdot(w_x, inv_s), wdot(w, inv_s)
    ll = float(wdot(wx, gammaln(pxu + q) - gammaln(pxu) - gammaln(q) + q * np.log(v)))
    ll += p * const - (p * sum_wx_log + q * sum_w_log)
    d_common = psi(pxu + q)
    g_p = float(wdot(wx, xu * (d_common - psi(pxu)))) + const - sum_wx_log
    g_q = float(wdot(wx, d_common - psi(q) + np.log(v))) - sum_w_log
    g_v = float(wx.sum() * q / v) - (p * sum_wx_inv + q * sum_w_inv)
    value = -ll / total + coef * float(float(phi @ phi))
    if not np.isfinite(value):
        return float("inf"), np.zeros(3)
    grad = -np.array([g_p * p, g_q * q, g_v * v]) / total + 2.0 * coef * phi
    return value, grad


def _loglik_rows(params: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
    p, q, v = params
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m + v)
    )


class GammaGammaFitter(BaseFitter):
    """Gamma-Gamma spend model, fitted by maximum likelihood.

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
        ``p``, ``q``, ``v`` (v, the paper's gamma, in money units).
    log_likelihood_, standard_errors_, fit_info_
        As for :class:`~fideliza.analytics.models.bgnbd.BetaGeoFitter`.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value
    curves for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.
    Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
    http://brucehardie.com/notes/025/
    """

    param_names = ("p", "q", "v")
    shape_params = (0, 1)

    def fit(
        self,
        frequency: ArrayLike,
        monetary_value: ArrayLike,
        weights: ArrayLike | None = None,
        *,
        seed: int = 0,
    ) -> GammaGammaFitter:
        """Estimate ``p, q, v`` from repeat customers' frequency and mean spend.

        Rows with ``frequency == 0`` or ``monetary_value <= 0`` carry no information for
        (or are impossible under) the model; they are dropped and counted in
        ``fit_info_["dropped_rows"]``. Money is rescaled by its weighted mean while
        optimising (``v`` is scaled back; the optimum is unchanged).

        Parameters
        ----------
        frequency : array_like
            Number of repeat transactions x.
        monetary_value : array_like
            Mean value m of those transactions.
        weights : array_like, optional
            Number of customers each row stands for.
        seed : int
            Seed of the subsample used to warm-start very large fits.

        Returns
        -------
        GammaGammaFitter
            ``self``, fitted.
        """
        x = np.asarray(frequency, dtype=float).ravel()
        m = np.asarray(monetary_value, dtype=float).ravel()
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
        if not (x.size == m.size == w.size):
            raise ValueError("frequency, monetary_value and weights must have the same length")
        keep = (x > 0) & (m > 0) & np.isfinite(m) & (w > 0)
        dropped = int((~keep).sum())
        x, m, w = x[keep], m[keep], w[keep]
        if x.size == 0:
            raise ValueError("no repeat customers with positive spend to fit")
        scale = float(wdot(w, m) / w.sum())
        ms = m / scale
        total = float(w.sum())
        xu, xi = unique_inverse(x)
        wx = weighted_counts(xi, w, xu.size)
        const = float(wdot(w * x, np.log(ms) + np.log(x)))
        # (px - 1) log m = p * x log m - log m; the "- log m" part does not depend on params.
        data = (xu, xi, wx, x * ms, w, w * x, const, total)

        def make_objective(coef: float):
            return lambda phi: _neg_mean_loglik(phi, *data, coef)

        x0 = np.zeros(3)
        warm = None
        if x.size > WARM_START_ROWS:
            rng = np.random.default_rng(seed)
            idx = np.sort(rng.choice(x.size, WARM_START_ROWS // 3, replace=False))
            sx, sm, sw = x[idx], ms[idx], w[idx]
            sxu, sxi = unique_inverse(sx)
            sub = (
                sxu,
                sxi,
                weighted_counts(sxi, sw, sxu.size),
                sx * sm,
                sw,
                sw * sx,
                float(wdot(sw * sx, np.log(sm) + np.log(sx))),
                float(sw.sum()),
            )

            def warm(coef: float) -> tuple[FloatArray, FloatArray]:
                return warm_start(lambda phi: _neg_mean_loglik(phi, *sub, coef), x0)

        attempt = self._run(make_objective, x0, round(total), warm)
        params = np.exp(attempt.phi)
        params[2] *= scale
        # The objective is the mean NLL of the rescaled money without its parameter-free
        # "- log m" part; the density of m is that of m / scale divided by scale.
        penalty = attempt.penalizer * float(attempt.phi @ attempt.phi)
        ll = -(attempt.value - penalty) * total - float(wdot(w, np.log(m)))
        self._finish(attempt, params, ll, total, np.ones(3))
        self.fit_info_["dropped_rows"] = dropped
        if dropped:
            self.fit_info_["warnings"].append(
                f"{dropped} rows without repeat purchases or with non-positive spend ignored"
            )
        if params[1] <= 1:
            self.fit_info_["warnings"].append(
                "q <= 1: the population mean spend is undefined; expected spend falls back "
                "to the customer's own mean"
            )
        return self

    def conditional_expected_average_profit(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> FloatArray:
        """E[M | x, m]: expected mean spend per transaction, FHL (2005b) eq. (5).

        .. math:: \\frac{(v + x m)\\,p}{p x + q - 1}
                  = \\left(\\frac{q-1}{px+q-1}\\right)\\frac{pv}{q-1}
                    + \\left(\\frac{px}{px+q-1}\\right) m

        a weighted average of the population mean and the customer's own mean. For x = 0
        it is the population mean ``p v / (q - 1)``. When q <= 1 the population mean does
        not exist and the customer's own mean is returned.
        """
        self._check_fitted()
        p, q, v = self._params
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        if q <= 1:
            return np.asarray(m, dtype=float).copy()
        return (v + x * m) * p / (p * x + q - 1.0)

    def customer_lifetime_value(
        self,
        transaction_model: TransactionModel,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        monetary_value: ArrayLike,
        *,
        time: int = 12,
        discount_rate: float = 0.01,
        units_per_month: float = 30.0,
        margin: ArrayLike = 1.0,
    ) -> FloatArray:
        """Discounted CLV over ``time`` months, lifetimes' ``customer_lifetime_value``.

        See :func:`fideliza.analytics.models.clv.customer_lifetime_value`; the spend per
        transaction is :meth:`conditional_expected_average_profit`.
        """
        from fideliza.analytics.models.clv import customer_lifetime_value

        spend = self.conditional_expected_average_profit(frequency, monetary_value)
        return customer_lifetime_value(
            transaction_model,
            frequency,
            recency,
            T,
            spend,
            time=time,
            discount_rate=discount_rate,
            units_per_month=units_per_month,
            margin=margin,
        )
