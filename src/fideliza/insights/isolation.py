"""Run the model fit in a child process with a time budget.

A maximum-likelihood fit on unusual data can take far longer than planned (for example
when the optimiser wanders where a special function needs millions of series terms).
The nightly job must still finish, so `analyze` runs in a *spawned* child process (not
forked: a forked Polars thread pool can deadlock) that is killed when the budget is
spent; the caller then falls back to a cheaper configuration and says so.

This module imports no Django: the child process only needs the pure analytics core.
"""

from __future__ import annotations

import multiprocessing
from typing import Any


def _child(conn: Any, frame: Any, config: Any) -> None:
    from fideliza.analytics.pipeline import analyze

    try:
        conn.send(("ok", analyze(frame, config)))
    except BaseException as exc:  # reported to the parent, which re-raises it
        conn.send(("error", exc))
    finally:
        conn.close()


class BudgetExceeded(Exception):
    """The fit did not finish within its time budget."""


def analyze_within(frame: Any, config: Any, *, seconds: float | None) -> Any:
    """`fideliza.analytics.pipeline.analyze(frame, config)`, killed after `seconds`.

    ``seconds=None`` runs it in this process. Exceptions of the child are re-raised here;
    `BudgetExceeded` when the budget is spent.
    """
    if seconds is None:
        from fideliza.analytics.pipeline import analyze

        return analyze(frame, config)
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, frame, config), daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise BudgetExceeded(f"model fit took more than {seconds:g} s")
        status, payload = receiver.recv()
    except EOFError as exc:
        raise RuntimeError("the model fit process ended without an answer") from exc
    finally:
        if process.is_alive():
            process.kill()
        process.join(timeout=10)
        receiver.close()
    if status == "error":
        raise payload
    return payload
