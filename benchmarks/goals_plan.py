"""Server time of the six move pages (live lists and plan), the goals page and the home
page on the demo business that `make run` builds, and the queries each makes.

    .venv/bin/python benchmarks/goals_plan.py [--customers 5000] [--years 3] [--repeat 5]

Without DATABASE_URL it builds the demo in a fresh SQLite file (WAL) in a temporary
directory; with DATABASE_URL (a PostgreSQL database that may be emptied) it uses that.
Each page is requested through Django's test client as the owner and as a sales
representative, `--repeat` times; the median wall and CPU milliseconds are printed with
the number of SQL queries of one request (constant in the number of customers: no query
per customer). Also timed: the one-click «crear seguimientos» on the largest line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MOVES = ("relacion", "retencion", "rentabilizacion", "referenciacion", "recuperacion", "reactivacion")


def setup() -> None:
    if not os.environ.get("DATABASE_URL"):
        var = Path(tempfile.mkdtemp(prefix="fideliza-goals-bench-"))
        os.environ["FIDELIZA_VAR_DIR"] = str(var)
        print(f"SQLite database under {var}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fideliza.config.settings.local")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measure(client, url: str, repeat: int) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        response = client.get(url)
        walls.append((time.perf_counter() - w) * 1000)
        cpus.append((time.process_time() - c) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(walls), statistics.median(cpus), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from fideliza.accounts.models import User
    from fideliza.accounts.services import Actor
    from fideliza.demo.services import database_is_empty, demo_populate, demo_reset
    from fideliza.plan.lines import lines_all
    from fideliza.plan.selectors import line_context
    from fideliza.plan.services import line_followups_create

    if not database_is_empty():
        demo_reset(actor=Actor.system("benchmark"))
    t0 = time.perf_counter()
    demo_populate(customers=args.customers, years=args.years, today=timezone.localdate(),
                  out_dir=Path(tempfile.mkdtemp(prefix="fideliza-goals-files-")))
    if connection.vendor == "postgresql":
        # Autovacuum analyzes freshly loaded tables within a minute; without statistics the
        # planner takes 6,000-row tables for 1-row ones and nests loops (seconds per page).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"demo: {args.customers} customers, {args.years} years, {connection.vendor}, "
          f"built in {time.perf_counter() - t0:.1f} s; load {os.getloadavg()[0]:.1f}")
    print(f"{'page':<44} {'as':<11} {'wall ms':>8} {'CPU ms':>8} {'queries':>8}")
    for username in ("duena", "comercial1"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        pages = [("/", "home"), (reverse("goals:list"), "goals")] + [
            (reverse("web:move", kwargs={"slug": slug}), f"move {slug}") for slug in MOVES]
        for url, name in pages:
            wall, cpu, queries = measure(client, url, args.repeat)
            print(f"{name:<44} {username:<11} {wall:8.1f} {cpu:8.1f} {queries:8d}")
    owner = User.objects.get(username="duena")
    ctx = line_context(owner)
    sizes = {line.key: line.customers(ctx).count() for line in lines_all()}
    print("lines (owner): " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    biggest = max(lines_all(), key=lambda line: sizes[line.key])
    t0 = time.perf_counter()
    _action, created = line_followups_create(actor=Actor.of(owner), line=biggest)
    took = time.perf_counter() - t0
    t0 = time.perf_counter()
    _action, again = line_followups_create(actor=Actor.of(owner), line=biggest)
    print(f"one-click follow-ups on {biggest.key}: {created} created in {took:.2f} s "
          f"({took / max(created, 1) * 1000:.1f} ms each); second click {again} in {time.perf_counter() - t0:.2f} s")
    print(f"date {date.today()}")


if __name__ == "__main__":
    main()
