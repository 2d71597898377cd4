"""Run the model fit in a child process with a time budget, relaying its progress.

A maximum-likelihood fit on unusual data can take far longer than planned (for example
when the optimiser wanders where a special function needs millions of series terms).
The fits bound themselves (iteration limits, a per-fit time limit, see
`fideliza.analytics.models._base`); this is the backstop for what they cannot bound (a
hang inside compiled code): `analyze` runs in a *spawned* child process (not forked: a
forked Polars thread pool can deadlock) that is killed when the budget is spent; the
caller then falls back to a cheaper configuration and says so.

While it runs, the child sends its progress (fraction, step) through the same pipe, so
the recompute's progress bar moves during the fits.

This module imports no Django: the child process only needs the pure analytics core.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from typing import Any

Progress = Callable[[float, str], None]

# The child checks this often whether its parent is still there (a worker killed with
# SIGKILL cannot kill its children; an orphaned fit must not run on for minutes).
PARENT_CHECK_SECONDS = 1.0


def _exit_with_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(1)


def _child(conn: Any, frame: Any, config: Any, parent_pid: int) -> None:
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    from fideliza.analytics.pipeline import analyze

    last: list[Any] = [0.0, None]

    def progress(fraction: float, step: str) -> None:
        now = time.monotonic()
        # Every new step, and a few messages a second inside one: plenty for a progress bar.
        if step != last[1] or now - last[0] >= 0.2:
            last[0], last[1] = now, step
            conn.send(("progress", (fraction, step)))

    try:
        conn.send(("ok", analyze(frame, config, progress=progress)))
    except BaseException as exc:  # reported to the parent, which re-raises it
        conn.send(("error", exc))
    finally:
        conn.close()


class BudgetExceeded(Exception):
    """The fit did not finish within its time budget."""


def analyze_within(
    frame: Any, config: Any, *, seconds: float | None, progress: Progress | None = None
) -> Any:
    """`fideliza.analytics.pipeline.analyze(frame, config)`, killed after `seconds`.

    ``seconds=None`` runs it in this process. Exceptions of the child are re-raised here;
    `BudgetExceeded` when the budget is spent. ``progress(fraction, step)`` receives the
    child's progress (see `fideliza.analytics.pipeline.analyze`).
    """
    if seconds is None:
        from fideliza.analytics.pipeline import analyze

        return analyze(frame, config, progress=progress)
    deadline = time.monotonic() + seconds
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, frame, config, os.getpid()), daemon=True)
    process.start()
    sender.close()
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not receiver.poll(max(0.0, min(remaining, 1.0))):
                if time.monotonic() >= deadline:
                    raise BudgetExceeded(f"model fit took more than {seconds:g} s")
                if not process.is_alive() and not receiver.poll(0):
                    raise RuntimeError("the model fit process ended without an answer")
                continue
            status, payload = receiver.recv()
            if status != "progress":
                break
            if progress is not None:
                progress(*payload)
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
