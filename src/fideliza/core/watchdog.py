"""`python -m fideliza.core.watchdog GRACE DEADLINE`: stops `fideliza run`'s children
if `fideliza run` itself dies without stopping them (SIGKILL, a crash, out of memory).

It reads "+<pgid>" / "-<pgid>" lines on stdin, one per child process group started or
reaped by the supervisor. End of file without a "done" line means the supervisor is gone:
then every group still known gets SIGTERM, a second SIGTERM after GRACE seconds and
SIGKILL at DEADLINE, exactly as the supervisor stops them. Plain Python, no Django: it
must start in milliseconds and outlive everything else.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def _send(groups: set[int], sig: int) -> bool:
    """Signal every group; True while any of them still has a process."""
    alive = False
    for pgid in list(groups):
        try:
            os.killpg(pgid, sig)
            alive = True
        except ProcessLookupError:
            groups.discard(pgid)
        except PermissionError:  # the number now belongs to someone else's group
            groups.discard(pgid)
    return alive


def watch(grace: float, deadline: float, fd: int = 0) -> int:
    for sig in (signal.SIGINT, signal.SIGHUP):  # Ctrl-C and a closed terminal are the supervisor's
        signal.signal(sig, signal.SIG_IGN)
    groups: set[int] = set()
    buf = b""
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line == b"done":
                return 0
            if line[:1] == b"+":
                groups.add(int(line[1:]))
            elif line[:1] == b"-":
                groups.discard(int(line[1:]))
    start = time.monotonic()
    second = False
    if _send(groups, signal.SIGTERM):
        while _send(groups, 0):
            waited = time.monotonic() - start
            if waited >= deadline:
                _send(groups, signal.SIGKILL)
                break
            if waited >= grace and not second:
                second = True
                _send(groups, signal.SIGTERM)
            time.sleep(0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(watch(float(sys.argv[1]), float(sys.argv[2])))
