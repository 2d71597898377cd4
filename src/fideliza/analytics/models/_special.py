"""Numerical helpers shared by the models: log-space special functions and row compression."""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray
from scipy.special import hyp2f1

__all__ = [
    "compress_rows",
    "group_keys",
    "log1mexp",
    "log_hyp2f1_a_b_aplus1",
    "softplus",
    "unique_inverse",
    "weighted_counts",
]

FloatArray = NDArray[np.float64]


def softplus(x: FloatArray) -> FloatArray:
    """``log(1 + exp(x))`` without overflow."""
    return np.logaddexp(0.0, x)


def log1mexp(x: FloatArray) -> FloatArray:
    """``log(1 - exp(x))`` for ``x <= 0``, accurate near 0 and for very negative x.

    Mächler, M. (2012). Accurately computing log(1 - exp(-|a|)). CRAN Rmpfr vignette.
    """
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > -np.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def _log_hyp2f1_1_beta_gamma_series(
    beta: FloatArray, gamma: FloatArray, z: FloatArray
) -> FloatArray:
    """log 2F1(1, beta; gamma; z) by its series, for 0 < beta < gamma and 0 <= z < 1.

    Every term is positive and the term ratio ``(beta + n) z / (gamma + n)`` is below z, so
    the sum is free of cancellation; it is summed in log-space in chunks until the terms
    are negligible. Used only where SciPy's ``hyp2f1`` returns nan/inf.
    """
    out = np.empty(beta.size)
    chunk = 65_536
    for i in range(beta.size):
        b_i, g_i, z_i = float(beta[i]), float(gamma[i]), float(z[i])
        if z_i == 0.0:
            out[i] = 0.0
            continue
        log_z = np.log(z_i)
        log_term, log_sum, n0 = 0.0, 0.0, 0
        while True:
            n = np.arange(n0, n0 + chunk, dtype=float)
            logs = log_term + np.cumsum(np.log(b_i + n) - np.log(g_i + n) + log_z)
            log_sum = np.logaddexp(log_sum, np.logaddexp.reduce(logs))
            log_term = float(logs[-1])
            n0 += chunk
            if log_term < log_sum - 40.0 or n0 > 50_000_000:
                break
        out[i] = log_sum
    return out


def log_hyp2f1_a_b_aplus1(a: ArrayLike, b: ArrayLike, z: ArrayLike) -> FloatArray:
    r"""``log 2F1(a, b; a + 1; z)`` for ``0 < b < a + 1`` and ``0 <= z < 1``.

    The Pareto/NBD likelihood needs this function with ``a = r + s + x``, which grows with
    the purchase count; the direct series then overflows or loses all precision as
    ``z -> 1``. Two Pfaff transformations (Abramowitz & Stegun 15.3.4) give

    .. math:: {}_2F_1(a, b; a+1; z) = (1-z)^{1-b}\,{}_2F_1(1, a+1-b; a+1; z)

    whose right-hand function is a series of positive terms decreasing at least as fast
    as z^n (no cancellation), and whose large factor is carried exactly in log-space. SciPy
    evaluates it; where SciPy returns nan/inf (extreme parameters), the Euler-transformed
    form ``(1-z)^{-b} 2F1(1, b; a+1; z/(z-1))`` is tried, and as a last resort the series
    is summed directly in log-space.

    Parameters
    ----------
    a, b : array_like
        Parameters, ``a > 0`` and ``0 < b < a + 1``.
    z : array_like
        Arguments in ``[0, 1)``.

    Returns
    -------
    numpy.ndarray
        The logarithm of the hypergeometric function.
    """
    a, b, z = np.broadcast_arrays(
        np.asarray(a, dtype=float), np.asarray(b, dtype=float), np.asarray(z, dtype=float)
    )
    shape = a.shape
    a, b, z = (np.atleast_1d(v).ravel() for v in (a, b, z))
    log1m_z = np.log1p(-z)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inner = np.log(hyp2f1(1.0, a + 1.0 - b, a + 1.0, z))
        bad = ~np.isfinite(inner)
        if np.any(bad):
            w = z[bad] / (z[bad] - 1.0)
            euler = np.log(hyp2f1(1.0, b[bad], a[bad] + 1.0, w)) - log1m_z[bad]
            inner[bad] = euler
            bad = ~np.isfinite(inner)
    if np.any(bad):
        inner[bad] = _log_hyp2f1_1_beta_gamma_series(a[bad] + 1.0 - b[bad], a[bad] + 1.0, z[bad])
    return ((1.0 - b) * log1m_z + inner).reshape(shape)


def weighted_counts(index: NDArray[np.intp], weights: ArrayLike, size: int) -> FloatArray:
    """``np.bincount(index, weights, minlength=size)``, typed as the float array it is."""
    return np.asarray(np.bincount(index, weights=weights, minlength=size), dtype=np.float64)


def unique_inverse(values: ArrayLike) -> tuple[FloatArray, NDArray[np.intp]]:
    """Sorted distinct values and each value's index among them (``np.unique``'s pair).

    The distinct values come from a hash (Polars) and each value's index from a hash join
    with them, about 3x cheaper than ``np.unique(..., return_inverse=True)``'s argsort of
    the whole column when values repeat a lot (times in days: 1.4M values, a few hundred
    distinct). Exact: every value is found among the distinct ones (-0.0 and 0.0 are
    one value, as for ``np.unique``).
    """
    v = np.asarray(values, dtype=float).ravel()
    if v.size and v.min() >= 0 and v.max() < 4 * v.size + 1024:
        as_int = v.astype(np.intp)
        if np.array_equal(as_int, v):
            # Small non-negative integers (purchase counts): a table lookup, no search.
            present = np.bincount(as_int) > 0
            position = np.cumsum(present) - 1
            return np.flatnonzero(present).astype(np.float64), position[as_int]
    if np.isnan(v).any():
        uniques = np.unique(v)
        return uniques, np.searchsorted(uniques, v).astype(np.intp)
    # Hash join of each value to its rank among the distinct ones (Polars, threaded).
    frame = pl.DataFrame({"v": v})
    distinct = frame.select(pl.col("v").unique().sort())
    ranks = frame.join(distinct.with_row_index("i"), on="v", how="left", maintain_order="left")
    return distinct["v"].to_numpy(), ranks["i"].to_numpy().astype(np.intp)


def group_keys(keys: np.ndarray) -> tuple[NDArray[np.intp], NDArray[np.intp], FloatArray]:
    """Group equal integer keys: (a member of each group, group of each key, group sizes).

    Groups come in ascending key order; Polars' threaded arg-sort orders the keys and a
    group is a run of equal keys.
    """
    n = keys.size
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), np.zeros(0)
    order = pl.Series(keys).arg_sort().to_numpy().astype(np.intp)
    ordered = keys[order]
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    counts = np.diff(np.append(np.flatnonzero(starts), n)).astype(np.float64)
    return order[starts], inverse, counts


def compress_rows(*columns: ArrayLike) -> tuple[list[FloatArray], NDArray[np.intp], FloatArray]:
    """Group identical rows of several equally long numeric columns.

    Fader and Hardie fit the BTYD models on the distinct ``(x, t_x, T)`` patterns weighted
    by how many customers share them; the likelihood is unchanged and far cheaper.

    Parameters
    ----------
    *columns : array_like
        Columns of equal length (floats or integers).

    Returns
    -------
    uniques : list of numpy.ndarray
        The distinct rows, one array per column.
    inverse : numpy.ndarray
        Index of each input row in ``uniques``.
    counts : numpy.ndarray
        How many input rows each distinct row stands for (float64 weights).
    """
    arrays = [np.ascontiguousarray(np.asarray(c, dtype=float)) for c in columns]
    n = arrays[0].shape[0]
    if n == 0:
        return [a[:0] for a in arrays], np.zeros(0, dtype=np.intp), np.zeros(0)
    frame = pl.DataFrame({f"c{i}": a for i, a in enumerate(arrays)})
    # A 64-bit hash groups the rows in one pass; the check below makes it exact.
    hashes = frame.select(pl.struct(frame.columns).hash(seed=0)).to_series()
    if hashes.n_unique() == n:
        # Already distinct (e.g. histories compressed by the caller): nothing to group.
        return arrays, np.arange(n, dtype=np.intp), np.ones(n)
    first, inverse, counts = group_keys(hashes.to_numpy())
    uniques = [a[first] for a in arrays]
    if not all(np.array_equal(u[inverse], a) for u, a in zip(uniques, arrays, strict=True)):
        # Hash collision (probability ~n^2 / 2^65): fall back to an exact lexicographic sort.
        stacked = np.column_stack(arrays)
        _, first, inverse, sizes = np.unique(
            stacked, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
        counts = sizes.astype(np.float64)
        uniques = [a[first] for a in arrays]
    return uniques, inverse.reshape(-1).astype(np.intp), counts
