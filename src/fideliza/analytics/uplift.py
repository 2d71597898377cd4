"""Incremental effect of a campaign or automation measured against a random holdout group.

A campaign or automation keeps a random *holdout* (a share of its audience that receives
nothing); what the messages earned is what the treated group did beyond the holdout.

Conversion
    Rates ``p_t = x_t / n_t`` and ``p_h = x_h / n_h``; the absolute incremental conversion
    is ``d = p_t - p_h``. Its interval is Newcombe's *hybrid score* interval (method 10 of
    R. G. Newcombe, "Interval estimation for the difference between independent
    proportions: comparison of eleven methods", Statistics in Medicine 17 (1998) 873-890):
    with ``(l_i, u_i)`` the Wilson score interval of each rate,
    ``d - sqrt((p_t - l_t)^2 + (u_h - p_h)^2) <= d <= d + sqrt((u_t - p_t)^2 + (p_h - l_h)^2)``.
    Unlike the Wald interval it keeps its coverage at small counts and at rates near 0,
    which is where campaign conversion rates live. The p-value is the pooled two-sample
    score test (Pearson's chi-square without continuity correction). Relative lift is
    ``d / p_h`` (undefined when the holdout did not convert).

Revenue
    Revenue per recipient (0 for those who did not buy) is compared by its difference of
    means with Welch's unequal-variance t interval and test (B. L. Welch, Biometrika 34
    (1947) 28-35). The total incremental revenue is that difference times the treated
    group's size, with the interval scaled alike.

The core works on sufficient statistics (:class:`GroupStats`: size, conversions, revenue
sum and sum of squares), so a caller can aggregate in SQL; :func:`uplift` builds them from
per-recipient arrays. Money is float inside; the caller turns results into ``Decimal``
(``Decimal(str(round(value, 2)))``). A result is "significant" when the conversion
interval excludes zero *and* the score test rejects equal rates at the same level: at
small counts the two can disagree (about 2 % of cases), and the results page must not
call a difference significant next to a p-value above 0.05.

Holdout assignment
    :func:`holdout_assign` marks exactly ``round(share * n)`` ids (Python's ``round``) as
    holdout: those with the smallest keyed hash of ``(seed, id)``, so the assignment does
    not depend on the order of the ids. :func:`holdout_member` is the one-at-a-time variant
    for automations (each id is in the holdout when its hash is below ``share``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = [
    "GroupStats",
    "UpliftResult",
    "holdout_assign",
    "holdout_hash",
    "holdout_member",
    "newcombe_interval",
    "proportions_score_pvalue",
    "uplift",
    "uplift_from_stats",
    "welch_interval",
    "wilson_interval",
]

Interval = tuple[float, float]


# -- intervals and tests ------------------------------------------------------------------


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError("confidence must be strictly between 0 and 1")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval of a proportion (E. B. Wilson, JASA 22 (1927) 209-212).

    ``n`` must be positive; the bounds stay inside [0, 1].
    """
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    z = _z(confidence)
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # At p = 0 or 1 the exact bound is 0 or 1; floating point may miss it by an ulp.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95) -> Interval:
    """Newcombe's hybrid score interval for ``x1/n1 - x2/n2`` (method 10, see module doc).

    Checked against Newcombe (1998) Table II and statsmodels'
    ``confint_proportions_2indep(method="newcomb")``.
    """
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


def proportions_score_pvalue(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the pooled score test of ``p1 == p2`` (1.0 when undefined:
    both groups converted all or none)."""
    pooled = (x1 + x2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var <= 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / math.sqrt(var)
    return float(2 * stats.norm.sf(abs(z)))


def welch_interval(
    mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int, confidence: float = 0.95
) -> tuple[Interval, float]:
    """Welch's interval for ``mean1 - mean2`` and the two-sided p-value of the t test.

    ``var1``, ``var2`` are sample variances (ddof 1); each group needs ``n >= 2``. With
    no variance in either group the interval is the single point and the p-value is 1 when
    the means are equal, 0 otherwise.
    """
    if n1 < 2 or n2 < 2:
        raise ValueError("Welch's interval needs at least two values per group")
    d = mean1 - mean2
    a, b = var1 / n1, var2 / n2
    se2 = a + b
    if se2 <= 0:
        return (d, d), (1.0 if d == 0 else 0.0)
    # Welch–Satterthwaite in shares of se² (each in [0, 1]): the textbook form squares tiny
    # variances and underflows to 0/0 (found by Hypothesis with revenues near 1e-98).
    wa, wb = a / se2, b / se2
    df = 1.0 / (wa * wa / (n1 - 1) + wb * wb / (n2 - 1))
    se = math.sqrt(se2)
    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    p = float(2 * stats.t.sf(abs(d / se), df))
    return (d - t * se, d + t * se), p


# -- group statistics and the result ------------------------------------------------------


@dataclass(frozen=True)
class GroupStats:
    """Sufficient statistics of one group.

    Attributes
    ----------
    n : int
        Recipients in the group.
    conversions : int
        Recipients who converted (bought within the attribution window).
    revenue_sum, revenue_sumsq : float
        Sum of revenue per recipient and of its squares (0 for those who did not buy).
    """

    n: int
    conversions: int
    revenue_sum: float = 0.0
    revenue_sumsq: float = 0.0

    def __post_init__(self) -> None:
        if self.n < 0 or not 0 <= self.conversions <= self.n:
            raise ValueError("need 0 <= conversions <= n")

    @classmethod
    def from_arrays(cls, converted: ArrayLike, revenue: ArrayLike | None = None) -> GroupStats:
        conv = np.asarray(converted, dtype=bool)
        rev = np.zeros(conv.shape) if revenue is None else np.asarray(revenue, dtype=np.float64)
        if rev.shape != conv.shape:
            raise ValueError("converted and revenue must have the same length")
        return cls(n=int(conv.size), conversions=int(conv.sum()),
                   revenue_sum=float(rev.sum()), revenue_sumsq=float(np.dot(rev, rev)))

    @property
    def rate(self) -> float | None:
        return self.conversions / self.n if self.n else None

    @property
    def revenue_mean(self) -> float | None:
        return self.revenue_sum / self.n if self.n else None

    @property
    def revenue_var(self) -> float | None:
        """Sample variance (ddof 1) of revenue per recipient; None below two recipients."""
        if self.n < 2:
            return None
        return max(0.0, (self.revenue_sumsq - self.revenue_sum**2 / self.n) / (self.n - 1))


@dataclass(frozen=True)
class UpliftResult:
    """What the messages added over the holdout.

    Attributes
    ----------
    status : str
        ``"ok"``; ``"no_holdout"`` (empty holdout: nothing incremental can be measured);
        ``"no_treated"`` (nobody received the messages); ``"empty"`` (both groups empty).
    treated_n, holdout_n, treated_conversions, holdout_conversions : int
    treated_rate, holdout_rate : float or None
        Conversion rates (fractions); None for an empty group.
    conversion_diff : float or None
        Absolute incremental conversion ``p_t - p_h`` (a fraction: 0.011 = 1.1 points).
    conversion_diff_ci : (float, float) or None
        Newcombe's hybrid score interval at ``confidence``.
    relative_lift : float or None
        ``conversion_diff / holdout_rate``; None when the holdout did not convert.
    incremental_conversions, incremental_conversions_ci
        ``conversion_diff`` (and its interval) times ``treated_n``.
    p_value : float or None
        Pooled score test of equal conversion rates.
    treated_revenue_per_recipient, holdout_revenue_per_recipient : float or None
    revenue_diff_per_recipient, revenue_diff_ci : float, (float, float) or None
        Difference of mean revenue per recipient and its Welch interval (the interval needs
        two recipients per group).
    revenue_p_value : float or None
        Welch's t test of equal mean revenue.
    incremental_revenue, incremental_revenue_ci
        Per-recipient difference (and interval) times ``treated_n``.
    significant : bool
        The conversion interval excludes zero and ``p_value < 1 - confidence``.
    confidence : float
    explanation : str
        One or two plain Spanish sentences for the results page.
    """

    status: str
    confidence: float
    treated_n: int
    holdout_n: int
    treated_conversions: int
    holdout_conversions: int
    treated_rate: float | None = None
    holdout_rate: float | None = None
    conversion_diff: float | None = None
    conversion_diff_ci: Interval | None = None
    relative_lift: float | None = None
    incremental_conversions: float | None = None
    incremental_conversions_ci: Interval | None = None
    p_value: float | None = None
    treated_revenue_per_recipient: float | None = None
    holdout_revenue_per_recipient: float | None = None
    revenue_diff_per_recipient: float | None = None
    revenue_diff_ci: Interval | None = None
    revenue_p_value: float | None = None
    incremental_revenue: float | None = None
    incremental_revenue_ci: Interval | None = None
    significant: bool = False
    explanation: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (intervals as two-item lists), e.g. for a results JSONField."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def uplift_from_stats(
    treated: GroupStats, holdout: GroupStats, *, confidence: float = 0.95,
    currency_symbol: str = "€",
) -> UpliftResult:
    """Compare the treated group with the holdout (see the module docstring)."""
    _z(confidence)  # validates
    base: dict[str, Any] = {
        "confidence": confidence, "treated_n": treated.n, "holdout_n": holdout.n,
        "treated_conversions": treated.conversions, "holdout_conversions": holdout.conversions,
        "treated_rate": treated.rate, "holdout_rate": holdout.rate,
        "treated_revenue_per_recipient": treated.revenue_mean,
        "holdout_revenue_per_recipient": holdout.revenue_mean,
    }
    if treated.n == 0 or holdout.n == 0:
        status = ("empty" if treated.n == holdout.n == 0
                  else "no_holdout" if holdout.n == 0 else "no_treated")
        result = UpliftResult(status=status, **base)
        return _with_explanation(result, currency_symbol)

    x_t, n_t, x_h, n_h = treated.conversions, treated.n, holdout.conversions, holdout.n
    diff = x_t / n_t - x_h / n_h
    ci = newcombe_interval(x_t, n_t, x_h, n_h, confidence)
    p_value = proportions_score_pvalue(x_t, n_t, x_h, n_h)
    rev_diff = treated.revenue_sum / n_t - holdout.revenue_sum / n_h
    rev_ci: Interval | None = None
    rev_p: float | None = None
    if n_t >= 2 and n_h >= 2:
        rev_ci, rev_p = welch_interval(
            treated.revenue_sum / n_t, treated.revenue_var or 0.0, n_t,
            holdout.revenue_sum / n_h, holdout.revenue_var or 0.0, n_h, confidence)
    result = UpliftResult(
        status="ok", **base,
        conversion_diff=diff,
        conversion_diff_ci=ci,
        relative_lift=diff / (x_h / n_h) if x_h else None,
        incremental_conversions=diff * n_t,
        incremental_conversions_ci=(ci[0] * n_t, ci[1] * n_t),
        p_value=p_value,
        revenue_diff_per_recipient=rev_diff,
        revenue_diff_ci=rev_ci,
        revenue_p_value=rev_p,
        incremental_revenue=rev_diff * n_t,
        incremental_revenue_ci=None if rev_ci is None else (rev_ci[0] * n_t, rev_ci[1] * n_t),
        significant=(ci[0] > 0 or ci[1] < 0) and p_value < 1 - confidence,
    )
    return _with_explanation(result, currency_symbol)


def uplift(
    treated: ArrayLike,
    converted: ArrayLike,
    revenue: ArrayLike | None = None,
    *,
    confidence: float = 0.95,
    currency_symbol: str = "€",
) -> UpliftResult:
    """Uplift from per-recipient arrays.

    Parameters
    ----------
    treated
        True for recipients who were sent the messages, False for the holdout.
    converted
        1/True for recipients who converted.
    revenue
        Revenue per recipient in the attribution window (0 if none); optional.
    confidence
        Level of every interval (default 95 %).
    currency_symbol
        Written after amounts in the explanation.
    """
    group = np.asarray(treated, dtype=bool)
    conv = np.asarray(converted)
    if conv.shape != group.shape:
        raise ValueError("treated and converted must have the same length")
    if conv.size and not np.isin(conv, (0, 1)).all():
        raise ValueError("converted must be 0/1")
    conv = conv.astype(bool)
    rev = None
    if revenue is not None:
        rev = np.asarray(revenue, dtype=np.float64)
        if rev.shape != group.shape:
            raise ValueError("revenue must have the same length as treated")
        if not np.isfinite(rev).all():
            raise ValueError("revenue must be finite")
    t_stats = GroupStats.from_arrays(conv[group], None if rev is None else rev[group])
    h_stats = GroupStats.from_arrays(conv[~group], None if rev is None else rev[~group])
    return uplift_from_stats(t_stats, h_stats, confidence=confidence,
                             currency_symbol=currency_symbol)


# -- the explanation ----------------------------------------------------------------------


def _num(value: float, decimals: int = 0) -> str:
    """Spanish number: thousands with ".", decimals with "," (never "-0")."""
    rounded = round(value, decimals) or 0.0
    return f"{rounded:,.{decimals}f}".replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _pct(fraction: float) -> str:
    return f"{_num(fraction * 100, 1)} %"


def _points(fraction: float) -> str:
    return _num(fraction * 100, 1)


def _money(value: float, symbol: str) -> str:
    return f"{_num(value, 2)} {symbol}"


def _pvalue(p: float) -> str:
    return "p < 0,001" if p < 0.001 else f"p = {_num(p, 3)}"


def _with_explanation(result: UpliftResult, symbol: str) -> UpliftResult:
    return replace(result, explanation=_explain(result, symbol))


def _explain(r: UpliftResult, symbol: str) -> str:
    if r.status == "empty":
        return "Sin datos: ni destinatarios ni grupo de control."
    if r.status == "no_treated":
        return ("Nadie recibió los mensajes todavía: no hay nada que comparar con el grupo "
                "de control.")
    if r.status == "no_holdout":
        assert r.treated_rate is not None
        return ("Sin grupo de control: no se puede medir el efecto incremental. De los "
                f"{_num(r.treated_n)} destinatarios compró el {_pct(r.treated_rate)}.")
    assert r.treated_rate is not None and r.holdout_rate is not None
    assert r.conversion_diff is not None and r.conversion_diff_ci is not None
    assert r.p_value is not None
    level = _num(r.confidence * 100, 0 if (r.confidence * 100).is_integer() else 1)
    low, high = r.conversion_diff_ci
    first = (f"Compró el {_pct(r.treated_rate)} de quienes recibieron los mensajes frente al "
             f"{_pct(r.holdout_rate)} del grupo de control: una diferencia de "
             f"{_points(r.conversion_diff)} puntos porcentuales (entre {_points(low)} y {_points(high)} "
             f"con un {level} % de confianza).")
    if r.significant:
        direction = "más" if r.conversion_diff > 0 else "menos"
        second = (f"La diferencia es estadísticamente significativa ({_pvalue(r.p_value)}): "
                  f"los mensajes consiguieron unas {_num(abs(r.incremental_conversions or 0))} "
                  f"compras {direction} de las que habría habido sin ellos")
        if r.relative_lift is not None:
            second += f" (un {_num(abs(r.relative_lift) * 100)} % {direction})"
        second += "."
    else:
        second = (f"La diferencia no es estadísticamente significativa ({_pvalue(r.p_value)}): "
                  "puede deberse al azar.")
        if r.holdout_n < 100:
            second += " El grupo de control es pequeño; con más destinatarios la medida será más precisa."
    parts = [first, second]
    if r.incremental_revenue is not None and (r.treated_revenue_per_recipient or
                                              r.holdout_revenue_per_recipient):
        if r.incremental_revenue_ci is not None:
            rl, rh = r.incremental_revenue_ci
            parts.append(f"Ingresos incrementales estimados: {_money(r.incremental_revenue, symbol)} "
                         f"(entre {_money(rl, symbol)} y {_money(rh, symbol)}).")
        else:
            parts.append(f"Ingresos incrementales estimados: {_money(r.incremental_revenue, symbol)}.")
    return " ".join(parts)


# -- holdout assignment -------------------------------------------------------------------

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finaliser (Steele, Lea & Flood 2014): a bijective, well-mixed hash."""
    with np.errstate(over="ignore"):
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK
        x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return x ^ (x >> np.uint64(31))


def holdout_hash(ids: Sequence[Any] | ArrayLike, seed: int) -> NDArray[np.float64]:
    """A deterministic number in [0, 1) per id, keyed by ``seed``.

    Integer ids are hashed vectorised (SplitMix64 of id mixed with the seed); other ids
    (strings, UUIDs) through BLAKE2b of ``"seed:id"``. Stable across processes and
    versions of Python and NumPy.
    """
    arr = np.asarray(ids)
    if arr.size == 0:
        return np.zeros(0)
    key = _splitmix64(np.asarray([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    if arr.dtype.kind in "iu":
        with np.errstate(over="ignore"):
            h = _splitmix64(arr.astype(np.int64).view(np.uint64) ^ key)
    else:
        h = np.fromiter(
            (int.from_bytes(hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest(), "big")
             for i in arr.tolist()), dtype=np.uint64, count=arr.size)
    # The top 53 bits make an exactly representable float in [0, 1).
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def holdout_assign(ids: Sequence[Any] | ArrayLike, share: float, seed: int) -> NDArray[np.bool_]:
    """True for the ids in the holdout: exactly ``round(share * len(ids))`` of them.

    The holdout is the ids with the smallest :func:`holdout_hash` (ties by position), so
    the result is the same for the same set of ids in any order, and differs between
    seeds. Ids must be unique.
    """
    if not 0 <= share <= 1:
        raise ValueError("share must be between 0 and 1")
    arr = np.asarray(ids)
    n = arr.size
    if arr.ndim != 1:
        raise ValueError("ids must be one-dimensional")
    if np.unique(arr).size != n:
        raise ValueError("ids must be unique")
    k = round(share * n)
    out = np.zeros(n, dtype=bool)
    if k:
        h = holdout_hash(arr, seed)
        # Sort by hash, then by id, so equal hashes never depend on input order.
        order = np.lexsort((arr, h))
        out[order[:k]] = True
    return out


def holdout_member(ids: Sequence[Any] | ArrayLike, share: float, seed: int) -> NDArray[np.bool_]:
    """True for the ids in the holdout, decided one by one (hash below ``share``).

    For automations, which enrol customers one at a time: the holdout share is right on
    average, and an id's answer never depends on the others.
    """
    if not 0 <= share <= 1:
        raise ValueError("share must be between 0 and 1")
    return holdout_hash(ids, seed) < share
