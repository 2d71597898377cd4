"""`fideliza run`: the whole product in one command — migrations, optional demo data,
the web server (gunicorn), the background worker and the daily scheduler.

Children are supervised: a worker or scheduler that dies is restarted with back-off;
if the web server stops, everything stops. Ctrl-C stops all of them cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_USERS_HINT = "fideliza-demo"


@dataclass
class Child:
    name: str
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


class Command(BaseCommand):
    help = "Run Fideliza: web server + background worker + scheduler (and the demo business with --demo)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("FIDELIZA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("FIDELIZA_PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--demo", action="store_true",
                            help="load the demo business if the database has no customers")
        parser.add_argument("--demo-customers", type=int, default=5000)
        parser.add_argument("--no-worker", action="store_true", help="do not start the background worker")

    def handle(self, *args, host: str, port: int, web_workers: int, demo: bool,
               demo_customers: int, no_worker: bool, **options) -> None:
        self.stdout.write("· migrando la base de datos…")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if demo:
            self._load_demo_if_empty(demo_customers)
        self._print_logins(host, port)

        python = sys.executable
        children = [
            Child("web", [python, "-m", "gunicorn", "fideliza.config.wsgi:application",
                          "--bind", f"{host}:{port}", "--workers", str(web_workers),
                          "--threads", "4", "--timeout", "120", "--access-logfile", "-",
                          *_gunicorn_control_socket_off()],
                  essential=True),
            Child("scheduler", [python, "-m", "fideliza.cli", "scheduler"], essential=False),
        ]
        if not no_worker and settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db"):
            children.append(Child("worker", [python, "-m", "fideliza.cli", "db_worker",
                                             "--queue-name", "*", "--no-reload"], essential=False))
        self._supervise(children)

    def _load_demo_if_empty(self, customers: int) -> None:
        from fideliza.customers.models import Customer

        if Customer.objects.exists():
            return
        self.stdout.write(f"· creando el negocio de demostración ({customers} clientes)…")
        call_command("demo", customers=customers)

    def _print_logins(self, host: str, port: int) -> None:
        from django.contrib.auth import get_user_model

        users = list(get_user_model().objects.filter(is_active=True).order_by("id")[:10])
        self.stdout.write(self.style.SUCCESS(f"\nFideliza en http://{host}:{port}/"))
        if users:
            self.stdout.write("Usuarios:")
            for user in users:
                self.stdout.write(f"  {user.get_username():<14} {user.get_role_display()}")
            if any(u.check_password(DEMO_USERS_HINT) for u in users[:1]):
                self.stdout.write(f"  contraseña de demostración: {DEMO_USERS_HINT}")
        else:
            self.stdout.write("No hay usuarios: cree uno con `fideliza createsuperuser`.")
        self.stdout.write("Ctrl-C para detener.\n")

    def _supervise(self, children: list[Child]) -> None:
        stopping = False

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for child in children:
            child.proc = subprocess.Popen(child.argv)
        try:
            while not stopping:
                time.sleep(0.5)
                for child in children:
                    if child.proc is not None and child.proc.poll() is not None:
                        code = child.proc.returncode
                        if child.essential:
                            self.stderr.write(f"{child.name} exited ({code}); stopping")
                            stopping = True
                            break
                        child.restarts += 1
                        delay = min(60.0, 2.0 ** min(child.restarts, 6))
                        self.stderr.write(f"{child.name} exited ({code}); restarting in {delay:.0f}s")
                        child.proc = None
                        child.next_start = time.monotonic() + delay
                    elif child.proc is None and time.monotonic() >= child.next_start:
                        child.proc = subprocess.Popen(child.argv)
        finally:
            for child in children:
                if child.proc is not None and child.proc.poll() is None:
                    child.proc.terminate()
            deadline = time.monotonic() + 15
            for child in children:
                if child.proc is not None:
                    try:
                        child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        child.proc.kill()
