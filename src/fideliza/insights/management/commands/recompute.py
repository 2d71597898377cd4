from __future__ import annotations

import datetime as dt
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from fideliza.insights.labels import run_warning_text
from fideliza.insights.services import snapshot_recompute


class Command(BaseCommand):
    help = "Recompute the customer metrics snapshot (RFM, ABC, CLV, churn risk …) now."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                            help="observation end, YYYY-MM-DD (default: today)")

    def handle(self, *args, as_of: dt.date | None, **options) -> None:
        started = time.perf_counter()
        interactive = sys.stdout.isatty()
        last_stage = [""]

        def progress(fraction: float, stage: str) -> None:
            width = 30
            filled = round(fraction * width)
            bar = "#" * filled + "-" * (width - filled)
            line = f"[{bar}] {fraction * 100:5.1f} %  {stage}"
            if interactive:
                self.stdout.write(f"\r{line:<90}", ending="")
                self.stdout.flush()
            elif stage != last_stage[0]:
                self.stdout.write(line)
            last_stage[0] = stage

        try:
            run = snapshot_recompute(as_of=as_of, progress=progress, trigger="command")
        except Exception as exc:
            raise CommandError(f"recompute failed: {exc}") from exc
        if interactive:
            self.stdout.write("")
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(
            f"Snapshot #{run.pk} as of {run.as_of}: {run.customers} customers, "
            f"{run.transactions} orders, {elapsed:.1f} s"
        ))
        for warning in run.warnings:
            self.stdout.write(self.style.WARNING(f"  {run_warning_text(warning)}"))
