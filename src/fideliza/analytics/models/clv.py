"""Customer lifetime value by discounted cash flow over monthly periods.

The method is lifetimes' ``_customer_lifetime_value`` (0.11.3): for months k = 1..time,
the expected number of purchases in month k (difference of the cumulative conditional
expectation of the transaction model at k and k - 1 months) times the expected spend per
purchase, discounted by (1 + monthly rate)^k. Fader, Hardie & Lee (2005b) use the same
decomposition CLV = E[transactions] x E[spend] (with continuous discounting in their
"discounted expected residual transactions"); the monthly sum is the practitioners' form.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from fideliza.analytics.models._base import FloatArray
from fideliza.analytics.models._special import compress_rows

__all__ = [
    "TransactionModel",
    "customer_lifetime_value",
    "discount_profile",
    "lifetimes_units_per_month",
]


class TransactionModel(Protocol):
    """What CLV needs from a purchase-count model (BG/NBD, Pareto/NBD)."""

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:  # pragma: no cover - protocol
        ...


#: lifetimes' month length per time unit: {"D": 30, "W": 4.345, "M": 1.0}.
_LIFETIMES_FACTORS = {1.0: 30.0, 7.0: 4.345, 365.2425 / 12.0: 1.0}


def lifetimes_units_per_month(unit_days: float) -> float:
    """Model time units in one month, with lifetimes' constants for day/week/month.

    Parameters
    ----------
    unit_days : float
        Length of the model's time unit in days (1, 7, 30.436875 or any other).

    Returns
    -------
    float
        30 for days, 4.345 for weeks, 1 for months (as lifetimes' ``freq`` factor), else
        ``30 / unit_days``.
    """
    for days, factor in _LIFETIMES_FACTORS.items():
        if abs(unit_days - days) < 1e-9:
            return factor
    return 30.0 / unit_days


def discount_profile(
    transaction_model: TransactionModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    time: int = 12,
    discount_rate: float = 0.01,
    units_per_month: float = 30.0,
    distinct: bool = False,
    return_cumulative: bool = False,
) -> FloatArray | tuple[FloatArray, FloatArray]:
    """Discounted expected number of purchases over ``time`` months, per customer.

    .. math:: D = \\sum_{k=1}^{time} \\frac{E[Y(k f) | \\cdot] - E[Y((k-1) f) | \\cdot]}
              {(1 + d)^k}

    with f = ``units_per_month``. It depends on the history (x, t_x, T) only, so it is
    evaluated once per distinct history; ``distinct=True`` says the rows already are
    distinct histories (skips the grouping). With ``return_cumulative`` the undiscounted
    E[Y(time f)], the expected purchases over the whole horizon, is returned as well: it
    is the last term of the sum, so predicted purchases cost nothing more.
    """
    x = np.asarray(frequency, dtype=float).ravel()
    tx = np.asarray(recency, dtype=float).ravel()
    t = np.asarray(T, dtype=float).ravel()
    if time < 1:
        raise ValueError("time must be at least one month")
    if discount_rate <= -1:
        raise ValueError("discount_rate must be greater than -1")
    if distinct:
        (xu, txu, tu), inv = (x, tx, t), None
    else:
        (xu, txu, tu), inv, _ = compress_rows(x, tx, t)
    total = np.zeros(xu.size)
    previous = np.zeros(xu.size)
    factory = getattr(transaction_model, "conditional_expectation_function", None)
    if factory is not None:
        expect = factory(xu, txu, tu)
    else:

        def expect(horizon: float) -> FloatArray:
            return transaction_model.conditional_expected_number_of_purchases_up_to_time(
                horizon, xu, txu, tu
            )

    for k in range(1, time + 1):
        cumulative = expect(k * units_per_month)
        total += (cumulative - previous) / (1.0 + discount_rate) ** k
        previous = cumulative
    if inv is not None:
        total, previous = total[inv], previous[inv]
    return (total, previous) if return_cumulative else total


def customer_lifetime_value(
    transaction_model: TransactionModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    spend: ArrayLike,
    *,
    time: int = 12,
    discount_rate: float = 0.01,
    units_per_month: float = 30.0,
    margin: ArrayLike = 1.0,
) -> FloatArray:
    """Discounted customer lifetime value over the next ``time`` months.

    Parameters
    ----------
    transaction_model : TransactionModel
        A fitted BG/NBD or Pareto/NBD model.
    frequency, recency, T : array_like
        Customer histories, in the model's time unit.
    spend : array_like
        Expected spend per purchase (e.g. Gamma-Gamma's conditional expected average
        profit).
    time : int
        Horizon in months.
    discount_rate : float
        Monthly discount rate (lifetimes' default 0.01).
    units_per_month : float
        Model time units per month (see :func:`lifetimes_units_per_month`).
    margin : float or array_like
        Fraction of spend that is profit (1 = value in revenue).

    Returns
    -------
    numpy.ndarray
        CLV per customer, in the currency of ``spend``.

    References
    ----------
    lifetimes 0.11.3, ``lifetimes.utils._customer_lifetime_value``.
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value
    curves for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.
    """
    profile = discount_profile(
        transaction_model,
        frequency,
        recency,
        T,
        time=time,
        discount_rate=discount_rate,
        units_per_month=units_per_month,
    )
    return np.asarray(spend, dtype=float).ravel() * np.asarray(margin, dtype=float) * profile
