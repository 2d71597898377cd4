"""`fideliza run` as a newcomer runs it: it serves, tells its children where it is served,
and stopping it - Ctrl-C, SIGTERM, or its own death - leaves no process behind, not even a
worker in the middle of a long job with a child process of its own."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from fideliza.core.management.commands.run import STOP_DEADLINE, public_url

ROOT = Path(__file__).resolve().parents[2]
MARK = "FIDELIZA_TEST_RUN_MARK"
pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "FIDELIZA_PUBLIC_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DJANGO_SETTINGS_MODULE="fideliza.config.settings.local", FIDELIZA_VAR_DIR=str(var_dir),
               PYTHONUNBUFFERED="1", **extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def marked(value: str) -> dict[int, str]:
    """{pid: command line} of every live process whose environment carries MARK=value."""
    needle = f"{MARK}={value}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


def environ_of(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(p.decode().split("=", 1) for p in pairs if b"=" in p)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A small var dir with the schema (the `--no-demo` path: no business data)."""
    var_dir = tmp_path_factory.mktemp("run-var")
    subprocess.run([sys.executable, "-m", "fideliza.cli", "migrate", "-v0"], env=_env(var_dir),
                   cwd=ROOT, check=True, timeout=300)
    return var_dir


class Running:
    def __init__(self, var_dir: Path, **extra_env: str) -> None:
        self.mark = uuid.uuid4().hex
        self.port = _free_port()
        self.var_dir = var_dir
        self.log = var_dir / f"run-{self.mark}.log"
        self.env = _env(var_dir, **{MARK: self.mark, **extra_env})
        with open(self.log, "wb") as out:
            # cwd=ROOT: the worker imports tests.core.jobs like any task module.
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "fideliza.cli", "run", "--port", str(self.port), "--web-workers", "1"],
                env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_served(self, timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            assert self.proc.poll() is None, self.output()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login/", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError("not served:\n" + self.output())

    def children(self) -> dict[str, int]:
        """{"web"|"worker"|"scheduler"|"watchdog": pid} of the supervisor's direct children."""
        names = {"gunicorn": "web", "fideliza.cli worker": "worker", "scheduler": "scheduler", "watchdog": "watchdog"}
        out = {}
        for pid, cmd in marked(self.mark).items():
            if Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1] != str(self.proc.pid):
                continue
            for key, name in names.items():
                if key in cmd:
                    out[name] = pid
        return out

    def start_long_job(self) -> tuple[int, int]:
        """Queue a 10-minute job and wait until the worker runs it: (worker pid, its child's pid)."""
        code = f"from tests.core.jobs import hold; hold.enqueue({str(self.var_dir)!r}, 600.0)"
        subprocess.run([sys.executable, "-m", "fideliza.cli", "shell", "-c", code], env=self.env, cwd=ROOT,
                       check=True, timeout=120)
        pid_file = self.var_dir / "hold.pid"
        end = time.monotonic() + 120
        while not pid_file.exists():
            assert time.monotonic() < end, "the worker never started the job:\n" + self.output()
            time.sleep(0.5)
        worker, child = (int(x) for x in pid_file.read_text().split())
        pid_file.unlink()
        return worker, child

    def kill_leftovers(self) -> None:
        for pid in marked(self.mark):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _gone(mark: str, timeout: float) -> dict[int, str]:
    end = time.monotonic() + timeout
    while (left := marked(mark)) and time.monotonic() < end:
        time.sleep(0.2)
    return left


@pytest.fixture
def run(migrated):
    started: list[Running] = []

    def start(**extra_env: str) -> Running:
        r = Running(migrated, **extra_env)
        started.append(r)
        r.wait_served()
        return r

    yield start
    for r in started:  # a failed test must not leave a server behind either
        if r.proc.poll() is None:
            r.proc.kill()
        r.kill_leftovers()


@pytest.mark.parametrize(("signum", "explicit_url"), [(signal.SIGINT, ""), (signal.SIGTERM, "https://crm.example.com")],
                         ids=["ctrl-c", "sigterm"])
def test_stopping_run_stops_every_child_even_a_worker_in_a_long_job(run, signum, explicit_url):
    r = run(**({"FIDELIZA_PUBLIC_URL": explicit_url} if explicit_url else {}))
    kids = r.children()
    assert {"web", "worker", "scheduler", "watchdog"} <= set(kids), kids
    # Links in messages point where this server is served, unless FIDELIZA_PUBLIC_URL says.
    expected_url = explicit_url or f"http://127.0.0.1:{r.port}"
    for name in ("web", "worker", "scheduler"):
        assert environ_of(kids[name])["FIDELIZA_PUBLIC_URL"] == expected_url, name
    assert (f"http://127.0.0.1:{r.port} (cámbielo con FIDELIZA_PUBLIC_URL)" in r.output()) == (not explicit_url)

    worker, job_child = r.start_long_job()
    assert worker == kids["worker"]
    assert job_child in marked(r.mark)
    started = time.monotonic()
    r.proc.send_signal(signum)
    assert r.proc.wait(timeout=STOP_DEADLINE + 30) == 0, r.output()
    took = time.monotonic() - started
    left = _gone(r.mark, timeout=3)
    assert left == {}, f"left running after {signum!r}: {left}\n{r.output()}"
    assert took < STOP_DEADLINE + 5
    assert "Fideliza detenido." in r.output()


def test_children_stop_when_run_itself_is_killed(run):
    """SIGKILL cannot be caught: the watchdog stops the children instead."""
    r = run()
    r.start_long_job()
    r.proc.kill()
    r.proc.wait(timeout=10)
    left = _gone(r.mark, timeout=STOP_DEADLINE + 10)
    assert left == {}, f"left running after the supervisor was killed: {left}\n{r.output()}"


def test_public_url_of_a_host_and_port():
    assert public_url("127.0.0.1", 8101) == "http://127.0.0.1:8101"
    assert public_url("localhost", 80) == "http://localhost:80"
    assert public_url("::1", 8000) == "http://[::1]:8000"
    assert public_url("0.0.0.0", 8000) == f"http://{socket.gethostname()}:8000"
