"""Maximum-likelihood machinery shared by the BTYD estimators.

Each model supplies the mean negative log-likelihood of its (compressed, rescaled) data as
a function of the log-parameters, with its gradient; this module runs L-BFGS-B on the
log-parameters, polishes with Newton steps on a finite-difference Hessian of the gradient,
decides whether a weak penalty is needed and reports everything in ``fit_info_``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NotRequired, TypedDict

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
#: A first (unpenalised) attempt whose iterate has a *shape* parameter (gamma or beta
#: shape: r, s, a, b, p, q) above 1e3 is running away along a direction the data do not
#: pin down (Pareto/NBD's s -> inf with s / beta fixed, i.e. one dropout rate for
#: everybody; a gamma shape of 1e3 is already a spread of 3 %): the optimiser would crawl
#: along that flat ridge for thousands of iterations, each dearer than the last
#: (measured: more than an hour on a CDNOW-plus-demo history). It is stopped there and the
#: penalised attempt, whose optimum is finite, follows. Scale parameters (alpha, beta, v)
#: are left alone: on a history of decades their rescaled values are legitimately tiny.
RUNAWAY_BOUND = float(np.log(1e3))
#: Largest |gradient| of the mean negative log-likelihood (log-parameters) accepted as
#: converged; the parameter error it leaves is far below the standard errors.
GRAD_ACCEPT = 1e-6
#: L-BFGS-B restarts from the last point when it stops without converging (a fresh
#: quasi-Newton memory usually gets past an "ABNORMAL" line-search failure).
RESTARTS = 2


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
    optimizer_message: str = ""
    optimizer_success: bool = True
    steps: list[str] = field(default_factory=list)
    out_of_time: bool = False



class FitInfo(TypedDict):
    """``fit_info_``: how a fit went; ``_finish`` and the model's ``fit`` add the optional keys."""

    success: bool
    optimizer_success: bool
    optimizer_message: str
    steps: list[str]
    iterations: int
    function_evaluations: int
    message: str
    penalizer_coef: float
    penalty_reason: str | None
    n_customers: int
    gradient_norm: float
    hessian_condition: float
    seconds: float
    warnings: list[str]
    log_likelihood: NotRequired[float]
    standard_errors: NotRequired[dict[str, float]]
    n_patterns: NotRequired[int]
    n_pairs: NotRequired[int]
    dropped_rows: NotRequired[int]


class _OutOfTime(Exception):
    """The fit's time limit passed (raised from inside the objective)."""


class _Guarded:
    """The objective with a deadline and a record of the best point it has seen.

    A time limit can fall in the middle of an L-BFGS-B line search; the best point seen
    so far is then the honest answer to return (flagged as not converged).
    """

    def __init__(self, objective: Objective, deadline: float | None) -> None:
        self.objective = objective
        self.deadline = deadline
        self.best: tuple[float, FloatArray, FloatArray] | None = None
        self.calls = 0

    def __call__(self, phi: FloatArray) -> tuple[float, FloatArray]:
        if self.calls and self.deadline is not None and time.monotonic() > self.deadline:
            raise _OutOfTime
        value, grad = self.objective(phi)
        self.calls += 1
        if np.isfinite(value) and (self.best is None or value < self.best[0]):
            self.best = (float(value), np.array(phi, dtype=float), np.asarray(grad, dtype=float))
        return value, grad


def wdot(a: NDArray[np.floating[Any]], b: NDArray[np.floating[Any]]) -> float:
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
    max_seconds : float, optional
        Wall-clock limit of :meth:`fit` (a safety net: the fit then keeps the best point
        it reached, reports ``success=False`` and says why in ``fit_info_``).
    """

    param_names: ClassVar[tuple[str, ...]] = ()
    #: Positions of the shape parameters in ``param_names`` (see `RUNAWAY_BOUND`).
    shape_params: ClassVar[tuple[int, ...]] = ()
    #: Optional hook called with the number of optimiser iterations so far (progress bars).
    on_iteration: Callable[[int], None] | None = None

    def __init__(
        self,
        penalizer_coef: float | Literal["auto"] = "auto",
        *,
        tol: float = 1e-10,
        max_iter: int = 2000,
        max_seconds: float | None = None,
    ) -> None:
        self.penalizer_coef = penalizer_coef
        self.tol = tol
        self.max_iter = max_iter
        self.max_seconds = max_seconds

    # -- public helpers ------------------------------------------------------------------
    @property
    def params_(self) -> dict[str, float]:
        """Fitted parameters under their literature names."""
        self._check_fitted()
        return dict(zip(self.param_names, (float(v) for v in self._params), strict=True))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        return {"penalizer_coef": self.penalizer_coef, "tol": self.tol,
                "max_iter": self.max_iter, "max_seconds": self.max_seconds}

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
        started = time.monotonic()
        self._iterations_seen = 0
        # One BLAS thread: L-BFGS-B and the 4x4 solves gain nothing from more, and
        # OpenBLAS's idle threads spin on the other core after every call (measured at 1M
        # customers: a third of the BG/NBD fit's CPU time).
        with threadpool_limits(limits=1, user_api="blas"):
            for i, coef in enumerate(plan):
                last = i == len(plan) - 1
                deadline = None
                if self.max_seconds is not None:
                    # A first attempt leaves 40 % of the time to the penalised one.
                    share = 1.0 if last else 0.6
                    deadline = started + share * float(self.max_seconds)
                objective = make_objective(coef)
                start, hess0 = warm_start(coef) if warm_start is not None else (x0, None)
                attempt = self._minimize(
                    objective, start, coef, newton_first=warm_start is not None, hess0=hess0,
                    runaway=None if last else RUNAWAY_BOUND, deadline=deadline,
                )
                if not attempt.problems or last or attempt.out_of_time:
                    break
                reason = "; ".join(attempt.problems)
        assert attempt is not None
        self._attempt = attempt
        warnings = list(attempt.problems)
        if reason and attempt.penalizer > 0:
            warnings.append(f"weak penalty {attempt.penalizer:g} applied: {reason}")
        converged = bool(attempt.success and not attempt.problems)
        self.fit_info_: FitInfo = {
            "success": converged,
            "optimizer_success": attempt.optimizer_success,
            "optimizer_message": attempt.optimizer_message,
            "steps": attempt.steps,
            "iterations": attempt.iterations,
            "function_evaluations": attempt.evaluations,
            "message": _honest_message(attempt, converged),
            "penalizer_coef": attempt.penalizer,
            "penalty_reason": reason if attempt.penalizer > 0 else None,
            "n_customers": int(n_customers),
            "gradient_norm": float(np.max(np.abs(attempt.grad))),
            "hessian_condition": attempt.condition,
            "seconds": round(time.monotonic() - started, 3),
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
        runaway: float | None = None,
        deadline: float | None = None,
    ) -> _Attempt:
        """One attempt: (Newton from a warm start, else) L-BFGS-B, Newton polish, checks.

        Bounded: L-BFGS-B has ``max_iter`` iterations; an iterate beyond ``runaway`` ends
        the attempt (see `RUNAWAY_BOUND`); past ``deadline`` (``time.monotonic()``) the
        best point seen is kept and flagged. When L-BFGS-B stops without converging
        ("ABNORMAL" line-search failures, the iteration limit), Newton steps and up to
        `RESTARTS` fresh L-BFGS-B runs continue from its point; ``steps`` records them.
        """
        bounds = [(-LOG_BOUND, LOG_BOUND)] * x0.size
        guarded = _Guarded(objective, deadline)
        steps: list[str] = []
        problems: list[str] = []
        ran_away = False
        out_of_time = False

        def watch(intermediate_result: OptimizeResult) -> None:
            nonlocal ran_away
            # Counted over the whole fit (every attempt), so a progress bar never goes back.
            self._iterations_seen = getattr(self, "_iterations_seen", 0) + 1
            if self.on_iteration is not None:
                self.on_iteration(self._iterations_seen)
            shapes = np.asarray(intermediate_result.x)[list(self.shape_params)]
            if runaway is not None and shapes.size and np.max(shapes) > runaway:
                ran_away = True
                raise StopIteration

        def lbfgsb(start: FloatArray) -> OptimizeResult:
            return minimize(
                guarded,
                start,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                callback=watch,
                options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 1e-15, "maxcor": 20},
            )

        res: OptimizeResult | None = None
        hess: FloatArray | None = None
        iterations = 0
        optimizer_success, optimizer_message = True, ""
        try:
            if newton_first:
                res, _spent = self._newton_from(guarded, x0, hess0=hess0)
                if res is not None:
                    steps.append("Newton from a subsample's optimum")
            if res is None:
                res = lbfgsb(x0)
                optimizer_success, optimizer_message = bool(res.success), str(res.message)
                iterations += int(res.nit)
                steps.append(f"L-BFGS-B: {res.message}")
                phi = np.asarray(res.x, dtype=float)
                value, grad = guarded(phi)
            else:
                phi, value, grad = res.x, float(res.fun), res.jac
                iterations += int(res.nit)
                optimizer_message = str(res.message)
                if res.hess is not None and np.max(np.abs(res.hess_at - phi)) < 1e-3:
                    # Computed within 1e-3 (in log-parameters) of the optimum: the standard
                    # errors it gives differ from the optimum's by ~1e-3 relative, far below
                    # their own sampling error, and the condition number is unaffected.
                    hess = res.hess
            if ran_away:
                problems.append(
                    f"a shape parameter ran away (above {np.exp(runaway or 0.0):.0f}): "
                    "the data do not pin it down"
                )
            else:
                phi, value, grad, hess = self._polish(guarded, phi, value, grad, hess)
                if not optimizer_success:
                    steps.append(f"Newton steps from its point: |gradient| = "
                                 f"{float(np.max(np.abs(grad))):.2g}")
                for restart in range(RESTARTS):
                    if np.max(np.abs(grad)) <= GRAD_ACCEPT or not np.isfinite(value):
                        break
                    # Not converged: a fresh L-BFGS-B from here, then Newton again.
                    more = lbfgsb(phi)
                    iterations += int(more.nit)
                    steps.append(f"restart {restart + 1}, L-BFGS-B: {more.message}")
                    cand = np.asarray(more.x, dtype=float)
                    cand_value, cand_grad = guarded(cand)
                    if ran_away:
                        problems.append("a parameter ran away on restart")
                        break
                    if _no_worse(cand_value, value):
                        phi, value, grad, hess = self._polish(
                            guarded, cand, cand_value, cand_grad, None
                        )
        except _OutOfTime:
            out_of_time = True
            problems.append("stopped at the time limit before converging")
            steps.append("time limit reached")
            assert guarded.best is not None  # the first evaluation is always allowed
            value, phi, grad = guarded.best
            hess = None
        if hess is None:
            try:
                hess = hessian_of_gradient(objective, phi, grad)
            except (FloatingPointError, ValueError):
                hess = np.full((phi.size, phi.size), np.nan)
        if not np.isfinite(value):
            problems.append("non-finite log-likelihood at the optimum")
        gradient = float(np.max(np.abs(grad)))
        if not ran_away and not problems and gradient > GRAD_ACCEPT:
            problems.append(f"optimizer did not converge (|gradient| = {gradient:.2g}): "
                            f"{optimizer_message}")
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
            iterations=iterations,
            evaluations=guarded.calls,
            success=bool(np.isfinite(value) and gradient <= GRAD_ACCEPT and not ran_away),
            message=optimizer_message,
            penalizer=coef,
            condition=condition,
            problems=problems,
            optimizer_message=optimizer_message,
            optimizer_success=optimizer_success,
            steps=steps,
            out_of_time=out_of_time,
        )

    def _polish(
        self,
        objective: Objective,
        phi: FloatArray,
        value: float,
        grad: FloatArray,
        hess: FloatArray | None,
    ) -> tuple[FloatArray, float, FloatArray, FloatArray]:
        """Newton steps with the finite-difference Hessian of the gradient.

        L-BFGS-B stops on relative criteria; these steps bring |grad| to ~1e-12 where the
        optimum is regular. Returns the point, its value, gradient and the Hessian there.
        """
        if hess is None:
            hess = hessian_of_gradient(objective, phi, grad)
        for _ in range(6):
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
                if _no_worse(cand_value, value):
                    break
            else:
                break
            if np.max(np.abs(cand_grad)) >= np.max(np.abs(grad)):
                break  # rounding noise: no further progress
            # The Hessian is kept (chord steps): each one costs k gradient evaluations,
            # and the point barely moves; it serves the standard errors and conditioning.
            phi, value, grad = cand, cand_value, cand_grad
        return phi, float(value), grad, hess

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


def _honest_message(attempt: _Attempt, converged: bool) -> str:
    """One sentence on how the fit ended, without calling a failure a success.

    SciPy's L-BFGS-B message is kept verbatim in ``optimizer_message``; here it is said
    whether the point was then verified (gradient and Hessian) or why it was not accepted.
    """
    gradient = float(np.max(np.abs(attempt.grad)))
    if converged:
        if attempt.optimizer_success:
            return (f"converged: |gradient| = {gradient:.2g}, positive definite Hessian "
                    f"(condition {attempt.condition:.3g})")
        return (f"converged after the optimizer stopped early ({attempt.optimizer_message.strip()}), "
                f"verified: {'; '.join(attempt.steps[1:])}; final |gradient| = {gradient:.2g}, "
                f"positive definite Hessian (condition {attempt.condition:.3g})")
    reasons = "; ".join(attempt.problems) or "not converged"
    return f"not converged: {reasons}"
