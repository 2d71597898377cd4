"""Real processes for the loyalty race tests: a gunicorn server with several worker
processes on the test database, and client processes that fire HTTP requests together.

Stdlib only and free of Django, because this file is also the client program
(`python processes.py`): it starts in milliseconds and shares nothing with the test
process. Protocol with a client, once per burst: the spec as one JSON line on stdin → it starts one
thread per request and prints "ready" → "go" on stdin releases every request at once
→ one JSON line of replies on stdout. End of stdin ends it.
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[2]

# Written next to the server; gunicorn calls the hook once a worker has loaded the app,
# so the test can wait until every worker accepts requests (not just the first one).
GUNICORN_CONFIG = '''
import os
from pathlib import Path

# gunicorn >= 25.1 opens a control socket at one fixed path per user: two servers (two test
# runs, or `fideliza run` next to a test) would fight over it. Older versions ignore this.
control_socket_disable = True

def post_worker_init(worker):
    # Import the URLconf (views, API schemas) now, not inside the first request of the race.
    from django.urls import get_resolver

    get_resolver().url_patterns
    Path(os.environ["FIDELIZA_TEST_READY_DIR"], str(worker.pid)).touch()
'''


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    call: Call
    status: int  # 0 when the request failed below HTTP (refused, reset, timeout)
    text: str
    error: str | None
    headers: dict[str, str]  # response headers, names in lower case
    client_pid: int
    started: float  # time.time() in the client, to measure overlap across processes
    finished: float

    def json(self) -> Any:
        return json.loads(self.text)


def database_url(settings: dict[str, Any]) -> str:
    """postgres://… for Django's connection settings (the test database's real name)."""
    user = quote(settings.get("USER") or "", safe="")
    password = quote(settings.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings.get("HOST") or "127.0.0.1"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(settings['NAME'], safe='')}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn fideliza.config.wsgi:application` as `fideliza run` starts it, with
    `workers` processes of `threads` threads, pointed at `database_url`."""

    def __init__(self, *, database_url: str, workdir: Path, workers: int = 4, threads: int = 4,
                 settings: str = "fideliza.config.settings.local") -> None:
        self.workers = workers
        self.threads = threads
        self.port = 0
        self.workdir = workdir
        self.ready_dir = workdir / "ready"
        self.stderr_path = workdir / "gunicorn.stderr"
        self.access_path = workdir / "gunicorn.access"
        self.proc: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "DATABASE_URL": database_url,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "0",
            "SECRET_KEY": "test-" + secrets.token_urlsafe(32),
            "FIDELIZA_VAR_DIR": str(workdir / "var"),
            "STATIC_ROOT": str(workdir / "static"),
            "LOG_LEVEL": "ERROR",
            "FIDELIZA_TEST_READY_DIR": str(self.ready_dir),
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn", "fideliza.config.wsgi:application",
            "--config", str(self.workdir / "gunicorn_conf.py"),
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers), "--threads", str(self.threads),
            # Stopped only once every request has been answered: no need to linger (the
            # master waits out the whole graceful timeout even when its workers are gone).
            "--timeout", "120", "--graceful-timeout", "1",
            # A worker takes only as many connections as it has threads, so a burst is
            # spread over every worker (by default the first to wake could accept it all
            # and queue it in its own thread pool: no overlap across processes).
            "--worker-connections", str(self.threads),
            "--access-logfile", str(self.access_path), "--access-logformat", "%(p)s %(s)s %(m)s %(U)s %(D)s",
        ]

    def start(self, *, timeout: float = 90) -> None:
        (self.workdir / "static").mkdir(exist_ok=True)
        (self.workdir / "gunicorn_conf.py").write_text(GUNICORN_CONFIG)
        for attempt in range(3):
            self.ready_dir.mkdir(parents=True, exist_ok=True)
            for old in self.ready_dir.iterdir():
                old.unlink()
            self.port = free_port()
            with self.stderr_path.open("ab") as stderr:
                self.proc = subprocess.Popen(self.argv(), cwd=REPO, env=self.env, stdin=subprocess.DEVNULL,
                                             stdout=stderr, stderr=stderr, start_new_session=True)
            if self._wait_ready(timeout):
                return
            # Someone took the free port between our probe and gunicorn's bind: another one.
            if "Connection in use" not in self.log_tail() or attempt == 2:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}\n{self.log_tail()}")

    def _wait_ready(self, timeout: float) -> bool:
        """True once every worker has loaded the app and the socket answers HTTP; False if
        gunicorn exited."""
        deadline = time.monotonic() + timeout
        while len(list(self.ready_dir.iterdir())) < self.workers:
            if self.proc.poll() is not None:
                return False
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn workers not ready after {timeout}s\n{self.log_tail()}")
            time.sleep(0.1)
        while True:
            try:
                urllib.request.urlopen(self.base_url + "/api/v1/loyalty/rewards", timeout=10).close()
                return True
            except urllib.error.HTTPError:
                return True  # any HTTP answer (401 without a token) means the stack is up
            except OSError:
                if self.proc.poll() is not None:
                    return False
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"gunicorn does not answer on {self.base_url}\n{self.log_tail()}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # the master stops its workers gracefully
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)  # its own session: only this server's processes
            self.proc.wait(timeout=5)

    def log_tail(self, chars: int = 6000) -> str:
        """The end of the server's log without django.request's warning per 4xx (the 409s
        are the expected outcome; they would push a traceback out of view)."""
        try:
            lines = self.stderr_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no server log)"
        text = "\n".join(line for line in lines if " WARNING django.request " not in line)
        return "--- gunicorn stderr (tail) ---\n" + text[-chars:]

    def access_lines(self) -> list[list[str]]:
        """The access log so far: [worker pid, status, method, path, µs] per request."""
        text = self.access_path.read_text() if self.access_path.exists() else ""
        return [line.split() for line in text.splitlines() if line.strip()]


class Clients:
    """`processes` client processes, kept for many bursts (starting Python is most of the
    cost of a small burst on a busy machine). Close them with `close()`."""

    def __init__(self, processes: int = 4) -> None:
        self.procs: list[subprocess.Popen] = []
        self.logs = []
        for _n in range(processes):
            log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process; close() closes it
            self.logs.append(log)
            self.procs.append(subprocess.Popen([sys.executable, "-I", "-S", __file__], stdin=subprocess.PIPE,
                                               stdout=subprocess.PIPE, stderr=log))

    def burst(self, base_url: str, calls: list[Call], *, timeout: float = 120) -> list[Reply]:
        """Send every call at the same instant (one thread and one connection per call,
        spread over the processes); the replies in the order of `calls`."""
        chunks = [list(range(n, len(calls), len(self.procs))) for n in range(len(self.procs))]
        deadline = time.monotonic() + timeout
        for proc, chunk in zip(self.procs, chunks, strict=True):
            spec = {"base_url": base_url, "timeout": timeout,
                    "calls": [{"method": calls[i].method, "path": calls[i].path, "body": calls[i].body,
                               "headers": calls[i].headers} for i in chunk]}
            self._send(proc, json.dumps(spec))
        for proc in self.procs:
            self._expect(proc, deadline, b"ready")
        for proc in self.procs:  # the barrier: every thread is waiting, release them all
            self._send(proc, "go")
        replies: dict[int, Reply] = {}
        for proc, chunk in zip(self.procs, chunks, strict=True):
            for i, raw in zip(chunk, json.loads(self._expect(proc, deadline)), strict=True):
                replies[i] = Reply(call=calls[i], client_pid=proc.pid, **raw)
        return [replies[i] for i in range(len(calls))]

    def _send(self, proc: subprocess.Popen, line: str) -> None:
        try:
            proc.stdin.write(line.encode() + b"\n")
            proc.stdin.flush()
        except BrokenPipeError:
            self._fail(proc, "exited")

    def _expect(self, proc: subprocess.Popen, deadline: float, wanted: bytes | None = None) -> bytes:
        # One line at a time: a client writes its next line only after our next message,
        # so nothing waits in the reader's buffer where select() cannot see it.
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            ready = sel.select(max(0.0, deadline - time.monotonic()))
        line = proc.stdout.readline() if ready else b""
        if not line or (wanted is not None and line.strip() != wanted):
            self._fail(proc, f"answered {line[:200]!r}" if line else "timed out or exited")
        return line

    def _fail(self, proc: subprocess.Popen, what: str) -> None:
        log = self.logs[self.procs.index(proc)]
        self.close()
        log.seek(0)
        raise RuntimeError(f"client process {proc.pid} {what}: {log.read().decode(errors='replace')[-2000:]}")

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    proc.stdin.close()  # end of input: the client exits
                    proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    proc.kill()
                    proc.wait()
        for log in self.logs:
            log.close()


def max_in_flight(replies: list[Reply]) -> int:
    """Most requests open at one instant, as seen by the clients (all processes)."""
    events = sorted([(r.started, 1) for r in replies] + [(r.finished, -1) for r in replies])
    best = now = 0
    for _t, step in events:
        now += step
        best = max(best, now)
    return best


# --- the client program ------------------------------------------------------------------

def _client() -> None:
    for line in iter(sys.stdin.readline, ""):
        results = _client_burst(json.loads(line))
        if results is None:
            return
        sys.stdout.write(json.dumps(results) + "\n")
        sys.stdout.flush()


def _client_burst(spec: dict[str, Any]) -> list[dict[str, Any]] | None:
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(spec["base_url"])
    go = threading.Event()
    started_threads = threading.Barrier(len(spec["calls"]) + 1)
    results: list[dict[str, Any]] = [{} for _ in spec["calls"]]

    def one(n: int, call: dict[str, Any]) -> None:
        # Connect only after "go", like a till per sale: a connection opened early and left
        # idle would be closed by gunicorn after its keep-alive time on a slow machine.
        body = None if call["body"] is None else json.dumps(call["body"]).encode()
        headers = {"Content-Type": "application/json", "Connection": "close", **call["headers"]}
        started_threads.wait()
        go.wait()
        started = time.time()
        status, text, response_headers, error = 0, "", {}, None
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=spec["timeout"])
        try:
            conn.request(call["method"], call["path"], body=body, headers=headers)
            response = conn.getresponse()
            status, text = response.status, response.read().decode("utf-8", "replace")
            response_headers = {name.lower(): value for name, value in response.getheaders()}
        except OSError as exc:
            error = repr(exc)
        finally:
            conn.close()
        results[n] = {"status": status, "text": text, "error": error, "headers": response_headers,
                      "started": started, "finished": time.time()}

    threads = [threading.Thread(target=one, args=(n, call), daemon=True) for n, call in enumerate(spec["calls"])]
    for thread in threads:
        thread.start()
    started_threads.wait()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    if sys.stdin.readline().strip() != "go":
        return None
    go.set()
    for thread in threads:
        thread.join()
    return results


if __name__ == "__main__":
    _client()
