"""Uplift against a holdout: reference intervals, coverage on simulated campaigns, edge
cases, the Spanish explanation, and the holdout assignment."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from fideliza.analytics import uplift as u

# Newcombe (1998), Table II, method 10; the same values from statsmodels 0.14
# `confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")`,
# computed once offline and pasted here.
NEWCOMBE_REFERENCE = [
    ((56, 70, 48, 80), (0.05243147240236498, 0.33387265403690614)),
    ((9, 10, 3, 10), (0.1705227239345029, 0.809017973535488)),
    ((6, 7, 2, 7), (0.05822792748231209, 0.8062496375242278)),
    ((5, 56, 0, 29), (-0.038137147903536936, 0.19256001385511165)),
    ((0, 10, 0, 20), (-0.1611251580528194, 0.27753279986288926)),
    ((0, 10, 0, 10), (-0.27753279986288926, 0.27753279986288926)),
    ((10, 10, 0, 20), (0.6790860371419145, 1.0)),
    ((10, 10, 0, 10), (0.6075093504305241, 1.0)),
    ((120, 2000, 20, 500), (-0.0030615884757352295, 0.03794444494772141)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_REFERENCE)
def test_newcombe_matches_reference(counts, expected):
    low, high = u.newcombe_interval(*counts)
    assert low == pytest.approx(expected[0], abs=1e-12)
    assert high == pytest.approx(expected[1], abs=1e-12)


def test_wilson_by_hand():
    # Wilson (1927) for 0 of 10 at 95 %: upper = z^2 / (n + z^2).
    z = stats.norm.ppf(0.975)
    assert u.wilson_interval(0, 10) == (0.0, pytest.approx(z * z / (10 + z * z)))
    low, high = u.wilson_interval(5, 10)
    assert low == pytest.approx(1 - high)  # symmetric at p = 1/2


def test_score_pvalue_matches_statsmodels():
    # statsmodels `test_proportions_2indep(120, 2000, 20, 500, method="score",
    # correction=False)`, computed offline.
    assert u.proportions_score_pvalue(120, 2000, 20, 500) == pytest.approx(0.0819077562612032, rel=1e-9)
    # and equals Pearson's chi-square without continuity correction
    table = [[120, 1880], [20, 480]]
    chi2 = stats.chi2_contingency(table, correction=False)
    assert u.proportions_score_pvalue(120, 2000, 20, 500) == pytest.approx(chi2.pvalue, rel=1e-9)


def test_welch_matches_scipy():
    a = np.array([0.0, 0.0, 22.96, 0.0, 15.61, 0.0, 26.59, 12.84, 0.0, 0.0, 33.96, 0.0])
    b = np.array([0.0, 67.27, 0.0, 0.0, 0.0, 31.99, 56.6, 0.0, 0.0])
    (low, high), p = u.welch_interval(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size)
    # scipy.stats.ttest_ind(a, b, equal_var=False) and its confidence_interval(0.95)
    assert p == pytest.approx(0.4360624729304216, rel=1e-9)
    assert low == pytest.approx(-29.82058691972545, rel=1e-9)
    assert high == pytest.approx(13.845031364169893, rel=1e-9)


def test_uplift_from_arrays_by_hand():
    treated = [True] * 10 + [False] * 5
    converted = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    revenue = [30.0, 20.0, 10.0] + [0.0] * 7 + [20.0, 0, 0, 0, 0]
    r = u.uplift(treated, converted, revenue)
    assert r.status == "ok"
    assert (r.treated_n, r.holdout_n, r.treated_conversions, r.holdout_conversions) == (10, 5, 3, 1)
    assert r.treated_rate == pytest.approx(0.3) and r.holdout_rate == pytest.approx(0.2)
    assert r.conversion_diff == pytest.approx(0.1)
    assert r.relative_lift == pytest.approx(0.5)
    assert r.conversion_diff_ci == pytest.approx(u.newcombe_interval(3, 10, 1, 5))
    assert r.incremental_conversions == pytest.approx(1.0)
    # revenue per recipient 6.0 vs 4.0 -> 2.0 per recipient, 20.0 in total
    assert r.revenue_diff_per_recipient == pytest.approx(2.0)
    assert r.incremental_revenue == pytest.approx(20.0)
    t = np.array(revenue[:10])
    h = np.array(revenue[10:])
    ref = stats.ttest_ind(t, h, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert r.revenue_diff_ci == pytest.approx((ci.low, ci.high))
    assert r.incremental_revenue_ci == pytest.approx((ci.low * 10, ci.high * 10))
    assert r.revenue_p_value == pytest.approx(ref.pvalue)
    assert not r.significant
    assert "no es estadísticamente significativa" in r.explanation


def test_significant_result_explained_in_spanish():
    r = u.uplift_from_stats(u.GroupStats(10_000, 800, 40_000.0, 4_000_000.0),
                            u.GroupStats(2_000, 100, 5_000.0, 500_000.0))
    assert r.significant and r.conversion_diff_ci[0] > 0
    assert r.p_value < 0.001
    assert r.explanation.startswith("Compró el 8,0 % de quienes recibieron los mensajes frente al 5,0 %")
    assert "3,0 puntos porcentuales" in r.explanation
    assert "es estadísticamente significativa (p < 0,001)" in r.explanation
    assert "unas 300 compras más de las que habría habido sin ellos (un 60 % más)." in r.explanation
    # 4.0 - 2.5 = 1.5 per recipient x 10,000 treated
    assert r.incremental_revenue == pytest.approx(15_000.0)
    assert "Ingresos incrementales estimados: 15.000,00 €" in r.explanation


def test_significance_needs_the_interval_and_the_test_to_agree():
    # 26/40 vs 4/12: Newcombe's interval just excludes 0, the score test's p is 0.0515.
    low, _high = u.newcombe_interval(26, 40, 4, 12)
    p = u.proportions_score_pvalue(26, 40, 4, 12)
    assert low > 0 and p > 0.05
    r = u.uplift_from_stats(u.GroupStats(40, 26), u.GroupStats(12, 4))
    assert not r.significant and "no es estadísticamente significativa" in r.explanation


def test_negative_effect_is_reported_as_fewer_purchases():
    r = u.uplift_from_stats(u.GroupStats(5000, 100), u.GroupStats(5000, 200))
    assert r.significant and r.conversion_diff_ci[1] < 0
    assert "compras menos" in r.explanation


@pytest.mark.parametrize(
    ("treated", "holdout", "status", "text"),
    [
        (u.GroupStats(100, 7, 70.0, 700.0), u.GroupStats(0, 0), "no_holdout", "Sin grupo de control"),
        (u.GroupStats(0, 0), u.GroupStats(50, 2), "no_treated", "Nadie recibió"),
        (u.GroupStats(0, 0), u.GroupStats(0, 0), "empty", "Sin datos"),
    ],
)
def test_empty_groups_do_not_divide_by_zero(treated, holdout, status, text):
    r = u.uplift_from_stats(treated, holdout)
    assert r.status == status and r.explanation.startswith(text)
    assert r.conversion_diff is None and r.conversion_diff_ci is None and r.p_value is None
    assert r.incremental_revenue is None and not r.significant
    if status == "no_holdout":
        assert r.treated_rate == pytest.approx(0.07)
        assert "compró el 7,0 %" in r.explanation


def test_all_or_nothing_conversions_and_single_recipients():
    nobody = u.uplift_from_stats(u.GroupStats(50, 0), u.GroupStats(20, 0))
    assert nobody.conversion_diff == 0 and nobody.p_value == 1.0 and nobody.relative_lift is None
    assert nobody.revenue_diff_ci == (0.0, 0.0)  # no variance anywhere: a point
    single = u.uplift([True, False], [1, 0], [12.5, 0.0])
    assert single.status == "ok" and single.revenue_diff_ci is None  # Welch needs two per group
    assert single.incremental_revenue == pytest.approx(12.5)
    assert "Ingresos incrementales estimados: 12,50 €." in single.explanation


def test_invalid_input_is_rejected():
    with pytest.raises(ValueError):
        u.uplift([True, False], [1, 2])
    with pytest.raises(ValueError):
        u.uplift([True, False], [1, 0], [1.0])
    with pytest.raises(ValueError):
        u.uplift([True], [1], [float("nan")])
    with pytest.raises(ValueError):
        u.GroupStats(3, 4)
    with pytest.raises(ValueError):
        u.uplift([True], [1], confidence=1.0)


def test_to_dict_is_json_ready():
    import json

    d = u.uplift([True, True, False, False], [1, 0, 0, 0], [5.0, 0, 0, 0]).to_dict()
    assert isinstance(d["conversion_diff_ci"], list)
    json.dumps(d)


def _coverage_tolerance(experiments: int, nominal: float) -> tuple[float, float]:
    low, high = stats.binom.interval(0.999, experiments, nominal)
    return low / experiments, high / experiments


@pytest.mark.parametrize(
    ("n_treated", "n_holdout", "p_treated", "p_holdout"),
    [
        (2000, 500, 0.07, 0.05),  # a typical campaign: 10-20 % holdout, a few % conversion
        (400, 100, 0.03, 0.01),  # small counts, rates near 0: where Wald's interval fails
    ],
)
def test_conversion_interval_covers_the_true_effect(n_treated, n_holdout, p_treated, p_holdout):
    """Issue 6 done-when: on simulated data with a known effect the 95 % interval covers
    the true effect; over 500 simulated campaigns the share that covers it must be within
    a 99.9 % binomial tolerance of 0.95."""
    rng = np.random.default_rng(20261203)
    experiments = 500
    true_diff = p_treated - p_holdout
    treated = np.r_[np.ones(n_treated, bool), np.zeros(n_holdout, bool)]
    covered = 0
    for _ in range(experiments):
        p = np.where(treated, p_treated, p_holdout)
        converted = rng.random(treated.size) < p
        r = u.uplift(treated, converted)
        low, high = r.conversion_diff_ci
        covered += low <= true_diff <= high
    lo, hi = _coverage_tolerance(experiments, 0.95)
    assert lo <= covered / experiments <= hi, covered / experiments


def test_revenue_interval_covers_the_true_effect():
    """Revenue per recipient: conversion x a skewed (gamma) basket; true means known."""
    rng = np.random.default_rng(7)
    experiments, n_t, n_h = 500, 2000, 500
    p_t, p_h, basket = 0.08, 0.05, 40.0  # gamma(shape 2, scale 20): mean 40
    true_diff = (p_t - p_h) * basket
    treated = np.r_[np.ones(n_t, bool), np.zeros(n_h, bool)]
    covered_rev = covered_total = 0
    for _ in range(experiments):
        converted = rng.random(treated.size) < np.where(treated, p_t, p_h)
        revenue = np.where(converted, rng.gamma(2.0, 20.0, treated.size), 0.0)
        r = u.uplift(treated, converted, revenue)
        covered_rev += r.revenue_diff_ci[0] <= true_diff <= r.revenue_diff_ci[1]
        covered_total += r.incremental_revenue_ci[0] <= true_diff * n_t <= r.incremental_revenue_ci[1]
    lo, hi = _coverage_tolerance(experiments, 0.95)
    assert lo <= covered_rev / experiments <= hi, covered_rev / experiments
    assert covered_total == covered_rev  # the same interval, scaled


def test_no_effect_is_rarely_called_significant():
    """With no true effect the interval excludes 0 about 5 % of the time (type I error)."""
    rng = np.random.default_rng(11)
    experiments = 500
    treated = np.r_[np.ones(1500, bool), np.zeros(300, bool)]
    significant = sum(u.uplift(treated, rng.random(treated.size) < 0.04).significant
                      for _ in range(experiments))
    _lo, hi = _coverage_tolerance(experiments, 0.05)
    assert significant / experiments <= hi


# -- holdout assignment --------------------------------------------------------------------


@pytest.mark.parametrize(("n", "share"), [(0, 0.1), (1, 0.1), (7, 0.5), (10, 0.1), (1001, 0.15),
                                          (5, 1.0), (5, 0.0), (20, 0.125)])
def test_holdout_is_exactly_sized(n, share):
    ids = np.arange(100, 100 + n)
    out = u.holdout_assign(ids, share, seed=42)
    assert out.dtype == np.bool_ and out.shape == (n,)
    assert int(out.sum()) == round(share * n)


def test_holdout_is_deterministic_and_order_free():
    ids = np.arange(1, 5001) * 7
    first = u.holdout_assign(ids, 0.1, seed=3)
    assert np.array_equal(first, u.holdout_assign(ids, 0.1, seed=3))
    perm = np.random.default_rng(0).permutation(ids.size)
    shuffled = u.holdout_assign(ids[perm], 0.1, seed=3)
    assert set(ids[perm][shuffled]) == set(ids[first])
    other = u.holdout_assign(ids, 0.1, seed=4)
    assert set(ids[other]) != set(ids[first])
    # no drift over the id range: each fifth of the ids gets about 10 % holdout
    low, high = stats.binom.interval(0.999, 1000, 0.1)
    for part in np.array_split(first, 5):
        assert low <= part.sum() <= high


def test_holdout_accepts_string_ids_and_rejects_bad_input():
    ids = [f"c-{i}" for i in range(40)]
    out = u.holdout_assign(ids, 0.25, seed=1)
    assert out.sum() == 10
    assert np.array_equal(out, u.holdout_assign(ids, 0.25, seed=1))
    with pytest.raises(ValueError):
        u.holdout_assign([1, 2, 2], 0.5, seed=1)
    with pytest.raises(ValueError):
        u.holdout_assign([1, 2], 1.5, seed=1)


def _splitmix64(x: int) -> int:
    # Plain-integer SplitMix64 (Steele, Lea & Flood 2014; Vigna's splitmix64.c).
    m = (1 << 64) - 1
    x = (x + 0x9E3779B97F4A7C15) & m
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & m
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & m
    return x ^ (x >> 31)


def test_holdout_hash_is_splitmix64():
    # A change of hash would silently move customers between the groups of a running
    # automation: the vectorised hash must equal the plain-integer definition.
    ids = [0, 1, 2, 3, 12345, 2**40 + 7]
    seed = 2026
    key = _splitmix64(seed)
    expected = [(_splitmix64(i ^ key) >> 11) / 2**53 for i in ids]
    assert u.holdout_hash(np.array(ids), seed=seed).tolist() == expected
    # Vigna's splitmix64.c from state 0: the first output is 0xE220A8397B1DCDAF.
    assert _splitmix64(0) == 0xE220A8397B1DCDAF


def test_holdout_member_one_at_a_time():
    ids = np.arange(20_000)
    member = u.holdout_member(ids, 0.1, seed=9)
    assert abs(member.mean() - 0.1) < 4 * math.sqrt(0.1 * 0.9 / ids.size)
    # the answer for one id does not depend on the batch it came in
    assert u.holdout_member(ids[:1], 0.1, seed=9)[0] == member[0]
    assert np.array_equal(u.holdout_member(ids[5000:6000], 0.1, seed=9), member[5000:6000])



# -- invariants (Hypothesis) ---------------------------------------------------------------

@st.composite
def _counts(draw):
    n1 = draw(st.integers(1, 5000))
    n2 = draw(st.integers(1, 5000))
    return draw(st.integers(0, n1)), n1, draw(st.integers(0, n2)), n2


@settings(max_examples=300, deadline=None)
@given(_counts(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_newcombe_interval_invariants(counts, confidence):
    x1, n1, x2, n2 = counts
    low, high = u.newcombe_interval(x1, n1, x2, n2, confidence)
    d = x1 / n1 - x2 / n2
    assert -1 <= low <= d <= high <= 1
    # a higher confidence never gives a narrower interval
    wider = u.newcombe_interval(x1, n1, x2, n2, min(0.999, confidence + 0.009))
    assert wider[0] <= low + 1e-12 and wider[1] >= high - 1e-12
    # swapping the groups mirrors the interval
    m_low, m_high = u.newcombe_interval(x2, n2, x1, n1, confidence)
    assert m_low == pytest.approx(-high, abs=1e-12) and m_high == pytest.approx(-low, abs=1e-12)
    assert 0 <= u.proportions_score_pvalue(x1, n1, x2, n2) <= 1


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3000), st.floats(0, 1), st.integers(0, 2**63 - 1))
def test_holdout_size_invariant(n, share, seed):
    out = u.holdout_assign(np.arange(n) * 3 + 1, share, seed)
    assert out.sum() == round(share * n)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.floats(0, 1e5)), max_size=60))
def test_uplift_never_fails_on_any_recipients(rows):
    treated = [r[0] for r in rows]
    converted = [r[1] for r in rows]
    revenue = [r[2] if r[1] else 0.0 for r in rows]
    res = u.uplift(treated, converted, revenue)
    assert res.explanation
    if res.status == "ok":
        low, high = res.conversion_diff_ci
        assert low <= res.conversion_diff <= high
        if res.revenue_diff_ci is not None:
            r_low, r_high = res.revenue_diff_ci
            assert r_low <= res.revenue_diff_per_recipient + 1e-6 and res.revenue_diff_per_recipient <= r_high + 1e-6
    else:
        assert res.conversion_diff is None


def test_welch_interval_with_vanishing_variance_does_not_divide_by_zero():
    """The case Hypothesis found: one group's variance so small its square underflows."""
    ci, p = u.welch_interval(0.0, 0.0, 2, 3.784661543183767e-98, 2.8647325992908267e-195, 2)
    assert ci[0] <= -3.78e-98 <= ci[1] and 0.0 <= p <= 1.0
