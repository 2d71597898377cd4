"""Probabilistic customer-base models: BG/NBD, Pareto/NBD, Gamma-Gamma and CLV.

All estimators follow scikit-learn's conventions: ``__init__`` stores settings only,
``fit`` sets attributes ending in ``_`` (``params_``, ``log_likelihood_``, ``fit_info_``,
``standard_errors_``) and returns ``self``; predictions are vectorised over customers.
"""

from fideliza.analytics.models.bgnbd import BetaGeoFitter
from fideliza.analytics.models.clv import customer_lifetime_value, lifetimes_units_per_month
from fideliza.analytics.models.gammagamma import GammaGammaFitter
from fideliza.analytics.models.paretonbd import ParetoNBDFitter

__all__ = [
    "BetaGeoFitter",
    "GammaGammaFitter",
    "ParetoNBDFitter",
    "customer_lifetime_value",
    "lifetimes_units_per_month",
]
