"""Value tiers: platino / oro / plata / bronce.

Seed 002 §1.4 "Categoriza tus clientes: nombrá esas categorías, más importantes a menos
importantes; ¿qué beneficio tienen por ser VIP?". A tier is a function of one value column
of a customer-level frame (revenue, margin, CLV, points …), either by absolute minimums or
by the customer's position in the ranking.

Percentile method
    With ``shares = (s1, s2, s3)`` (cumulative, default 5 %, 20 %, 50 %) and ``above`` = the
    number of customers with a strictly larger value, a customer is ``platino`` if
    ``above < s1 * n``, else ``oro`` if ``above < s2 * n``, else ``plata`` if
    ``above < s3 * n``, else ``bronce``. Ties share a tier; null values are ``bronce``.

Absolute method
    ``thresholds = {"platino": t1, "oro": t2, "plata": t3}`` are inclusive minimums
    (``t1 >= t2 >= t3``); below ``t3`` (or null) is ``bronce``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import polars as pl

from fideliza.analytics.metrics import Frame, as_lazy

TIERS: tuple[str, ...] = ("platino", "oro", "plata", "bronce")


def value_tiers(
    customers: Frame,
    *,
    value_col: str,
    method: Literal["percentile", "absolute"] = "percentile",
    shares: tuple[float, float, float] = (0.05, 0.20, 0.50),
    thresholds: Mapping[str, float] | None = None,
    tier_col: str = "tier",
) -> pl.DataFrame:
    """Add a ``tier`` column (platino/oro/plata/bronce) to a customer-level frame.

    Parameters
    ----------
    customers
        One row per customer with a numeric ``value_col``.
    method
        ``"percentile"`` (by ranking, ``shares``) or ``"absolute"`` (``thresholds``).
    shares
        Cumulative top shares ending platino, oro and plata.
    thresholds
        Inclusive minimum value of platino, oro and plata (``method="absolute"``).

    Returns
    -------
    pl.DataFrame
        The input rows in the same order with ``tier_col`` added.
    """
    lf = as_lazy(customers)
    v = pl.col(value_col).cast(pl.Float64)
    if method == "percentile":
        s1, s2, s3 = shares
        if not 0 <= s1 <= s2 <= s3 <= 1:
            raise ValueError("shares must satisfy 0 <= platino <= oro <= plata <= 1")
        n = pl.len()
        above = v.rank(method="min", descending=True) - 1
        tier = (
            pl.when(v.is_null())
            .then(pl.lit("bronce"))
            .when(above < n * s1)
            .then(pl.lit("platino"))
            .when(above < n * s2)
            .then(pl.lit("oro"))
            .when(above < n * s3)
            .then(pl.lit("plata"))
            .otherwise(pl.lit("bronce"))
        )
    elif method == "absolute":
        if thresholds is None or set(thresholds) != {"platino", "oro", "plata"}:
            raise ValueError("absolute tiers need thresholds for platino, oro and plata")
        t1, t2, t3 = (float(thresholds[k]) for k in ("platino", "oro", "plata"))
        if not t1 >= t2 >= t3:
            raise ValueError("thresholds must satisfy platino >= oro >= plata")
        tier = (
            pl.when(v >= t1)
            .then(pl.lit("platino"))
            .when(v >= t2)
            .then(pl.lit("oro"))
            .when(v >= t3)
            .then(pl.lit("plata"))
            .otherwise(pl.lit("bronce"))
        )
    else:
        raise ValueError("method must be 'percentile' or 'absolute'")
    return lf.with_columns(tier.alias(tier_col)).collect()
