"""Events at the size of a big invitation list: sending, answering, the pages.

    .venv/bin/python benchmarks/events.py [--guests 20000] [--answers 1000] [--repeat 10]

Without DATABASE_URL it uses a fresh SQLite file (WAL) in a temporary directory; with
DATABASE_URL (PostgreSQL) it migrates that database, which must hold no customers. It
writes `--guests` customers with e-mail consent in one static segment and an event for it
(capacity: half the guests), then times what the user runs:

- «Enviar invitaciones»: `invitations_send` for the whole segment (the outbox's gate for
  every guest, the messages and the invitation rows; the sending itself is the worker's
  and is measured by benchmarks/campaign.py);
- `--answers` guests answering «sí» one after another through `rsvp_answer` (the event's
  row lock, the capacity count), then as many «no» (each promoting the waiting list);
- the event's page (first 500 invitees, the report) and the door's search, through
  Django's test client as the owner, `--repeat` times after a warm-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def setup_django(workdir: Path) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fideliza.config.settings.local")
    os.environ.setdefault("FIDELIZA_VAR_DIR", str(workdir))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("FIDELIZA_QUIET_HOURS_START", "")  # time whatever the hour
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    return connection.vendor


def timed(fn, repeat: int) -> tuple[float, float]:
    fn()  # warm-up
    laps = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        laps.append((time.perf_counter() - start) * 1000)
    return statistics.median(laps), max(laps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guests", type=int, default=20_000)
    parser.add_argument("--answers", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="fz-events-bench-"))
    vendor = setup_django(workdir)

    from django.test import Client

    from fideliza.accounts.models import User
    from fideliza.accounts.services import Actor
    from fideliza.customers.models import ConsentRecord, Customer
    from fideliza.events.models import Invitation
    from fideliza.events.services import event_save, invitations_send, rsvp_answer
    from fideliza.segments.models import Segment, SegmentKind, SegmentMember

    print(f"events benchmark · {vendor} · Python {platform.python_version()} · {args.guests:,} guests")
    if Customer.objects.exists():
        sys.exit("the database already holds customers")
    owner = User.objects.create_user(username="bench-owner", password="bench-pass-1", role="owner")
    now = datetime.now(UTC)
    start = time.perf_counter()
    customers = Customer.objects.bulk_create(
        [Customer(first_name=f"Invitado{n}", last_name="Prueba", email=f"g{n}@example.com", city="Córdoba")
         for n in range(args.guests)], batch_size=2000)
    ConsentRecord.objects.bulk_create(
        [ConsentRecord(customer=c, channel="email", status="granted", source="bench",
                       recorded_at=now - timedelta(days=30)) for c in customers], batch_size=2000)
    segment = Segment.objects.create(name="Todos", kind=SegmentKind.STATIC, member_count=len(customers))
    SegmentMember.objects.bulk_create([SegmentMember(segment=segment, customer=c) for c in customers],
                                      batch_size=2000)
    print(f"  setup: {time.perf_counter() - start:.1f} s")

    actor = Actor.of(owner)
    event = event_save(actor=actor, data={
        "kind": "year_end", "title": "Jornada", "starts_at": now + timedelta(days=20),
        "ends_at": now + timedelta(days=20, hours=3), "place": "Tienda", "capacity": max(1, args.guests // 2),
        "audience_segment": segment, "status": "published"})
    start = time.perf_counter()
    summary = invitations_send(actor=actor, event=event)
    sent = time.perf_counter() - start
    print(f"  invitations_send: {summary.invited:,} invited in {sent:.2f} s "
          f"({summary.invited / sent:,.0f} guests/s; gate, messages and invitation rows)")

    ids = list(Invitation.objects.filter(event=event).order_by("pk").values_list("pk", flat=True)[:args.answers])
    for answer in ("yes", "no"):
        start = time.perf_counter()
        for pk in ids:
            rsvp_answer(invitation=Invitation(pk=pk, event_id=event.pk), answer=answer)
        took = time.perf_counter() - start
        print(f"  rsvp_answer «{answer}» × {len(ids):,}: {took * 1000 / len(ids):.2f} ms each")

    client = Client()
    client.force_login(owner)
    for label, url in (("event page (500 invitees, report)", f"/eventos/{event.pk}/"),
                       ("door search", f"/eventos/{event.pk}/puerta/?q=invitado1234")):
        median, worst = timed(lambda url=url: client.get(url), args.repeat)
        print(f"  {label}: median {median:.0f} ms, max {worst:.0f} ms")


if __name__ == "__main__":
    main()
