"""`fideliza worker`: work the background queues with whichever task backend is configured.

The embedded default keeps the queues in the database and runs django-tasks-db's
`db_worker`. With FIDELIZA_TASKS_BACKEND=rq the queues are in Redis and this starts an RQ
worker with django-tasks-rq's job class (RQ runs each job in a forked child and also moves
due deferred tasks, `run_after`, into their queues). Start as many as the load needs, on as
many machines as share the database and Redis; `fideliza scheduler` runs once per site (its
claims make a second one harmless).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

# Which queue a free RQ worker serves first: messages wait on people, a recompute does not.
RQ_ORDER = ("outbox", "default", "imports", "analytics")


def backend_kind() -> str:
    """"database", "rq" or "other" for the default task backend of the settings."""
    backend = str(settings.TASKS["default"]["BACKEND"])
    if backend.startswith("django_tasks_db"):
        return "database"
    if backend.startswith("django_tasks_rq"):
        return "rq"
    return "other"


def rq_queue_names(queues: list[str]) -> list[str]:
    known = list(settings.TASKS["default"].get("QUEUES") or RQ_ORDER)
    chosen = queues or known
    unknown = [q for q in chosen if q not in known]
    if unknown:
        raise CommandError(f"unknown queue(s): {', '.join(unknown)} (known: {', '.join(known)})")
    order = {name: i for i, name in enumerate(RQ_ORDER)}
    return sorted(chosen, key=lambda q: order.get(q, len(order)))


class Command(BaseCommand):
    help = "Run background jobs from the configured task backend (database or Redis/RQ)."
    # The RQ backend's own check asks for django_rq's app, which only adds an admin page.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", action="append", default=[],
                            help="a queue to work (repeatable; default: all of them)")
        parser.add_argument("--burst", action="store_true",
                            help="exit when no job is left instead of waiting for more")
        parser.add_argument("--name", default=None, help="worker name (RQ; default: host and pid)")

    def handle(self, *args: Any, queue: list[str], burst: bool, name: str | None, **options: Any) -> None:
        kind = backend_kind()
        verbosity = int(options.get("verbosity", 1))
        if kind == "database":
            queues = queue or ["*"]
            if len(queues) > 1:
                raise CommandError("the database backend works one queue or all of them (*)")
            extra = ["--batch"] if burst else []
            call_command("db_worker", "--queue-name", queues[0], "--no-reload", *extra, verbosity=verbosity)
            return
        if kind != "rq":
            raise CommandError(f"no worker for the task backend {settings.TASKS['default']['BACKEND']}: "
                               "it runs its tasks itself")
        import django_rq
        from django_rq.utils import reset_db_connections
        from rq.logutils import setup_loghandlers

        setup_loghandlers("DEBUG" if verbosity >= 2 else "WARNING" if verbosity == 0 else "INFO")
        worker = django_rq.get_worker(*rq_queue_names(queue), job_class="django_tasks_rq.Job", name=name)
        reset_db_connections()  # each job runs in a forked child: it opens its own connection
        worker.work(burst=burst, with_scheduler=True)
