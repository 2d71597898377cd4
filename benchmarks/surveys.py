"""Survey invitations through a campaign, and the results page over many answers (issue 16).

1. Builds N customers who consented to e-mail, in one static segment (bulk inserts into a
   fresh SQLite file, or the PostgreSQL of DATABASE_URL in a throw-away database).
2. Launches a campaign that carries an NPS survey to the whole segment (no holdout): one
   personal signed link per recipient (invitation rows), the 0–10 scale embedded in each
   e-mail, rendering and ONE `messages_queue` call, in a transaction. Goal: < 30 s at 100 k.
3. Writes A answered responses (with their answers and comments) to a second survey over
   the last 12 months, then times the results page (NPS with its margin, CSAT, CES, response
   rate, the month trend, the breakdowns and the latest comments) as the server renders it
   for the owner through Django's test client: median of R requests. Goal: < 500 ms at 200 k.
   The word-frequency view (an extra button) is timed separately.

    .venv/bin/python benchmarks/surveys.py [--customers 100000] [--answers 200000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/surveys.py
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

COMMENTS = ["El pedido llegó incompleto y nadie me avisó.", "Me asesoran muy bien y encuentro de todo.",
            "Esperé veinte minutos en caja.", "Buen surtido, algo caros en pintura.", "", "", ""]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django(tmp: Path) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    os.environ["FIDELIZA_VAR_DIR"] = str(tmp)
    os.environ["DJANGO_SETTINGS_MODULE"] = "fideliza.config.settings.local"
    os.environ["FIDELIZA_TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"  # nothing is sent
    os.environ["FIDELIZA_QUIET_HOURS_START"] = ""
    os.environ["FIDELIZA_QUIET_HOURS_END"] = ""
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        name = f"fideliza_bench_{os.getpid()}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name
        return name
    return ""


def build(n: int) -> int:
    from django.core.management import call_command
    from django.utils import timezone

    from fideliza.customers.models import ConsentRecord, Customer
    from fideliza.engagement.models import ContactBudget
    from fideliza.segments.models import Segment, SegmentKind, SegmentMember

    call_command("migrate", verbosity=0)
    segment = Segment.objects.create(name="Todos", kind=SegmentKind.STATIC, member_count=n)
    ContactBudget.objects.create(scope="global", max_messages=10, window_days=7)
    now = timezone.now()
    batch = 5000
    for start in range(0, n, batch):
        customers = [Customer(first_name=f"Nombre{i}", last_name="Apellido", email=f"c{i}@ejemplo.es")
                     for i in range(start, min(n, start + batch))]
        Customer.objects.bulk_create(customers, batch_size=batch)
        ConsentRecord.objects.bulk_create([ConsentRecord(customer_id=c.pk, channel="email", status="granted",
                                                         recorded_at=now, source="bench") for c in customers],
                                          batch_size=batch)
        SegmentMember.objects.bulk_create([SegmentMember(segment=segment, customer_id=c.pk) for c in customers],
                                          batch_size=batch)
    return segment.pk


def answers_build(survey_id: int, customer_ids: list[int], n: int) -> None:
    """`n` finished responses to the NPS template's survey, spread over 12 months."""
    from django.utils import timezone

    from fideliza.surveys.models import Answer, Question, Response, month_of

    rng = random.Random(16)
    now = timezone.now()
    score_q, why_q, _best = Question.objects.filter(survey_id=survey_id).order_by("position")
    batch = 5000
    for start in range(0, n, batch):
        rows = []
        for _i in range(start, min(n, start + batch)):
            at = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
            rows.append(Response(survey_id=survey_id, customer_id=rng.choice(customer_ids), channel="link",
                                 started_at=at, month=month_of(at), finished_at=at + timedelta(minutes=2),
                                 nps=rng.choices(range(11), weights=(3, 2, 2, 3, 3, 5, 7, 12, 18, 22, 23))[0],
                                 tier=rng.choice(("Oro", "Plata", "Bronce", "")), abc_class=rng.choice("ABC"),
                                 verbatim=rng.choice(COMMENTS)))
        Response.objects.bulk_create(rows, batch_size=batch)
        answers = [Answer(response=r, question=score_q, number=r.nps) for r in rows]
        answers += [Answer(response=r, question=why_q, text=r.verbatim) for r in rows if r.verbatim]
        Answer.objects.bulk_create(answers, batch_size=batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=7, help="results page requests (median reported)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        pg_name = setup_django(Path(tmp))
        import django

        django.setup()
        from django.db import connection
        from django.test import Client
        from django.urls import reverse

        from fideliza.accounts.models import User
        from fideliza.accounts.services import Actor
        from fideliza.campaigns.services import MessageContent, campaign_create, campaign_launch
        from fideliza.customers.models import Customer
        from fideliza.segments.models import Segment
        from fideliza.surveys.models import Invitation
        from fideliza.surveys.services import survey_from_template

        print(f"machine: {platform.machine()} · {os.cpu_count()} CPUs · Python {platform.python_version()}")
        t0 = time.perf_counter()
        segment_id = build(args.customers)
        print(f"database: {connection.vendor}; built {args.customers:,} customers with e-mail consent "
              f"in {time.perf_counter() - t0:.1f} s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        owner = User.objects.create_user(username="duena", password="clave-bench-1", role="owner")
        survey = survey_from_template(actor=Actor.of(owner), template="nps")
        email = MessageContent(subject="{{ nombre }}, ¿nos recomendaría?",
                               body_text="Hola {{ nombre }}:\nUna pregunta, un minuto.\n\nBaja: %%unsubscribe_url%%",
                               body_html="<html><body><p>Hola {{ nombre }}:</p></body></html>")
        campaign = campaign_create(user=owner, name="Encuesta NPS", segment=Segment.objects.get(pk=segment_id),
                                   channels=["email"], messages={"email": email}, holdout_share=Decimal(0),
                                   survey=survey)
        reverse("surveys_public:answer", args=["x"])  # the URL configuration, loaded once as in a server
        t, cpu = time.perf_counter(), time.process_time()
        summary = campaign_launch(campaign)
        launch_s, launch_cpu = time.perf_counter() - t, time.process_time() - cpu
        invited = Invitation.objects.filter(survey=survey).count()
        print(f"invitations: {args.customers:,} segment members → {summary.counts.get('queued', 0):,} messages "
              f"queued with {invited:,} personal links (0–10 scale embedded) in {launch_s:.1f} s "
              f"({invited / launch_s:,.0f} invitations/s; goal < 30 s); this process's CPU time {launch_cpu:.1f} s "
              f"(the wall time on a shared machine waits for other processes)")
        print(f"peak memory (max RSS) after the launch: {peak_mb():.0f} MB")

        results_survey = survey_from_template(actor=Actor.of(owner), template="nps", name="Resultados")
        ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
        t = time.perf_counter()
        answers_build(results_survey.pk, ids, args.answers)
        print(f"built {args.answers:,} answered responses in {time.perf_counter() - t:.1f} s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        client = Client(HTTP_HOST="localhost")
        client.force_login(owner)
        url = reverse("surveys:results", args=[results_survey.pk])
        for label, query in (("results page", {}), ("results page with word frequencies", {"palabras": "1"})):
            times, cpus = [], []
            for _r in range(args.requests):
                t, cpu = time.perf_counter(), time.process_time()
                response = client.get(url, query)
                times.append(time.perf_counter() - t)
                cpus.append(time.process_time() - cpu)
                assert response.status_code == 200, response.status_code
            print(f"{label}: {args.answers:,} answers, median {statistics.median(times) * 1000:.0f} ms "
                  f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}; goal < 500 ms); "
                  f"CPU time median {statistics.median(cpus) * 1000:.0f} ms")
        print(f"peak memory (max RSS) at the end: {peak_mb():.0f} MB")
        connection.close()
        if pg_name:
            import psycopg

            base = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{pg_name}"')


if __name__ == "__main__":
    main()
