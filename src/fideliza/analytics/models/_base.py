"""Maximum-likelihood machinery shared by the BTYD estimators.

Each model supplies the mean negative log-likelihood of its (compressed, rescaled) data as
a function of the log-parameters, with its gradient; this module runs L-BFGS-B on the
log-parameters, polishes with Newton steps on a finite-difference Hessian of the gradient,
decides whether a weak penalty is needed and reports everything in ``fit_info_``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import OptimizeResult, minimize
from threadpoolctl import threadpool_limits

FloatArray = NDArray[np.float64]
Objective = Callable[[FloatArray], tuple[float, FloatArray]]

#: Penalty coefficient applied automatically when a fit needs regularising (see
#: :class:`BaseFitter`). Per customer, the mean log-likelihood of these models is of
#: order 1-10, so 0.01 * sum(log(theta)^2) is a weak log-normal prior centred on 1.
AUTO_PENALIZER = 0.01
#: Below this many customers the automatic penalty is always applied.
SMALL_SAMPLE = 200
#: A Hessian (of the mean negative log-likelihood in log-parameters) with a larger
#: condition number is deemed ill-conditioned: the data do not identify the parameters.
MAX_CONDITION = 1e10
#: Bound on |log(theta)| during the search; a parameter that reaches it has diverged.
LOG_BOUND = 18.0


@dataclass
class _Attempt:
    phi: FloatArray
    value: float
    grad: FloatArray
    hessian: FloatArray
    iterations: int
    evaluations: int
    success: bool
    message: str
    penalizer: float
    condition: float
    problems: list[str] = field(default_factory=list)


def wdot(a: FloatArray, b: FloatArray) -> float:
    """Dot product of two 1-D arrays without BLAS and without a temporary.

    ``numpy.dot`` hands 1-D products to the threaded BLAS, whose thread start-up costs
    milliseconds per call on a busy machine (measured: 7.6 ms CPU for 80,000 elements);
    ``einsum``'s own sum-of-products loop needs no temporary array and measured half the
    time of ``(a * b).sum()`` on 600,000 elements. The likelihoods call it dozens of times.
    """
    return float(np.einsum("i,i->", a, b))


def _no_worse(candidate: float, value: float) -> bool:
    """Whether a step's objective is finite and not above ``value`` beyond rounding.

    Near the optimum the mean log-likelihood of a million customers changes by less than
    its own rounding error (~1e-14 relative); a strict ``<=`` would then reject the steps
    that still shrink the gradient.
    """
    return bool(np.isfinite(candidate) and candidate <= value + 1e-13 * max(1.0, abs(value)))


def numeric_gradient(
    fun: Callable[[FloatArray], float], phi: FloatArray, step: float = 1e-5
) -> FloatArray:
    """Central-difference gradient (error O(step^2)); used where no analytic form is coded."""
    grad = np.empty_like(phi)
    for i in range(phi.size):
        e = np.zeros_like(phi)
        e[i] = step
        grad[i] = (fun(phi + e) - fun(phi - e)) / (2 * step)
    return grad


def hessian_of_gradient(
    objective: Objective, phi: FloatArray, grad: FloatArray | None = None, step: float = 1e-5
) -> FloatArray:
    """Symmetrised finite-difference Jacobian of the (analytic) gradient.

    Forward differences from ``grad`` (the gradient at ``phi``) when it is given, central
    differences otherwise.
    """
    k = phi.size
    hess = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        if grad is None:
            hess[:, i] = (objective(phi + e)[1] - objective(phi - e)[1]) / (2 * step)
        else:
            hess[:, i] = (objective(phi + e)[1] - grad) / step
    return 0.5 * (hess + hess.T)


def warm_start(objective: Objective, x0: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Optimum of a subsample's objective and the objective's Hessian there.

    The optimum starts the Newton iterations on the full data and the Hessian serves
    their first step (see :meth:`BaseFitter._newton_from`).
    """
    res = minimize(objective, x0, jac=True, method="L-BFGS-B", options={"gtol": 1e-7})
    phi = np.asarray(res.x, dtype=float)
    return phi, hessian_of_gradient(objective, phi, objective(phi)[1])


class BaseFitter:
    """Base class of the estimators: parameter storage, fitting loop and fit report.

    Parameters
    ----------
    penalizer_coef : float or "auto"
        Coefficient ``c`` of the penalty ``c * sum(log(theta_scaled)^2)`` added to the
        *mean* negative log-likelihood (lifetimes' convention of a per-customer objective,
        but on log-parameters, i.e. a weak log-normal prior, so that it shrinks towards 1
        on the rescaled data instead of towards 0). ``"auto"`` (default) fits without
        penalty and re-fits with ``c = 0.01`` when there are fewer than 200 customers, the
        optimiser fails, a parameter diverges or the Hessian is ill-conditioned (condition
        number above 1e10); which one happened is reported in ``fit_info_``.
    tol : float
        Gradient tolerance of the optimiser on the mean negative log-likelihood.
    max_iter : int
        Maximum L-BFGS-B iterations.
    """

    param_names: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        penalizer_coef: float | Literal["auto"] = "auto",
        *,
        tol: float = 1e-10,
        max_iter: int = 2000,
    ) -> None:
        self.penalizer_coef = penalizer_coef
        self.tol = tol
        self.max_iter = max_iter

    # -- public helpers ------------------------------------------------------------------
    @property
    def params_(self) -> dict[str, float]:
        """Fitted parameters under their literature names."""
        self._check_fitted()
        return dict(zip(self.param_names, (float(v) for v in self._params), strict=True))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        return {"penalizer_coef": self.penalizer_coef, "tol": self.tol, "max_iter": self.max_iter}

    def set_params(self, **params: Any) -> BaseFitter:
        """Set constructor parameters (scikit-learn convention)."""
        for key, value in params.items():
            if key not in self.get_params():
                raise ValueError(f"unknown parameter {key!r}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        name = type(self).__name__
        if hasattr(self, "_params"):
            inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"<{name}: {inner}>"
        return f"<{name} (unfitted)>"

    def _check_fitted(self) -> None:
        if not hasattr(self, "_params"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")

    # -- fitting ---------------------------------------------------------------------------
    def _penalty_plan(self, n_customers: int) -> tuple[list[float], str | None]:
        coef = self.penalizer_coef
        if coef == "auto":
            if n_customers < SMALL_SAMPLE:
                return [AUTO_PENALIZER], f"fewer than {SMALL_SAMPLE} customers"
            return [0.0, AUTO_PENALIZER], None
        if not isinstance(coef, int | float) or coef < 0:
            raise ValueError("penalizer_coef must be a non-negative number or 'auto'")
        return [float(coef)], None

    def _run(
        self,
        make_objective: Callable[[float], Objective],
        x0: FloatArray,
        n_customers: int,
        warm_start: Callable[[float], tuple[FloatArray, FloatArray]] | None = None,
    ) -> _Attempt:
        """Fit with the penalty plan; return the accepted attempt and fill ``fit_info_``."""
        plan, reason = self._penalty_plan(n_customers)
        attempt: _Attempt | None = None
        # One BLAS thread: L-BFGS-B and the 4x4 solves gain nothing from more, and
        # OpenBLAS's idle threads spin on the other core after every call (measured at 1M
        # customers: a third of the BG/NBD fit's CPU time).
        with threadpool_limits(limits=1, user_api="blas"):
            for i, coef in enumerate(plan):
                objective = make_objective(coef)
                start, hess0 = warm_start(coef) if warm_start is not None else (x0, None)
                attempt = self._minimize(
                    objective, start, coef, newton_first=warm_start is not None, hess0=hess0
                )
                if not attempt.problems or i == len(plan) - 1:
                    break
                reason = "; ".join(attempt.problems)
        assert attempt is not None
        self._attempt = attempt
        warnings = list(attempt.problems)
        if reason and attempt.penalizer > 0:
            warnings.append(f"weak penalty {attempt.penalizer:g} applied: {reason}")
        self.fit_info_ = {
            "success": bool(attempt.success and not attempt.problems),
            "optimizer_success": attempt.success,
            "iterations": attempt.iterations,
            "function_evaluations": attempt.evaluations,
            "message": attempt.message,
            "penalizer_coef": attempt.penalizer,
            "penalty_reason": reason if attempt.penalizer > 0 else None,
            "n_customers": int(n_customers),
            "gradient_norm": float(np.max(np.abs(attempt.grad))),
            "hessian_condition": attempt.condition,
            "warnings": warnings,
        }
        return attempt

    def _newton_from(
        self,
        objective: Objective,
        x0: FloatArray,
        steps: int = 12,
        hess0: FloatArray | None = None,
    ) -> tuple[OptimizeResult | None, int]:
        """Newton iterations from a warm start; a result (with its Hessian) if they converge.

        A warm start (the optimum on a subsample) lies within sampling error of the
        optimum. The finite-difference Hessian (k + 1 gradient evaluations) is computed at
        the start (or is ``hess0``, the subsample's Hessian at its optimum: equal to the
        full data's there up to sampling error, which is all the first step needs) and once
        more after the first step, which lands within ~1e-5 of the optimum; that second Hessian then serves every remaining step (a chord iteration:
        one evaluation per step) and is returned as the Hessian at the optimum (standard
        errors, conditioning), so that :meth:`_minimize` need not compute another. It is
        recomputed only when a step fails to shrink the gradient fourfold. Stops at
        |grad| < 1e-11, or below 1e-9 once rounding noise stops the progress.
        """
        phi = np.asarray(x0, dtype=float)
        value, grad = objective(phi)
        evaluations = 1
        hess: FloatArray | None = hess0
        hess_at = phi
        refreshed = 0 if hess0 is None else 1
        norm = float(np.max(np.abs(grad)))
        stalled = False

        def done(it: int) -> tuple[OptimizeResult, int]:
            result = OptimizeResult(
                x=phi,
                fun=value,
                jac=grad,
                hess=hess,
                hess_at=hess_at,
                success=True,
                nit=it,
                nfev=evaluations,
                message="Newton from warm start",
            )
            return result, evaluations

        for it in range(steps):
            if not np.isfinite(value):
                return None, evaluations
            if norm < 1e-11 or (stalled and norm < max(self.tol, 1e-9)):
                return done(it)
            if hess is None:
                hess, hess_at = hessian_of_gradient(objective, phi, grad), phi
                evaluations += phi.size
                refreshed += 1
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                return None, evaluations
            if not np.all(np.isfinite(step)) or wdot(step, grad) <= 0:
                return None, evaluations
            for shrink in (1.0, 0.5, 0.25, 0.125):
                cand = np.clip(phi - shrink * step, -LOG_BOUND, LOG_BOUND)
                cand_value, cand_grad = objective(cand)
                evaluations += 1
                if _no_worse(cand_value, value):
                    break
            else:
                return done(it) if norm < max(self.tol, 1e-9) else (None, evaluations)
            new_norm = float(np.max(np.abs(cand_grad)))
            stalled = new_norm > 0.25 * norm
            if stalled and norm < max(self.tol, 1e-9):
                return done(it)  # rounding noise: keep the better of the two points
            phi, value, grad, norm = cand, cand_value, cand_grad, new_norm
            if refreshed == 1 or shrink < 1.0 or stalled:
                hess = None  # after the first step, or where the old one misleads
        return done(steps) if norm < max(self.tol, 1e-9) else (None, evaluations)

    def _minimize(
        self,
        objective: Objective,
        x0: FloatArray,
        coef: float,
        *,
        newton_first: bool = False,
        hess0: FloatArray | None = None,
    ) -> _Attempt:
        bounds = [(-LOG_BOUND, LOG_BOUND)] * x0.size
        res, spent = self._newton_from(objective, x0, hess0=hess0) if newton_first else (None, 0)
        hess: FloatArray | None = None
        if res is None:
            res = minimize(
                objective,
                x0,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 1e-15, "maxcor": 20},
            )
            res.nfev += spent
            phi = np.asarray(res.x, dtype=float)
            value, grad = objective(phi)
            evaluations = int(res.nfev) + 1
        else:
            phi, value, grad = res.x, float(res.fun), res.jac
            evaluations = int(res.nfev)
            if res.hess is not None and np.max(np.abs(res.hess_at - phi)) < 1e-3:
                # Computed within 1e-3 (in log-parameters) of the optimum: the standard
                # errors it gives differ from the optimum's by ~1e-3 relative, far below
                # their own sampling error, and the condition number is unaffected.
                hess = res.hess
        if hess is None:
            # Hessian at the optimum: standard errors, conditioning and the polish below.
            hess = hessian_of_gradient(objective, phi, grad)
            evaluations += phi.size
        # Newton polish: L-BFGS-B stops on relative criteria; Newton steps with the
        # (finite-difference) Hessian of the analytic gradient bring |grad| to ~1e-12.
        for _ in range(3):
            if np.max(np.abs(grad)) < 1e-11:
                break
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)) or wdot(step, grad) <= 0:
                break
            for shrink in (1.0, 0.5, 0.25):
                cand = np.clip(phi - shrink * step, -LOG_BOUND, LOG_BOUND)
                cand_value, cand_grad = objective(cand)
                evaluations += 1
                if _no_worse(cand_value, value):
                    break
            else:
                break
            if np.max(np.abs(cand_grad)) >= np.max(np.abs(grad)):
                break  # rounding noise: no further progress
            phi, value, grad = cand, cand_value, cand_grad
        problems: list[str] = []
        if not np.isfinite(value):
            problems.append("non-finite log-likelihood at the optimum")
        if not res.success and np.max(np.abs(grad)) > 1e-5:
            problems.append(f"optimizer did not converge: {res.message}")
        if np.any(np.abs(phi) >= LOG_BOUND - 1e-6):
            problems.append("a parameter diverged to the search bound")
        try:
            eig = np.linalg.eigvalsh(hess)
            condition = float(eig.max() / eig.min()) if eig.min() > 0 else float("inf")
        except np.linalg.LinAlgError:
            condition = float("inf")
        if not np.isfinite(condition) or condition > MAX_CONDITION:
            problems.append(f"ill-conditioned Hessian (condition number {condition:.3g})")
        return _Attempt(
            phi=phi,
            value=float(value),
            grad=grad,
            hessian=hess,
            iterations=int(res.nit),
            evaluations=evaluations,
            success=bool(res.success or np.max(np.abs(grad)) <= 1e-5),
            message=str(res.message),
            penalizer=coef,
            condition=condition,
            problems=problems,
        )

    def _finish(
        self,
        attempt: _Attempt,
        params: FloatArray,
        log_likelihood: float,
        total_weight: float,
        scale_jacobian: FloatArray,
    ) -> None:
        """Store parameters, log-likelihood and standard errors after a fit.

        ``scale_jacobian[i]`` is d(log theta_natural_i)/d(phi_i) (1 for all parameters: the
        rescaling of time or money only shifts log-parameters), kept for clarity.
        """
        self._params = np.asarray(params, dtype=float)
        self.log_likelihood_ = float(log_likelihood)
        self.fit_info_["log_likelihood"] = self.log_likelihood_
        # Covariance of the log-parameters from the Hessian of the *total* NLL.
        try:
            cov_phi = np.linalg.inv(attempt.hessian * total_weight)
            se_phi = np.sqrt(np.clip(np.diag(cov_phi), 0.0, None)) * scale_jacobian
            self.standard_errors_ = dict(
                zip(self.param_names, (float(v) for v in self._params * se_phi), strict=True)
            )
        except np.linalg.LinAlgError:
            self.standard_errors_ = {k: float("nan") for k in self.param_names}
        self.fit_info_["standard_errors"] = self.standard_errors_
