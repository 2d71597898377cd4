"""Pareto/NBD's likelihood computed once per distinct (x, t_x) and (x, T) pair equals the
row-by-row computation exactly, in the usual region, where SciPy's 2F1 is replaced by the
integral (large x with z near 1), and where the two terms nearly cancel (t_x close to T)."""

from __future__ import annotations

import numpy as np
import pytest

from fideliza.analytics.models.paretonbd import _loglik_rows, _Pairs


def rows(seed: int, n: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = rng.integers(1, 730, n).astype(float)                 # days since the first purchase
    x = rng.poisson(3, n).astype(float)
    x[:50] = rng.integers(100, 400, 50)                        # heavy buyers: c >= 90
    tx = np.where(x > 0, np.floor(rng.uniform(0, 1, n) * t), 0.0)
    tx[50:80] = t[50:80] - 1e-9 * t[50:80]                     # t_x a hair before T
    return x, tx, t


@pytest.mark.parametrize("params", [
    (0.55, 10.6, 0.61, 11.7),     # CDNOW-like, alpha < beta
    (0.9, 40.0, 0.3, 2.0),        # alpha > beta
    (2.5, 1.0, 50.0, 0.9),        # an optimiser's extreme step: z near 1 with large c
    (0.2, 300.0, 0.05, 290.0),
])
@pytest.mark.parametrize("seed", [1, 2])
def test_grouped_equals_row_by_row(params, seed):
    x, tx, t = rows(seed)
    p = np.asarray(params)
    expected = _loglik_rows(p, x, tx, t)
    got = _loglik_rows(p, x, tx, t, _Pairs.of(x, tx, t))
    np.testing.assert_array_equal(got, expected)


def test_daily_histories_have_far_fewer_pairs_than_patterns():
    """Customers who joined on one of 730 days and bought a few times: the pairs (what the
    fit evaluates 2F1 on) are a fraction of the (x, t_x, T) patterns."""
    rng = np.random.default_rng(7)
    n = 50_000
    t = rng.integers(1, 730, n).astype(float)
    x = np.minimum(rng.poisson(2, n), 30).astype(float)
    tx = np.where(x > 0, np.floor(rng.uniform(0, 1, n) * t), 0.0)
    patterns = np.unique(np.column_stack([x, tx, t]), axis=0).shape[0]
    pairs = _Pairs.of(x, tx, t)
    assert pairs.tx.size + pairs.t.size < patterns / 2
