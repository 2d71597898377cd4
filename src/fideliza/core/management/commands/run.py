"""`fideliza run`: the whole product in one command — migrations, optional demo data,
the web server (gunicorn), the background worker and the daily scheduler.

Children are supervised: a worker or scheduler that dies is restarted with back-off;
if the web server stops, everything stops.

Stopping is total. Each child runs in a process group of its own (its own children —
gunicorn's workers, the model fit a recompute spawns — are in it too), so Ctrl-C reaches
only this supervisor, which then stops every group: SIGTERM, a second SIGTERM after
`STOP_GRACE` seconds (the database worker finishes its current task on the first one and
abandons it on the second), and SIGKILL at `STOP_DEADLINE`. What is left of a group
after its leader exits is killed too. If the supervisor itself dies without stopping
them (SIGKILL, a crash), a small watchdog process that holds the other end of a pipe
(`fideliza.core.watchdog`) sees the pipe close and stops the same groups the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from .worker import backend_kind

DEMO_USERS_HINT = "fideliza-demo"
STOP_GRACE = 5.0       # seconds before the second SIGTERM
STOP_DEADLINE = 15.0   # seconds before SIGKILL
WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")  # listening on every interface


@dataclass(eq=False)  # identity: a child is a key while stopping
class Child:
    name: str
    label: str
    argv: list[str]
    essential: bool
    proc: subprocess.Popen | None = None
    restarts: int = 0
    next_start: float = 0.0
    started: list[float] = field(default_factory=list)


def _gunicorn_control_socket_off() -> list[str]:
    """gunicorn ≥ 25.1 opens a control socket at one fixed path per user, so two Fideliza
    servers on one machine would fight over it; we do not use it."""
    from importlib.metadata import version

    try:
        major, minor = (int(part) for part in version("gunicorn").split(".")[:2])
    except ValueError:
        return []
    return ["--no-control-socket"] if (major, minor) >= (25, 1) else []


def public_url(host: str, port: int) -> str:
    """The base of the links in messages when FIDELIZA_PUBLIC_URL is not set: the address
    this server is served at (the machine's name when it listens on every interface)."""
    if host in WILDCARD_HOSTS:
        host = socket.gethostname() or "localhost"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


class Command(BaseCommand):
    help = "Run Fideliza: web server + background worker + scheduler (and the demo business with --demo)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("FIDELIZA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("FIDELIZA_PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--demo", action="store_true",
                            help="load the demo business if the database has no business data, and "
                                 "reload it if its last load did not finish")
        parser.add_argument("--demo-customers", type=int, default=5000)
        parser.add_argument("--no-worker", action="store_true", help="do not start the background worker")

    def handle(self, *args, host: str, port: int, web_workers: int, demo: bool,
               demo_customers: int, no_worker: bool, **options) -> None:
        # Links in e-mails point where this server really is, unless told otherwise; the
        # children inherit the variable, so the worker that renders messages uses it too.
        derived_url = ""
        if not os.environ.get("FIDELIZA_PUBLIC_URL"):
            derived_url = public_url(host, port)
            os.environ["FIDELIZA_PUBLIC_URL"] = derived_url
            settings.FIDELIZA_PUBLIC_URL = derived_url
        self.stdout.write("· migrando la base de datos…")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if demo:
            self._load_demo(demo_customers)
        self._print_logins(host, port, derived_url)

        python = sys.executable
        children = [
            Child("web", _("servidor web"),
                  [python, "-m", "gunicorn", "fideliza.config.wsgi:application",
                   "--bind", f"{host}:{port}", "--workers", str(web_workers),
                   "--threads", "4", "--timeout", "120", "--graceful-timeout", str(int(STOP_GRACE)),
                   "--access-logfile", "-", *_gunicorn_control_socket_off()],
                  essential=True),
            Child("scheduler", _("programador"), [python, "-m", "fideliza.cli", "scheduler"], essential=False),
        ]
        if not no_worker and backend_kind() in ("database", "rq"):
            children.append(Child("worker", _("trabajador de tareas"),
                                  [python, "-m", "fideliza.cli", "worker"], essential=False))
        code = self._supervise(children)
        if code:
            raise SystemExit(code)

    def _load_demo(self, customers: int) -> None:
        """The demo business whole, or stop here with the reason (never serve half of it)."""
        try:
            call_command("demo", if_needed=True, customers=customers, interactive=False,
                         stdout=self.stdout._out, stderr=self.stderr._out)
        except CommandError as exc:
            self.stderr.write(self.style.ERROR("\n" + _("No se pudo cargar la demostración: %(reason)s")
                                               % {"reason": exc}))
            self.stderr.write(_(
                "Fideliza no arranca con una demostración a medias. Al volver a ejecutar `make run` "
                "(o `fideliza run --demo`) se borra lo cargado y se carga de nuevo; `fideliza demo "
                "--reset` hace lo mismo a mano. Los archivos generados están en %(dir)s.")
                % {"dir": settings.VAR_DIR / "demo"})
            raise SystemExit(1) from exc
        except KeyboardInterrupt:
            self.stderr.write("\n" + _("Carga de la demostración interrumpida: no se sirve a medias. La "
                                       "próxima `make run` la vuelve a cargar desde el principio."))
            raise SystemExit(130) from None

    def _print_logins(self, host: str, port: int, derived_url: str) -> None:
        from django.contrib.auth import get_user_model

        users = list(get_user_model().objects.filter(is_active=True).order_by("id")[:10])
        self.stdout.write(self.style.SUCCESS(f"\nFideliza en http://{host}:{port}/"))
        if derived_url:
            self.stdout.write(_("Enlaces de los mensajes: %(url)s (cámbielo con FIDELIZA_PUBLIC_URL)")
                              % {"url": derived_url})
        if users:
            self.stdout.write("Usuarios:")
            for user in users:
                self.stdout.write(f"  {user.get_username():<14} {user.get_role_display()}")
            if any(u.check_password(DEMO_USERS_HINT) for u in users[:1]):
                self.stdout.write(f"  contraseña de demostración: {DEMO_USERS_HINT}")
        else:
            self.stdout.write("No hay usuarios: cree uno con `fideliza createsuperuser`.")
        self.stdout.write("Ctrl-C para detener.\n")

    # ------------------------------------------------------------------ supervision

    def _supervise(self, children: list[Child]) -> int:
        """Run the children until a signal or the web server's exit; 0 after a requested stop."""
        signals = {"count": 0}

        def on_signal(signum, frame) -> None:
            signals["count"] += 1

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, on_signal)
        # In a group of its own too, so a Ctrl-C or a kill of this group does not reach it.
        watchdog = subprocess.Popen([sys.executable, "-m", "fideliza.core.watchdog", str(STOP_GRACE),
                                     str(STOP_DEADLINE)], stdin=subprocess.PIPE, process_group=0)
        code = 0
        try:
            for child in children:
                self._start(child, watchdog.stdin)
            while not signals["count"]:
                time.sleep(0.5)
                for child in children:
                    if child.proc is not None and _exited(child.proc):
                        status = _reap(child, watchdog.stdin)
                        if child.essential:
                            self.stderr.write(_("%(name)s terminó (código %(code)s): se detiene todo")
                                              % {"name": child.label, "code": status})
                            code = 1
                            break
                        child.restarts += 1
                        delay = min(60.0, 2.0 ** min(child.restarts, 6))
                        self.stderr.write(_("%(name)s terminó (código %(code)s): se reinicia en %(delay).0f s")
                                          % {"name": child.label, "code": status, "delay": delay})
                        child.next_start = time.monotonic() + delay
                    elif child.proc is None and time.monotonic() >= child.next_start:
                        self._start(child, watchdog.stdin)
                if code:
                    break
        finally:
            self._stop_all(children, watchdog.stdin, signals)
            _tell(watchdog.stdin, "done")
            try:
                if watchdog.stdin is not None:
                    watchdog.stdin.close()
                watchdog.wait(timeout=5)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                watchdog.kill()
        return code

    def _start(self, child: Child, pipe: IO[bytes] | None) -> None:
        # A process group per child: the terminal's Ctrl-C goes to this supervisor alone,
        # and stopping the group reaches the child's own children too.
        child.proc = subprocess.Popen(child.argv, process_group=0)
        child.started.append(time.monotonic())
        _tell(pipe, f"+{child.proc.pid}")

    def _stop_all(self, children: list[Child], pipe: IO[bytes] | None, signals: dict[str, int]) -> None:
        running = {c: c.proc for c in children if c.proc is not None}
        if not running:
            return
        self.stdout.write(_("· deteniendo %(names)s…") % {"names": ", ".join(c.label for c in running)})
        before = signals["count"]
        for proc in running.values():
            _killpg(proc.pid, signal.SIGTERM)
        start = time.monotonic()
        second = False
        while running:
            waited = time.monotonic() - start
            # A second Ctrl-C while stopping means "now".
            if waited >= STOP_DEADLINE or (before and signals["count"] > before):
                for proc in running.values():
                    _killpg(proc.pid, signal.SIGKILL)
            elif waited >= STOP_GRACE and not second:
                second = True
                for proc in running.values():
                    _killpg(proc.pid, signal.SIGTERM)
            for child, proc in list(running.items()):
                if _exited(proc):
                    _reap(child, pipe)
                    del running[child]
            time.sleep(0.1)
        self.stdout.write(_("Fideliza detenido."))


def _tell(pipe: IO[bytes] | None, line: str) -> None:
    if pipe is None:
        return
    with contextlib.suppress(BrokenPipeError, ValueError):  # the watchdog is gone
        pipe.write(line.encode() + b"\n")
        pipe.flush()


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(pgid, sig)


def _exited(proc: subprocess.Popen) -> bool:
    """Whether the child has exited, without reaping it: while it is a zombie its process
    group id cannot be reused, so the group can still be swept safely."""
    if proc.returncode is not None:
        return True
    if hasattr(os, "waitid"):
        try:
            return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return proc.poll() is not None
    return proc.poll() is not None


def _reap(child: Child, pipe: IO[bytes] | None) -> int:
    """Kill what is left of an exited child's group (a grandchild it did not stop), reap it."""
    assert child.proc is not None
    pgid = child.proc.pid
    _killpg(pgid, signal.SIGKILL)
    status = child.proc.wait()
    _tell(pipe, f"-{pgid}")
    child.proc = None
    return status
