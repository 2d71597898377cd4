"""A campaign to a large segment, and the outbox's send rate (issue 6).

1. Builds N customers who consented to e-mail, all in one static segment (bulk inserts into
   a fresh SQLite file, or the PostgreSQL of DATABASE_URL in a throw-away database).
2. Launches a campaign with a coupon offer and an HTML part to the whole segment (10 %
   holdout): holdout draw, channel choice, one coupon per recipient, personalised
   rendering and ONE `messages_queue` call, all in a transaction. Goal: < 30 s at 100 k.
3. Sends M of the queued messages through the real worker code (`messages_send`: claim,
   render links, SMTP, record attempt and event per message) to a local aiosmtpd server,
   and reports messages per second.

Prints the elapsed times, the rates and the process's peak memory (max RSS).

    .venv/bin/python benchmarks/campaign.py [--customers 100000] [--send 5000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/campaign.py
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import socket
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django(tmp: Path, smtp_port: int) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    os.environ["FIDELIZA_VAR_DIR"] = str(tmp)
    os.environ["DJANGO_SETTINGS_MODULE"] = "fideliza.config.settings.local"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    os.environ["EMAIL_HOST"] = "127.0.0.1"
    os.environ["EMAIL_PORT"] = str(smtp_port)
    # The launch hands due ids to the worker on commit; here the benchmark sends them itself.
    os.environ["FIDELIZA_TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"
    # Quiet hours would defer everything when the benchmark runs in the evening.
    os.environ["FIDELIZA_QUIET_HOURS_START"] = ""
    os.environ["FIDELIZA_QUIET_HOURS_END"] = ""
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # aiosmtpd logs every SMTP command at INFO
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        name = f"fideliza_bench_{os.getpid()}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name
        return name
    return ""


class CountingHandler:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
        return "250 OK"


def build(n: int) -> int:
    from django.core.management import call_command
    from django.utils import timezone

    from fideliza.customers.models import ConsentRecord, Customer
    from fideliza.engagement.models import ContactBudget
    from fideliza.segments.models import Segment, SegmentKind, SegmentMember

    call_command("migrate", verbosity=0)
    cities = ["Córdoba", "Sevilla", "Madrid", "Málaga", "Granada", "Jaén", "Cádiz", "Huelva"]
    segment = Segment.objects.create(name="Todos", kind=SegmentKind.STATIC, member_count=n)
    ContactBudget.objects.create(scope="global", max_messages=10, window_days=7)
    now = timezone.now()
    batch = 5000
    for start in range(0, n, batch):
        customers = [Customer(first_name=f"Nombre{i}", last_name="Apellido", city=cities[i % len(cities)],
                              email=f"c{i}@ejemplo.es") for i in range(start, min(n, start + batch))]
        Customer.objects.bulk_create(customers, batch_size=batch)
        ConsentRecord.objects.bulk_create([ConsentRecord(customer_id=c.pk, channel="email", status="granted",
                                                         recorded_at=now, source="bench") for c in customers],
                                          batch_size=batch)
        SegmentMember.objects.bulk_create([SegmentMember(segment=segment, customer_id=c.pk) for c in customers],
                                          batch_size=batch)
    return segment.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--send", type=int, default=5_000, help="messages to send to the local SMTP server")
    parser.add_argument("--profile", action="store_true", help="print the launch's cProfile (top 30, cumulative)")
    args = parser.parse_args()

    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    port = free_port()
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    with tempfile.TemporaryDirectory() as tmp:
        pg_name = setup_django(Path(tmp), port)
        import django

        django.setup()
        from django.db import connection

        from fideliza.campaigns.models import CampaignRecipient
        from fideliza.campaigns.services import MessageContent, campaign_create, campaign_launch
        from fideliza.engagement.models import Message, MessageStatus
        from fideliza.engagement.outbox import messages_send
        from fideliza.segments.models import Segment

        print(f"machine: {platform.machine()} · {os.cpu_count()} CPUs · Python {platform.python_version()}")
        t0 = time.perf_counter()
        segment_id = build(args.customers)
        print(f"database: {connection.vendor}; built {args.customers:,} customers with e-mail consent "
              f"in {time.perf_counter() - t0:.1f} s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

        email = MessageContent(
            subject="{{ nombre }}, un {{ cupon_descripcion }} para ti",
            body_text="Hola {{ nombre }}:\n\nEn {{ ciudad }} te esperamos con tu cupón {{ cupon }}: "
                      "{{ cupon_descripcion }} hasta el {{ cupon_caduca|fecha('largo') }}.\n\nBaja: %%unsubscribe_url%%",
            body_html="<p>Hola {{ nombre }}:</p><p>En {{ ciudad }} te esperamos con tu cupón "
                      "<b>{{ cupon }}</b>: {{ cupon_descripcion }}.</p>"
                      "<p><a href=\"https://tienda.example/ofertas\">Ver ofertas</a> · "
                      "<a href=\"%%unsubscribe_url%%\">Baja</a></p>",
            topic="ofertas")
        campaign = campaign_create(user=None, name="Benchmark", segment=Segment.objects.get(pk=segment_id),
                                   channels=["email"], messages={"email": email}, offer_kind="percent",
                                   offer_value=Decimal(10), holdout_share=Decimal("0.1"))
        # The launch logs the seconds of each phase (members, channels, coupons, render,
        # queue, recipients); the rest of the launch's time is mostly the final commit.
        phases = logging.getLogger("fideliza.campaigns.services")
        phases.setLevel(logging.INFO)
        handler_phases = logging.StreamHandler(sys.stdout)
        handler_phases.setFormatter(logging.Formatter("phases: %(message)s"))
        phases.addHandler(handler_phases)
        phases.propagate = False
        rss_before = peak_mb()
        t = time.perf_counter()
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            summary = profiler.runcall(campaign_launch, campaign)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(os.environ.get("PROFILE_FILTER", ""), 30)
        else:
            summary = campaign_launch(campaign)
        launch_s = time.perf_counter() - t
        queued = summary.counts.get("queued", 0)
        print(f"launch: {args.customers:,} segment members → {queued:,} messages rendered and queued, "
              f"{summary.counts.get('holdout', 0):,} holdout, {CampaignRecipient.objects.count():,} recipient rows, "
              f"{queued:,} coupons in {launch_s:.1f} s ({queued / launch_s:,.0f} messages/s; goal < 30 s)")
        print(f"peak memory (max RSS): {rss_before:.0f} MB before the launch, {peak_mb():.0f} MB after")

        ids = list(Message.objects.filter(status=MessageStatus.QUEUED).order_by("pk")
                   .values_list("pk", flat=True)[:args.send])
        t = time.perf_counter()
        counts = messages_send(ids)
        send_s = time.perf_counter() - t
        deadline = time.monotonic() + 10
        while handler.count < counts.get("sent", 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        print(f"send: {len(ids):,} messages through the worker to aiosmtpd on loopback in {send_s:.1f} s "
              f"= {len(ids) / send_s:,.0f} messages/s (outcomes {dict(counts)}; server received {handler.count:,})")
        from fideliza.campaigns.selectors import campaign_results

        t = time.perf_counter()
        results = campaign_results(summary.campaign)
        print(f"results page figures (events, conversions, uplift over {results['segment_size']:,} recipients) "
              f"in {time.perf_counter() - t:.1f} s")
        print(f"peak memory (max RSS) at the end: {peak_mb():.0f} MB")
        connection.close()
        controller.stop()
        if pg_name:
            import psycopg

            base = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{pg_name}"')


if __name__ == "__main__":
    main()
