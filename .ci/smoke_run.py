#!/usr/bin/env python3
"""Smoke test of the first run, as a newcomer does it: `fideliza run --demo` on a fresh var
dir, on SQLite (the README's embedded default) and with the real date (the demo's history
ends today, so this is the check that the demo loads on the day CI runs).

It waits for HTTP 200 on the login page, logs in as `duena` with a real CSRF form post,
fetches pages that need the session (/, /panel/, /clientes/), then stops the server with
SIGINT (what Ctrl-C sends) and checks that it exits 0 and leaves no process behind. The
whole smoke is bounded by SMOKE_TIMEOUT seconds (600 by default). Standard library only;
run it with the project's venv python: `.venv/bin/python .ci/smoke_run.py`.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIDELIZA = ROOT / ".venv" / "bin" / "fideliza"
MARK = "FIDELIZA_SMOKE_MARK"
USER, PASSWORD = "duena", "fideliza-demo"
PAGES = ("/", "/panel/", "/clientes/")
STOP_TIMEOUT = 60.0


class SmokeFailed(Exception):
    pass


def say(text: str) -> None:
    print(f"[smoke] {text}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def marked(value: str) -> list[str]:
    """Command lines of live processes whose environment carries MARK=value (Linux /proc)."""
    needle = f"{MARK}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(f"{entry.name}: " + (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


class Browser:
    """Cookies and CSRF as a browser does them; every request bounded in time."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str, timeout: float = 60) -> tuple[int, str, str]:
        with self.opener.open(self.base + path, timeout=timeout) as r:
            return r.status, r.geturl(), r.read().decode("utf-8", "replace")

    def post(self, path: str, data: dict[str, str], timeout: float = 60) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data=body, headers={
            "Referer": self.base + path, "Content-Type": "application/x-www-form-urlencoded"})
        with self.opener.open(request, timeout=timeout) as r:
            return r.status, r.geturl(), r.read().decode("utf-8", "replace")


def wait_for_login_page(proc: subprocess.Popen, browser: Browser, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SmokeFailed(f"`fideliza run --demo` exited with {proc.returncode} before serving")
        try:
            status, _url, _body = browser.get("/login/", timeout=10)
            if status == 200:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(2)
    raise SmokeFailed("the login page did not answer 200 in time")


def log_in_and_browse(browser: Browser) -> None:
    status, _url, body = browser.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if status != 200 or not token:
        raise SmokeFailed(f"login page: HTTP {status}, CSRF token {'found' if token else 'missing'}")
    status, url, body = browser.post("/login/", {
        "csrfmiddlewaretoken": token.group(1), "username": USER, "password": PASSWORD, "next": "/"})
    if status != 200 or "/login/" in urllib.parse.urlsplit(url).path:
        raise SmokeFailed(f"logging in as {USER} failed: HTTP {status} at {url}")
    for page in PAGES:
        status, url, _body = browser.get(page)
        path = urllib.parse.urlsplit(url).path
        if status != 200 or "/login/" in path:
            raise SmokeFailed(f"{page}: HTTP {status} at {url} (expected 200 logged in)")
        say(f"GET {page} -> {status}")


def stop(proc: subprocess.Popen, mark: str) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise SmokeFailed(f"`fideliza run` did not stop within {STOP_TIMEOUT:.0f} s of Ctrl-C") from exc
    if code != 0:
        raise SmokeFailed(f"`fideliza run` exited with {code} after Ctrl-C (expected 0)")
    if Path("/proc/self/environ").exists():
        end = time.monotonic() + 5
        while (left := marked(mark)) and time.monotonic() < end:
            time.sleep(0.2)
        if left:
            raise SmokeFailed("processes left running after Ctrl-C:\n  " + "\n  ".join(left))


def _terminated(signum: int, frame: object) -> None:
    raise SmokeFailed("terminated (SIGTERM)")


def main() -> int:
    timeout = float(os.environ.get("SMOKE_TIMEOUT", "600"))
    started = time.monotonic()
    deadline = started + timeout
    var_dir = Path(tempfile.mkdtemp(prefix="fideliza-smoke-"))
    port = int(os.environ.get("SMOKE_PORT") or free_port())
    mark = uuid.uuid4().hex
    log = var_dir / "run.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "FIDELIZA_PUBLIC_URL", "DJANGO_SETTINGS_MODULE", "EMAIL_BACKEND")}
    env.update({"FIDELIZA_VAR_DIR": str(var_dir), "FIDELIZA_PORT": str(port), "FIDELIZA_HOST": "127.0.0.1",
                "PYTHONUNBUFFERED": "1", MARK: mark})
    # A `timeout` around this script sends SIGTERM: turn it into an exception so the server
    # is stopped in `finally` instead of outliving us.
    signal.signal(signal.SIGTERM, _terminated)
    say(f"fideliza run --demo on {var_dir} (SQLite), port {port}, today's date; at most {timeout:.0f} s")
    proc = None
    ok = False
    try:
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(FIDELIZA), "run", "--demo"], cwd=ROOT, env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
        browser = Browser(f"http://127.0.0.1:{port}")
        wait_for_login_page(proc, browser, deadline)
        served = time.monotonic() - started
        say(f"login page 200 after {served:.0f} s (migrations, demo load, server start)")
        log_in_and_browse(browser)
        say(f"logged in as {USER}; pages served after {time.monotonic() - started:.0f} s")
        if time.monotonic() > deadline:
            raise SmokeFailed("out of time")
        t = time.monotonic()
        stop(proc, mark)
        say(f"stopped cleanly with Ctrl-C in {time.monotonic() - t:.1f} s; no process left")
        ok = True
    except SmokeFailed as exc:
        say(f"FAILED: {exc}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()  # its watchdog stops the children
            proc.wait(timeout=30)
        if not ok:
            tail = log.read_text(errors="replace").splitlines()[-60:] if log.exists() else []
            say(f"last lines of {log}:\n" + "\n".join(tail))
            say(f"var dir kept for inspection: {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    say(f"{'passed' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
