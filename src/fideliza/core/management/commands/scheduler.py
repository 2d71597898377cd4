from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from fideliza.core.scheduler import enqueue_due_jobs


class Command(BaseCommand):
    help = "Enqueue the daily jobs of FIDELIZA_SCHEDULE when they are due (runs until stopped)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=30.0, help="seconds between checks")
        parser.add_argument("--once", action="store_true", help="check once and exit")

    def handle(self, *args, interval: float, once: bool, **options) -> None:
        while True:
            close_old_connections()
            for name in enqueue_due_jobs():
                self.stdout.write(f"enqueued {name}")
            if once:
                return
            time.sleep(interval)
