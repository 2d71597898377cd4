"""The complaints book: deadlines, filing, the list and the report.

    .venv/bin/python benchmarks/complaints.py [--complaints 20000] [--customers 5000] [--repeat 5]

Without DATABASE_URL it uses a fresh SQLite file (WAL) in a temporary directory; with
DATABASE_URL (PostgreSQL) it migrates that database, which must hold no complaints. It times

- the deadline calculator: `due_at` for 10,000 filings spread over two years under Peru's,
  Spain's (Andalucía) and Colombia's rules (the holidays are computed once per year and cached);
- `complaint_file` (card matching, deadlines, follow-up, copy through the outbox) 200 times;
- with `--complaints` complaints over twelve months in the table (bulk, mixed states, a
  recovery gesture on a fifth of the resolved ones): the report (`complaints_report`,
  Paretos, medians, breaches by store, recovered customers, ROI) and the whole request
  GET /quejas/ and GET /quejas/informe/ as the owner, `--repeat` times after a warm-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def setup_django(workdir: Path) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fideliza.config.settings.local")
    os.environ.setdefault("FIDELIZA_VAR_DIR", str(workdir))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    return connection.vendor


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    fn()
    out = []
    for _i in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--complaints", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="fz-complaints-"))
    vendor = setup_django(workdir)

    from django.test import Client

    from fideliza.accounts.models import User
    from fideliza.accounts.services import Actor
    from fideliza.complaints import rules as R
    from fideliza.complaints.models import (
        Complaint,
        ComplaintCategory,
        ComplaintStatus,
        GestureKind,
        RecoveryGesture,
    )
    from fideliza.complaints.selectors import complaints_report
    from fideliza.complaints.services import Filing, complaint_file
    from fideliza.customers.models import Customer

    assert not Complaint.objects.exists(), "the database already holds complaints"
    rng = random.Random(16)
    print(f"complaints benchmark · {vendor} · Python {platform.python_version()} · {platform.machine()}")

    # 1. Deadlines.
    start = datetime(2025, 1, 1, 12, tzinfo=UTC)
    sets = [(R.rule_set("PE"), ""), (R.rule_set("ES"), "AN"), (R.rule_set("CO"), "")]
    moments = [start + timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60)) for _i in range(10_000)]
    t0 = time.perf_counter()
    for i, moment in enumerate(moments):
        rules, region = sets[i % 3]
        R.due_at(moment, rules.days, rules, region)
    print(f"deadline: 10,000 due_at in {(time.perf_counter() - t0) * 1000:.0f} ms "
          f"({(time.perf_counter() - t0) / 10:.3f} ms each, holidays cached per year)")

    owner = User.objects.create_user(username="duena-bench", password="x", role="owner", is_staff=True)

    # 2. Filing, with everything it causes.
    durations = []
    for i in range(200):
        t0 = time.perf_counter()
        complaint_file(actor=Actor.system("bench"), filing=Filing(
            rules="ES", subdivision="AN", kind="queja", name=f"Cliente {i}", email=f"c{i}@example.com",
            document_number="12345678Z", address="Calle Mayor 1",
            description="El pedido llegó con una semana de retraso."))
        durations.append((time.perf_counter() - t0) * 1000)
    print(f"complaint_file ×200: median {statistics.median(durations):.1f} ms, "
          f"p90 {statistics.quantiles(durations, n=10)[-1]:.1f} ms")

    # 3. A year of complaints in bulk.
    customers = Customer.objects.bulk_create(
        [Customer(first_name=f"Persona{i}", email=f"p{i}@example.com") for i in range(args.customers)],
        batch_size=2000)
    categories = [ComplaintCategory.objects.create(name=f"Motivo {i}") for i in range(8)]
    now = datetime.now(UTC)
    es = R.rule_set("ES")
    rows = []
    for i in range(args.complaints):
        received = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        status = rng.choice(ComplaintStatus.values)
        first = received + timedelta(hours=rng.randint(1, 96)) if status != "new" else None
        resolved = first + timedelta(days=rng.randint(0, 20)) if first and status in ("resolved", "closed") else None
        rows.append(Complaint(
            tracking_code=f"HR-B-{i:08d}", rules="ES", subdivision="AN", kind="queja", channel="web", status=status,
            customer=customers[i % len(customers)], category=rng.choice(categories), name="Persona",
            description="Benchmark", received_at=received, first_response_at=first, resolved_at=resolved,
            due_at=None if status == "waiting" else R.due_at(received, 10, es, "AN"),
            first_response_due_at=R.due_at(received, 2, es, "AN")))
    made = Complaint.objects.bulk_create(rows, batch_size=2000)
    gestures = [RecoveryGesture(complaint=c, customer_id=c.customer_id, kind=GestureKind.COUPON, value=Decimal(10),
                                cost=Decimal(10), created_at=c.resolved_at)
                for c in made if c.resolved_at is not None and rng.random() < 0.2]
    RecoveryGesture.objects.bulk_create(gestures, batch_size=2000)
    if vendor == "postgresql":
        from django.db import connection

        with connection.cursor() as cursor:  # what autovacuum does after a bulk load
            cursor.execute("ANALYZE")
    print(f"table: {Complaint.objects.count():,} complaints, {len(gestures):,} gestures, {args.customers:,} customers")

    report = timed(lambda: complaints_report(user=owner, since=now - timedelta(days=372), now=now), args.repeat)
    print(f"complaints_report (12 months): median {statistics.median(report):.0f} ms")
    client = Client()
    client.force_login(owner)
    for url in ("/quejas/", "/quejas/informe/"):
        spent = timed(lambda url=url: client.get(url), args.repeat)
        print(f"GET {url}: median {statistics.median(spent):.0f} ms, max {max(spent):.0f} ms")


if __name__ == "__main__":
    main()
