"""Numerical helpers shared by the models: log-space special functions and row compression."""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, hyp2f1, log_expit

__all__ = [
    "compress_rows",
    "group_keys",
    "log1mexp",
    "log_hyp2f1_a_b_aplus1",
    "log_power_product_integral",
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


# Gauss-Legendre rule of every panel of `log_power_product_integral`.
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(10)
#: The integrand is followed down to e^-46 (~1e-20) of its peak: the rest is below rounding.
_TAIL_LEVEL = 46.0
#: Panels end where the log-integrand has fallen by another 46/12 (~3.8) ...
_LEVELS = 12
#: ... at distances from the bend of sigma (where the slope changes) growing
#: geometrically, so the bend is resolved however long the window ...
_BEND = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
_BEND = np.concatenate([-_BEND[:0:-1], _BEND])
#: ... and are no longer than a quarter of the window.
_UNIFORM = 4
#: Newton steps per level (each step at least halves the distance to the root there).
_NEWTON_STEPS = 60


def _log1p_sig_expm1(
    sig: FloatArray, log_sig: FloatArray, log_1m_sig: FloatArray, d: FloatArray
) -> FloatArray:
    """``log(1 + sig * expm1(d)) = log(1 - sig + sig * e^d)`` for 0 < sig <= 1, any d.

    The log1p form is exact to rounding except where it overflows (d > 700) or where
    ``1 - sig + sig e^d`` is tiny (sig near 1, d << 0); the logaddexp form covers both.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        near = np.log1p(sig * np.expm1(np.minimum(d, 700.0)))
        wide = np.logaddexp(log_1m_sig, log_sig + d)
    return np.where((d > 700.0) | ((d < -1.0) & (sig > 0.5)), wide, near)


def _log_concave_piece(
    lam: FloatArray, e_far: FloatArray, logit_m: FloatArray, length: FloatArray, sgn: float
) -> FloatArray:
    """log of ``int_0^length exp(chi(t)) dt`` with ``chi(t) = psi(dm + sgn t) - psi(dm)``.

    ``psi(d) = lam d - e_far log(1 + s0 expm1(d))`` is concave and ``dm`` is its maximum
    over the window, so chi decreases from chi(0) = 0 (``logit_m`` is the logit of the
    bend variable sigma at dm; see `log_power_product_integral`). The integral is cut
    where chi reaches -46 and split into panels on which chi falls by at most ~3.8 and
    which resolve the bend of sigma, each integrated by 10-point Gauss-Legendre: a fixed,
    bounded amount of work per row whatever the parameters.
    """
    n = lam.size
    if n == 0:
        return np.zeros(0)
    col = (lambda v: v[:, None])  # noqa: E731
    sig, log_sig, log_1m = expit(logit_m), log_expit(logit_m), log_expit(-logit_m)

    def chi(t: FloatArray, rows: slice | np.ndarray = slice(None)) -> FloatArray:
        lam_r, far_r = col(lam[rows]), col(e_far[rows])
        d = sgn * t
        return sgn * lam_r * t - far_r * _log1p_sig_expm1(
            col(sig[rows]), col(log_sig[rows]), col(log_1m[rows]), d
        )

    def dchi(t: FloatArray, rows: slice | np.ndarray = slice(None)) -> FloatArray:
        return sgn * (col(lam[rows]) - col(e_far[rows]) * expit(col(logit_m[rows]) + sgn * t))

    # A point beyond the tail level (or the end of the window): grow a first guess from the
    # slope and curvature at the peak by factors of 16 (at most 260 rounds: 16^260 > 1e308).
    slope0 = np.abs(dchi(np.zeros((n, 1))))[:, 0]
    curv0 = e_far * sig * np.exp(log_1m)
    scale = 1.0 / np.maximum(np.maximum(slope0, np.sqrt(curv0)), 1e-300)
    hi = np.minimum(scale, length)
    open_rows = np.flatnonzero((hi < length) & (chi(col(hi))[:, 0] > -_TAIL_LEVEL))
    for _ in range(260):
        if open_rows.size == 0:
            break
        hi[open_rows] = np.minimum(hi[open_rows] * 16.0, length[open_rows])
        still = (hi[open_rows] < length[open_rows]) & (
            chi(col(hi[open_rows]), open_rows)[:, 0] > -_TAIL_LEVEL
        )
        open_rows = open_rows[still]
    # Where chi crosses each level: Newton from the right, which for a concave decreasing
    # function never overshoots the root (monotone convergence); levels not reached
    # inside the window end at the window's end.
    levels = _TAIL_LEVEL * np.arange(1, _LEVELS + 1) / _LEVELS
    hi_chi = chi(col(hi))[:, 0]
    t = np.broadcast_to(col(hi), (n, _LEVELS)).copy()
    reached = col(hi_chi) <= -levels[None, :]
    for _ in range(_NEWTON_STEPS):
        rows, cols = np.nonzero(reached)
        if rows.size == 0:
            break
        tv = t[rows, cols]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = chi(tv[:, None], rows)[:, 0] + levels[cols]
            step = f / dchi(tv[:, None], rows)[:, 0]
        step = np.where(np.isfinite(step) & (step >= 0), step, 0.0)
        new = np.maximum(tv - step, 0.0)
        t[rows, cols] = new
        done = step <= 1e-15 * np.maximum(new, 1e-300)
        reached[rows[done], cols[done]] = False
    end = t[:, -1]
    with np.errstate(invalid="ignore"):
        bend = col(-sgn * logit_m) + _BEND[None, :]
    uniform = col(end) * (np.arange(1, _UNIFORM) / _UNIFORM)[None, :]
    cuts = np.concatenate(
        [np.zeros((n, 1)), t, uniform, np.clip(np.nan_to_num(bend, nan=0.0), 0.0, col(end))],
        axis=1,
    )
    cuts.sort(axis=1)
    left, right = cuts[:, :-1], cuts[:, 1:]
    half = 0.5 * (right - left)
    nodes = (0.5 * (right + left))[:, :, None] + half[:, :, None] * _GL_NODES[None, None, :]
    values = np.exp(chi(nodes.reshape(n, -1))).reshape(nodes.shape)
    total = np.einsum("ijk,k,ij->i", values, _GL_WEIGHTS, half)
    with np.errstate(divide="ignore"):
        return np.log(total)


def log_power_product_integral(
    p: ArrayLike, q: ArrayLike, a: ArrayLike, b: ArrayLike, lo: ArrayLike, hi: ArrayLike
) -> FloatArray:
    r"""``log`` of :math:`\int_{lo}^{hi} (a + y)^{-p} (b + y)^{-q}\,dy`, vectorised.

    The integral behind the Pareto/NBD likelihood (the chance of dying unseen between the
    last purchase and the end, Fader & Hardie 2005 eq. (19)) and behind
    ``2F1(a, b; a + 1; z)``. Its hypergeometric form needs, as z -> 1, a number of
    series terms that grows like 1 / (1 - z) (without bound as the optimiser explores
    extreme parameters); this evaluation needs the same bounded work for every row.

    With ``u = log(min(a, b) + y)`` the integrand times ``dy/du`` is
    ``exp(lam u - e_far log(e^u + k))``, ``k = |a - b|``, which is log-concave in u (a
    single peak); it is integrated from the peak outwards on panels chosen from the
    function itself (see `_log_concave_piece`): relative accuracy ~1e-13.

    Parameters
    ----------
    p, q : array_like
        Exponents, ``p, q >= 0`` (``p + q > 1`` when ``hi`` is infinite).
    a, b : array_like
        Shifts, with ``a + lo > 0`` and ``b + lo > 0``.
    lo, hi : array_like
        Limits, ``lo <= hi <= inf``; ``lo == hi`` gives ``-inf``.

    Returns
    -------
    numpy.ndarray
        The logarithm of the integral.
    """
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (p, q, a, b, lo, hi)))
    shape = arrays[0].shape
    p_, q_, a_, b_, lo_, hi_ = (np.atleast_1d(v).ravel() for v in arrays)
    out = np.full(p_.size, -np.inf)
    ok = hi_ > lo_
    if not ok.any():
        return out.reshape(shape)
    p_, q_, a_, b_, lo_, hi_ = (v[ok] for v in (p_, q_, a_, b_, lo_, hi_))
    near_is_b = b_ <= a_
    e_near = np.where(near_is_b, q_, p_)
    e_far = np.where(near_is_b, p_, q_)
    base = np.minimum(a_, b_) + lo_
    k = np.abs(a_ - b_)
    far = base + k
    lam = 1.0 - e_near
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        logit0 = np.log(base) - np.log(k)  # sigma(d) = expit(d + logit0); +inf when k == 0
        width = np.log1p((hi_ - lo_) / base)
        # Peak of psi: psi'(d) = lam - e_far sigma(d) = 0 where sigma = lam / e_far.
        peak = np.log(lam) - np.log(e_far - lam) - logit0
        dm = np.where(lam <= e_far * expit(logit0), 0.0,
                      np.where(lam >= e_far, width, np.minimum(peak, width)))
        dm = np.clip(np.nan_to_num(dm, nan=0.0), 0.0, width)
        logit_m = logit0 + dm
        sig0 = expit(logit0)
        psi_m = lam * dm - e_far * _log1p_sig_expm1(sig0, log_expit(logit0), log_expit(-logit0), dm)
    right = _log_concave_piece(lam, e_far, logit_m, width - dm, 1.0)
    left = np.full(lam.size, -np.inf)
    inner = dm > 0
    if inner.any():
        left[inner] = _log_concave_piece(
            lam[inner], e_far[inner], logit_m[inner], dm[inner], -1.0
        )
    out[ok] = lam * np.log(base) - e_far * np.log(far) + psi_m + np.logaddexp(right, left)
    return out.reshape(shape)


def log_hyp2f1_a_b_aplus1_scipy(a: FloatArray, b: FloatArray, z: FloatArray) -> FloatArray:
    """`log_hyp2f1_a_b_aplus1` from SciPy's ``hyp2f1`` alone (1-D arrays): nan or inf
    where SciPy fails on both forms, for the caller to evaluate another way."""
    log1m_z = np.log1p(-z)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inner = np.log(hyp2f1(1.0, a + 1.0 - b, a + 1.0, z))
        bad = ~np.isfinite(inner)
        if np.any(bad):
            w = z[bad] / (z[bad] - 1.0)
            inner[bad] = np.log(hyp2f1(1.0, b[bad], a[bad] + 1.0, w)) - log1m_z[bad]
        return (1.0 - b) * log1m_z + inner


def log_hyp2f1_a_b_aplus1(a: ArrayLike, b: ArrayLike, z: ArrayLike) -> FloatArray:
    r"""``log 2F1(a, b; a + 1; z)`` for ``0 < b < a + 1`` and ``0 <= z < 1``.

    The Pareto/NBD likelihood needs this function with ``a = r + s + x``, which grows with
    the purchase count; the direct series then overflows or loses all precision as
    ``z -> 1``. Two Pfaff transformations (Abramowitz & Stegun 15.3.4) give

    .. math:: {}_2F_1(a, b; a+1; z) = (1-z)^{1-b}\,{}_2F_1(1, a+1-b; a+1; z)

    whose right-hand function is a series of positive terms decreasing at least as fast
    as z^n (no cancellation), and whose large factor is carried exactly in log-space. SciPy
    evaluates it; where SciPy returns nan/inf (extreme parameters), the Euler-transformed
    form ``(1-z)^{-b} 2F1(1, b; a+1; z/(z-1))`` is tried, and as a last resort the Euler
    integral

    .. math:: {}_2F_1(a, b; a+1; z) = a \int_0^\infty (1+u)^{-(a+1-b)} (1-z+u)^{-b}\,du

    is evaluated by `log_power_product_integral` (bounded work; summing the series there
    needs ~1/(1-z) terms, which is what made Pareto/NBD fits hang).

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
    out = log_hyp2f1_a_b_aplus1_scipy(a, b, z)
    bad = ~np.isfinite(out)
    if np.any(bad):
        ab, bb, zb = a[bad], b[bad], z[bad]
        out[bad] = np.log(ab) + log_power_product_integral(
            ab + 1.0 - bb, bb, 1.0, 1.0 - zb, 0.0, np.inf
        )
    return out.reshape(shape)


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
