"""The model-fit child process never outlives the worker that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

# A worker that starts a fit whose config makes it sleep (so it is surely running), then
# waits: stands for the analytics task of `fideliza worker`.
WORKER = r"""
import sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import polars as pl
from fideliza.insights.isolation import analyze_within
from tests.insights.test_isolation import SlowConfig
frame = pl.DataFrame({"customer_id": [1], "ts": [None]})
print("started", flush=True)
analyze_within(frame, SlowConfig(), seconds=120)
"""


class SlowConfig:
    """Reading its settings takes a minute: the child is busy when its parent dies."""

    @property
    def period(self) -> str:
        time.sleep(60)
        return "week"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc (Linux)")
def test_fit_child_exits_when_its_worker_is_killed():
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(ROOT / "src"), str(ROOT)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 30
        children: list[int] = []
        while time.monotonic() < deadline and not children:
            # The spawned fit (the resource tracker is a child too, and exits by itself).
            children = [c for c in _children(worker.pid)
                        if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
            time.sleep(0.2)
        assert children, "the fit child did not start"
        worker.send_signal(signal.SIGKILL)  # as a worker killed by the OOM killer or kill -9
        worker.wait(timeout=10)
        deadline = time.monotonic() + 10
        alive = children
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = [c for c in alive if Path(f"/proc/{c}").exists()
                     and (Path(f"/proc/{c}/stat").read_text().rsplit(")", 1)[1].split()[0]
                          != "Z")]
        assert not alive, "the fit child outlived its worker"
    finally:
        if worker.poll() is None:
            worker.kill()
        for child in _children(worker.pid):
            os.kill(child, signal.SIGKILL)
