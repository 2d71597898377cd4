"""BG/NBD, Pareto/NBD, Gamma-Gamma and CLV: published values, integrals and invariants.

Published parameters (CDNOW sample, 2,357 customers, 39-week calibration ending 1997-09-30):
- BG/NBD: Fader, Hardie & Lee (2005a), Marketing Science 24(2), Table/section 4:
  r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
- Pareto/NBD: same paper, r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669,
  LL = -9595.0.
- Gamma-Gamma: Fader, Hardie & Lee (2005b) / Fader & Hardie note 025 on the 946 repeat
  buyers' mean calibration spend: p = 6.25, q = 3.74, gamma = 15.44.
lifetimes 0.11.3 values (CLV, holdout figures) were computed on the same data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from scipy.special import gammaln, hyp2f1

from fideliza.analytics.models import (
    BetaGeoFitter,
    GammaGammaFitter,
    ParetoNBDFitter,
    customer_lifetime_value,
    lifetimes_units_per_month,
)
from fideliza.analytics.models._special import compress_rows, log1mexp, log_hyp2f1_a_b_aplus1
from fideliza.analytics.models.evaluation import cumulative_repeat_purchases, holdout_errors
from fideliza.analytics.summary import calibration_and_holdout_data
from fideliza.analytics.transactions import read_cdnow

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def cdnow_tx() -> pl.DataFrame:
    return read_cdnow(DATA / "CDNOW_sample.txt")


@pytest.fixture(scope="module")
def cdnow(cdnow_tx) -> pl.DataFrame:
    return calibration_and_holdout_data(
        cdnow_tx, calibration_end="1997-09-30", observation_end="1998-06-30", freq_multiplier=7
    )


def _xtT(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        frame["frequency_cal"].to_numpy().astype(float),
        frame["recency_cal"].to_numpy(),
        frame["T_cal"].to_numpy(),
    )


@pytest.fixture(scope="module")
def bgnbd(cdnow) -> BetaGeoFitter:
    return BetaGeoFitter().fit(*_xtT(cdnow))


@pytest.fixture(scope="module")
def paretonbd(cdnow) -> ParetoNBDFitter:
    return ParetoNBDFitter().fit(*_xtT(cdnow))


@pytest.fixture(scope="module")
def gammagamma(cdnow) -> GammaGammaFitter:
    rep = cdnow.filter(pl.col("frequency_cal") > 0)
    return GammaGammaFitter().fit(rep["frequency_cal"], rep["monetary_value_cal"])


def _within(params: dict[str, float], published: dict[str, float], rel: float = 0.01) -> None:
    for name, value in published.items():
        assert params[name] == pytest.approx(value, rel=rel), name


# -- published parameters ------------------------------------------------------------------
def test_bgnbd_cdnow_published(bgnbd):
    _within(bgnbd.params_, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    info = bgnbd.fit_info_
    assert info["success"] and info["penalizer_coef"] == 0.0 and info["warnings"] == []
    assert info["n_customers"] == 2357 and info["n_patterns"] < 2357
    # lifetimes 0.11.3 (BFGS + autograd) on the same summary, to 1e-5
    _within(
        bgnbd.params_, {"r": 0.2425945, "alpha": 4.4136027, "a": 0.7929218, "b": 2.4259057}, 1e-5
    )


def test_paretonbd_cdnow_published(paretonbd):
    _within(paretonbd.params_, {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669})
    assert paretonbd.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)
    assert paretonbd.fit_info_["success"]


def test_gammagamma_cdnow_published(gammagamma):
    _within(gammagamma.params_, {"p": 6.25, "q": 3.74, "v": 15.44})
    assert gammagamma.fit_info_["n_customers"] == 946
    # lifetimes 0.11.3 on the same data
    _within(gammagamma.params_, {"p": 6.249572, "q": 3.744225, "v": 15.443521}, 1e-5)


def test_bgnbd_weights_equal_repeated_rows(cdnow):
    x, tx, t = _xtT(cdnow)
    (xu, txu, tu), _, counts = compress_rows(x, tx, t)
    weighted = BetaGeoFitter().fit(xu, txu, tu, weights=counts)
    plain = BetaGeoFitter().fit(x, tx, t)
    _within(weighted.params_, plain.params_, 1e-7)


# -- likelihoods against direct numerical integration -------------------------------------
def _bgnbd_integral(r, alpha, a, b, x, tx, t):
    """L = E_p[E_lambda[(1-p)^x lambda^x e^{-lambda T} + d_{x>0} p (1-p)^{x-1} lambda^x e^{-lambda t_x}]].

    The gamma expectation E[lambda^x e^{-lambda u}] = Gamma(r+x)/Gamma(r) alpha^r /
    (alpha+u)^(r+x) is elementary; the beta mixing is integrated numerically.
    """
    lam = np.exp(gammaln(r + x) - gammaln(r) + r * np.log(alpha))

    def inner(p):
        like = (1 - p) ** x * (alpha + t) ** -(r + x)
        if x > 0:
            like += p * (1 - p) ** (x - 1) * (alpha + tx) ** -(r + x)
        return like * stats.beta.pdf(p, a, b)

    return lam * integrate.quad(inner, 0, 1, epsabs=1e-15, epsrel=1e-12, limit=200)[0]


def _pareto_integral(r, alpha, s, beta, x, tx, t):
    """Pareto/NBD log-likelihood from its definition, without hypergeometric functions.

    Given lambda and mu, L = lambda^x e^{-(lambda+mu)T} + lambda^x mu int_{t_x}^T
    e^{-(lambda+mu) tau} d tau (alive at T, or died unseen in (t_x, T]). Taking the gamma
    expectations inside the tau integral leaves a one-dimensional integral.
    """
    log_k = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)

    def inner(tau):  # scaled by (alpha + T)^(r + x) to stay finite for large x
        return s * ((alpha + t) / (alpha + tau)) ** (r + x) * (beta + tau) ** -(s + 1)

    alive = (beta + t) ** -s
    died = integrate.quad(inner, tx, t, epsabs=1e-15, epsrel=1e-12)[0] if t > tx else 0.0
    return log_k - (r + x) * np.log(alpha + t) + np.log(alive + died)


@pytest.mark.parametrize(("x", "tx", "t"), [(0, 0.0, 5.0), (1, 2.0, 6.0), (3, 4.5, 5.0)])
def test_bgnbd_loglik_equals_integral(x, tx, t):
    model = BetaGeoFitter()
    model._params = np.array([0.9, 2.5, 1.3, 2.2])
    direct = np.log(_bgnbd_integral(0.9, 2.5, 1.3, 2.2, x, tx, t))
    assert model.log_likelihood([x], [tx], [t])[0] == pytest.approx(direct, rel=1e-6)


@pytest.mark.parametrize(
    "params", [(0.9, 2.5, 1.4, 6.0), (1.2, 6.0, 0.8, 2.0), (1.0, 3.0, 0.7, 3.0)]
)
@pytest.mark.parametrize(("x", "tx", "t"), [(0, 0.0, 5.0), (2, 3.0, 6.0), (300, 5.9, 6.0)])
def test_paretonbd_loglik_equals_integral_both_branches(params, x, tx, t):
    """alpha < beta, alpha > beta and alpha == beta use different A_0 branches."""
    model = ParetoNBDFitter()
    model._params = np.array(params)
    direct = _pareto_integral(*params, x, tx, t)
    assert model.log_likelihood([x], [tx], [t])[0] == pytest.approx(direct, rel=1e-6)


def test_gammagamma_loglik_equals_integral():
    """Mean spend of x transactions is Gamma(p x, nu x); nu ~ Gamma(q, v)."""
    p, q, v, x, m = 3.0, 4.0, 12.0, 3.0, 20.0
    model = GammaGammaFitter()
    model._params = np.array([p, q, v])
    from fideliza.analytics.models.gammagamma import _loglik_rows

    def inner(nu):
        return stats.gamma.pdf(m, p * x, scale=1 / (nu * x)) * stats.gamma.pdf(nu, q, scale=1 / v)

    direct = np.log(integrate.quad(inner, 0, np.inf, epsabs=1e-15)[0])
    assert _loglik_rows(model._params, np.array([x]), np.array([m]))[0] == pytest.approx(
        direct, rel=1e-8
    )


def test_log_hyp2f1_matches_euler_integral_for_large_a():
    for a, b, z in [
        (2.5, 1.7, 0.3),
        (5000.5, 1.6, 0.9),
        (800.0, 790.0, 0.99),
        (3.0, 0.5, 0.0),
        (20000.0, 1.5, 0.9999),
    ]:
        w = z / (z - 1)
        inner = integrate.quad(
            lambda u, a=a, b=b, w=w: np.exp(
                np.log(a) + (a - 1) * np.log1p(-u) - b * np.log1p(-w * u)
            ),
            0,
            1,
            points=[1e-5, 1e-4, 1e-3, 1e-2, 1e-1],
            epsabs=0,
            epsrel=1e-13,
            limit=500,
        )[0]
        expected = -b * np.log1p(-z) + np.log(inner)
        assert log_hyp2f1_a_b_aplus1(a, b, z) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert log_hyp2f1_a_b_aplus1(2.5, 1.7, 0.3) == pytest.approx(np.log(hyp2f1(2.5, 1.7, 3.5, 0.3)))


def test_log1mexp():
    x = np.array([-1e-20, -1e-5, -0.5, -5.0, -800.0])
    np.testing.assert_allclose(
        log1mexp(x),
        [
            np.log(1e-20),
            np.log(-np.expm1(-1e-5)),
            np.log(1 - np.exp(-0.5)),
            np.log1p(-np.exp(-5.0)),
            -0.0,
        ],
    )


# -- closed forms, hand-computed ------------------------------------------------------------
def test_bgnbd_closed_forms_by_hand():
    r, alpha, a, b = 0.5, 3.0, 1.5, 4.0
    m = BetaGeoFitter()
    m._params = np.array([r, alpha, a, b])
    # P(alive) = 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) with x=2, t_x=4, T=10
    assert m.conditional_probability_alive(2, 4.0, 10.0) == pytest.approx(
        1 / (1 + 1.5 / 5.0 * (13 / 7) ** 2.5)
    )
    assert m.conditional_probability_alive(0, 0.0, 10.0) == 1.0
    # eq. (9) at t = 6
    expected = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + 6)) ** r * hyp2f1(r, b, a + b - 1, 6 / (alpha + 6)))
    )
    assert m.expected_number_of_purchases_up_to_time(6.0) == pytest.approx(expected, rel=1e-12)
    # eq. (10), t = 5, x = 2, t_x = 4, T = 10
    x, tx, t_, t = 2, 4.0, 10.0, 5.0
    num = (
        (a + b + x - 1)
        / (a - 1)
        * (
            1
            - ((alpha + t_) / (alpha + t_ + t)) ** (r + x)
            * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + t_ + t))
        )
    )
    den = 1 + a / (b + x - 1) * ((alpha + t_) / (alpha + tx)) ** (r + x)
    assert m.conditional_expected_number_of_purchases_up_to_time(t, x, tx, t_) == pytest.approx(
        num / den, rel=1e-12
    )


def test_bgnbd_expected_time_to_next_purchase(bgnbd, cdnow):
    x, tx, t = _xtT(cdnow)
    wait = bgnbd.expected_time_to_next_purchase(x, tx, t)
    finite = np.isfinite(wait)
    assert 0.3 < finite.mean() < 1.0
    at = bgnbd.conditional_expected_number_of_purchases_up_to_time(
        wait[finite], x[finite], tx[finite], t[finite]
    )
    np.testing.assert_allclose(at, 1.0, rtol=1e-8)
    horizon = 100 * t.max()
    never = bgnbd.conditional_expected_number_of_purchases_up_to_time(
        horizon, x[~finite], tx[~finite], t[~finite]
    )
    assert (never < 1).all()
    # independent reference: plain bisection on customer 1 (x=2, t_x=30.43, T=38.86)
    lo, hi = 0.0, horizon
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if bgnbd.conditional_expected_number_of_purchases_up_to_time(mid, x[0], tx[0], t[0]) >= 1:
            hi = mid
        else:
            lo = mid
    assert wait[0] == pytest.approx(hi, rel=1e-8)
    two = bgnbd.expected_time_to_next_purchase(x[:20], tx[:20], t[:20], n=2.0)
    assert np.all((two >= wait[:20]) | ~np.isfinite(wait[:20]))


def test_gammagamma_expected_profit_by_hand(gammagamma):
    p, q, v = (gammagamma.params_[k] for k in "pqv")
    got = gammagamma.conditional_expected_average_profit(
        np.array([0.0, 3.0]), np.array([0.0, 40.0])
    )
    assert got[0] == pytest.approx(p * v / (q - 1))
    assert got[1] == pytest.approx((v + 3 * 40.0) * p / (3 * p + q - 1))


# -- CLV and holdout against lifetimes 0.11.3 ---------------------------------------------------
def test_clv_matches_lifetimes(bgnbd, gammagamma, cdnow):
    x, tx, t = _xtT(cdnow)
    mv = cdnow["monetary_value_cal"].to_numpy()
    clv = gammagamma.customer_lifetime_value(
        bgnbd, x, tx, t, mv, time=12, discount_rate=0.01, units_per_month=4.345
    )
    # lifetimes: GammaGammaFitter.customer_lifetime_value(bgf, ..., freq="W") with defaults
    np.testing.assert_allclose(
        clv[[0, 1, 2, 5]], [36.27397745, 4.64093613, 8.34448097, 283.55810792], rtol=1e-5
    )
    assert clv.sum() == pytest.approx(71507.9533, rel=1e-5)
    assert lifetimes_units_per_month(7.0) == 4.345 and lifetimes_units_per_month(1.0) == 30.0
    # margin scales linearly, zero discount = undiscounted expected purchases x spend
    half = customer_lifetime_value(
        bgnbd,
        x[:5],
        tx[:5],
        t[:5],
        np.full(5, 10.0),
        margin=0.5,
        units_per_month=4.345,
        discount_rate=0.0,
    )
    purchases = bgnbd.conditional_expected_number_of_purchases_up_to_time(
        12 * 4.345, x[:5], tx[:5], t[:5]
    )
    np.testing.assert_allclose(half, 5.0 * purchases, rtol=1e-12)


def test_holdout_figures_match_lifetimes(bgnbd, paretonbd, cdnow, cdnow_tx):
    errors = holdout_errors(bgnbd, cdnow)
    assert errors["actual_total"] == 1882
    # lifetimes 0.11.3: MAE 0.785454, RMSE 1.607982, predicted total 1653.409
    assert errors["mae"] == pytest.approx(0.785454, abs=1e-5)
    assert errors["rmse"] == pytest.approx(1.607982, abs=1e-5)
    assert errors["predicted_total"] == pytest.approx(1653.409, abs=0.01)
    curve = cumulative_repeat_purchases(bgnbd, cdnow_tx, n_points=78, unit_days=7)
    assert curve.height == 78
    # lifetimes expected_cumulative_transactions(bgf, ..., t=546, freq="D", freq_multiplier=7)
    assert curve["actual"][38] == 2457 and curve["actual"][77] == 4339
    assert curve["predicted"][38] == pytest.approx(2501.526, abs=0.01)
    assert curve["predicted"][77] == pytest.approx(4165.664, abs=0.01)
    assert (np.diff(curve["actual"].to_numpy()) >= 0).all() and (
        np.diff(curve["predicted"].to_numpy()) > 0
    ).all()
    pn = holdout_errors(paretonbd, cdnow)
    assert pn["mae"] == pytest.approx(0.75453, abs=1e-4)  # lifetimes (Nelder-Mead): 0.754527


# -- penalties and degenerate data -----------------------------------------------------------------
def test_small_shop_gets_reported_weak_penalty():
    rng = np.random.default_rng(3)
    t = rng.uniform(10, 40, 40)
    x = rng.poisson(2, 40).astype(float)
    tx = np.where(x > 0, t * rng.uniform(0.2, 1, 40), 0.0)
    m = BetaGeoFitter().fit(x, tx, t)
    info = m.fit_info_
    assert info["penalizer_coef"] == 0.01 and "fewer than 200 customers" in info["penalty_reason"]
    assert any("weak penalty" in w for w in info["warnings"])
    assert all(np.isfinite(v) and v > 0 for v in m.params_.values())
    unpenalized = BetaGeoFitter(penalizer_coef=0.0).fit(x, tx, t)
    assert unpenalized.fit_info_["penalizer_coef"] == 0.0


def test_unidentified_data_reports_instead_of_failing():
    """Nobody ever came back: a and b are not identified; the fit must report, not raise."""
    t = np.linspace(5, 50, 500)
    m = BetaGeoFitter().fit(np.zeros(500), np.zeros(500), t)
    info = m.fit_info_
    assert info["penalizer_coef"] > 0
    assert info["penalty_reason"] and info["warnings"]
    assert np.isfinite(m.log_likelihood_)


def test_estimator_conventions():
    m = BetaGeoFitter(penalizer_coef=0.1)
    assert m.get_params() == {"penalizer_coef": 0.1, "tol": 1e-10, "max_iter": 2000,
                              "max_seconds": None}
    assert not hasattr(m, "fit_info_")
    with pytest.raises(RuntimeError, match="not fitted"):
        m.conditional_probability_alive(1, 1, 2)
    with pytest.raises(ValueError, match="recency"):
        m.fit([1, 0], [3.0, 0.0], [2.0, 4.0])
    assert m.set_params(penalizer_coef=0.0) is m and m.penalizer_coef == 0.0


# -- property tests ---------------------------------------------------------------------------------
_pos = st.floats(0.05, 20.0)
_hist = st.tuples(st.integers(0, 5000), st.floats(0.0, 1.0), st.floats(0.01, 500.0))


def _history(h):
    x, frac, t = h
    return float(x), (frac * t if x > 0 else 0.0), t


@settings(max_examples=150, deadline=None)
@given(r=_pos, alpha=_pos, a=_pos, b=_pos, h=_hist)
def test_bgnbd_invariants(r, alpha, a, b, h):
    m = BetaGeoFitter()
    m._params = np.array([r, alpha, a, b])
    x, tx, t = _history(h)
    p = m.conditional_probability_alive(x, tx, t)
    assert 0.0 <= p <= 1.0
    assert np.isfinite(m.log_likelihood([x], [tx], [t])[0])
    times = np.array([0.0, 0.5, 1.0, 5.0, 20.0, 100.0])
    e = m.conditional_expected_number_of_purchases_up_to_time(times, x, tx, t)
    assert np.all(np.isfinite(e)) and np.all(e >= -1e-12)
    assert np.all(np.diff(e) >= -1e-9 * np.maximum(1.0, e[1:]))


@settings(max_examples=150, deadline=None)
@given(r=_pos, alpha=_pos, s=_pos, beta=_pos, h=_hist)
def test_paretonbd_invariants(r, alpha, s, beta, h):
    m = ParetoNBDFitter()
    m._params = np.array([r, alpha, s, beta])
    x, tx, t = _history(h)
    p = m.conditional_probability_alive(x, tx, t)
    assert 0.0 <= p <= 1.0
    assert np.isfinite(m.log_likelihood([x], [tx], [t])[0])
    times = np.array([0.0, 0.5, 1.0, 5.0, 20.0, 100.0])
    e = m.conditional_expected_number_of_purchases_up_to_time(times, x, tx, t)
    assert np.all(np.isfinite(e)) and np.all(e >= 0)
    assert np.all(np.diff(e) >= -1e-9 * np.maximum(1.0, e[1:]))


def test_loglik_finite_for_extreme_frequency(bgnbd, paretonbd):
    x = np.array([5000.0, 5000.0, 20000.0])
    tx = np.array([38.86, 1.0, 38.5])
    t = np.array([38.86, 38.86, 38.86])
    assert np.all(np.isfinite(bgnbd.log_likelihood(x, tx, t)))
    assert np.all(np.isfinite(paretonbd.log_likelihood(x, tx, t)))
    assert np.all(
        (paretonbd.conditional_probability_alive(x, tx, t) >= 0)
        & (paretonbd.conditional_probability_alive(x, tx, t) <= 1)
    )
    # a heavy buyer who just bought is alive; one silent for 37 weeks is not
    p = paretonbd.conditional_probability_alive(x, tx, t)
    assert p[0] > 0.99 and p[1] < 1e-6


def test_expectation_function_matches_direct(bgnbd, paretonbd, cdnow):
    x, tx, t = _xtT(cdnow)
    for model in (bgnbd, paretonbd):
        at = model.conditional_expectation_function(x, tx, t)
        for horizon in (1.0, 13.0, 52.0):
            direct = model.conditional_expected_number_of_purchases_up_to_time(horizon, x, tx, t)
            np.testing.assert_allclose(at(horizon), direct, rtol=1e-12)


@pytest.mark.parametrize("penalizer", [0.0, 0.05])
def test_reported_log_likelihood_is_the_per_customer_sum(cdnow, penalizer):
    """log_likelihood_ comes from the optimiser's objective (rescaled data, penalty
    removed); it must equal the unpenalised per-customer sum at the fitted parameters."""
    from fideliza.analytics.models.gammagamma import _loglik_rows as gg_rows

    x, tx, t = _xtT(cdnow)
    bg = BetaGeoFitter(penalizer).fit(x, tx, t)
    assert bg.log_likelihood_ == pytest.approx(bg.log_likelihood(x, tx, t).sum(), rel=1e-10)
    m = cdnow["monetary_value_cal"].to_numpy()
    rep = (x > 0) & (m > 0)
    gg = GammaGammaFitter(penalizer).fit(x[rep], m[rep])
    params = np.array(list(gg.params_.values()))
    assert gg.log_likelihood_ == pytest.approx(gg_rows(params, x[rep], m[rep]).sum(), rel=1e-10)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.integers(0, 50).map(float), st.sampled_from([0.5, 1 / 7, 2 / 7, 1e9])),
        max_size=60,
    )
)
def test_unique_inverse_and_group_keys_match_numpy(values):
    from fideliza.analytics.models._special import group_keys, unique_inverse

    v = np.array(values, dtype=float)
    uniques, inverse = unique_inverse(v)
    expected, expected_inverse = np.unique(v, return_inverse=True)
    assert np.array_equal(uniques, expected)
    assert np.array_equal(inverse, expected_inverse.ravel())
    keys = np.rint(v * 7).astype(np.int64)
    first, groups, counts = group_keys(keys)
    distinct, expected_groups, expected_counts = np.unique(
        keys, return_inverse=True, return_counts=True
    )
    assert np.array_equal(keys[first], distinct)
    assert np.array_equal(groups, expected_groups.ravel())
    assert np.array_equal(counts, expected_counts)
