"""`fideliza import customers|products|orders|tickets FILE --source NAME`: validate, then commit atomically."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fideliza.accounts.services import Actor
from fideliza.imports.convert import format_error
from fideliza.imports.models import ImportKind, ImportStatus
from fideliza.imports.reader import ImportOptions
from fideliza.imports.services import import_file

DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}


class ProgressBar:
    """A one-line progress bar on stderr (redrawn at most 10 times a second)."""

    def __init__(self, stream: Any, label: str, enabled: bool) -> None:
        self.stream, self.label, self.enabled = stream, label, enabled
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        width = 30
        frac = done / total if total else 1.0
        bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
        self.stream.write(f"\r{self.label} [{bar}] {frac:4.0%} {done:,}/{total:,}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = ("Import a CSV or XLSX file of customers, products, orders (one row per order "
            "line) or tickets (one row per purchase: customer, date, amount). Validates the "
            "whole file first; writes nothing if any row is wrong.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=[k.value for k in ImportKind])
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", required=True,
                            help="name of the source system (its ids are kept per source), e.g. tpv")
        parser.add_argument("--encoding", help="utf-8, cp1252, latin-1 (detected by default)")
        parser.add_argument("--delimiter", help="',', ';', tab or '|' (detected by default)")
        parser.add_argument("--decimal", choices=[",", "."], help="decimal mark (detected by default)")
        parser.add_argument("--date-format", help="strftime pattern, e.g. %%d/%%m/%%Y (detected by default)")
        parser.add_argument("--sheet", help="XLSX sheet name (first sheet by default)")
        parser.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                            help="assign a file column to a field; FIELD empty ignores the column. Repeatable.")
        parser.add_argument("--create-missing-products", action="store_true",
                            help="orders: create a product for an unknown SKU instead of rejecting the row")
        parser.add_argument("--no-create-stores", action="store_true",
                            help="orders: reject unknown store codes instead of creating the stores")
        parser.add_argument("--create-missing-customers", action="store_true",
                            help="orders, tickets: give an unknown customer a minimal card (only its "
                                 "id, «solo identificador»); a later customers file of the same "
                                 "source fills that card")
        parser.add_argument("--user", help="username recorded as the author (default: the command line)")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")

    def handle(self, *args: Any, **opts: Any) -> None:
        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        mapping: dict[str, str | None] = {}
        for item in opts["map"]:
            column, sep, field = item.partition("=")
            if not sep:
                raise CommandError(f"--map expects COLUMN=FIELD, got {item!r}")
            mapping[column.strip()] = field.strip() or None
        delimiter = opts["delimiter"]
        if delimiter:
            delimiter = DELIMITER_NAMES.get(delimiter.lower(), delimiter)
        options = ImportOptions(
            encoding=opts["encoding"], delimiter=delimiter, decimal=opts["decimal"],
            date_format=opts["date_format"], sheet=opts["sheet"],
            create_missing_products=opts["create_missing_products"],
            create_missing_stores=not opts["no_create_stores"],
            create_missing_customers=opts["create_missing_customers"],
        )
        user = None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"No user {opts['user']!r}")
        actor = Actor.of(user, via="cli") if user else Actor.system("cli:import")
        bar = ProgressBar(sys.stderr, path.name, enabled=opts["verbosity"] > 0)
        run = import_file(path=path, kind=opts["kind"], source=opts["source"], actor=actor,
                          options=options, mapping=mapping or None, progress=bar,
                          dry_run=opts["dry_run"])
        detected = run.options
        self.stdout.write(
            f"{run.file_name}: encoding={detected.get('encoding')} "
            f"delimiter={detected.get('delimiter')!r} decimal={detected.get('decimal')!r}")
        mapped = ", ".join(f"{col} → {field}" for col, field in (detected.get("mapping") or {}).items()
                           if field)
        if mapped:
            self.stdout.write(f"columns: {mapped}")
        for note in detected.get("notes") or []:
            self.stderr.write(note)
        if run.status == ImportStatus.INVALID or run.status == ImportStatus.FAILED:
            for error in run.errors:
                self.stderr.write(format_error(error))
            if run.error_count > len(run.errors):
                self.stderr.write(f"… and {run.error_count - len(run.errors)} more errors")
            raise CommandError(
                f"Import #{run.pk} {run.status}: {run.error_count} errors in "
                f"{run.rows_rejected} rows; nothing was written.")
        verb = "would be" if opts["dry_run"] else "were"
        summary = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in
                            (detected.get("summary") or {}).items())
        self.stdout.write(self.style.SUCCESS(
            f"Import #{run.pk} {run.status}: {run.rows_total} rows read; "
            f"{run.rows_created} {verb} created, {run.rows_updated} updated, "
            f"{run.rows_unchanged} unchanged." + (f" ({summary})" if summary else "")))
