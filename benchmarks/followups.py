"""«Mi día» with a million follow-ups in the table (issue 15: server time < 200 ms), and the
daily contact-cadence run over 100,000 customers and 20 rules (issue 15: < 10 s).

    .venv/bin/python benchmarks/followups.py [--followups 1000000] [--customers 100000]
        [--reps 10] [--repeat 30] [--keep DIR] [--rules 20] [--interactions 300000]
        [--only my_day|cadences]

Without DATABASE_URL it uses a fresh SQLite file (WAL) in a temporary directory (or in
--keep DIR); with DATABASE_URL (PostgreSQL) it migrates that database, which must hold no
customers (a --keep directory of an earlier run is timed again as it is). It writes, in bulk (COPY on PostgreSQL): an owner and `--reps` sales
representatives, `--customers` cards spread over them (a fifth unassigned), a snapshot row
per customer (predicted CLV and churn risk, so the value-at-risk ordering has work to do),
and `--followups` follow-ups over three years up to two months ahead, closed (done or
cancelled) as a business accumulates them: all but 0.5 % of those more than a week old and
three in ten of the rest; the others open or snoozed.

Then it times the whole request GET /mi-dia/ (middleware, session, queries, template)
through Django's test client as a representative and as the owner, `--repeat` times after a
warm-up, the home page (its «Hoy» block included) as both, and the selector
`followups.selectors.my_day` alone.

Cadences: every customer becomes a member of a loyalty program with five tiers (Bronce to
Diamante, 40/25/20/10/5 %), ten static segments of 5–30 % of the base are written, and
`--interactions` logged contacts over the last year (calls, visits, e-mails, WhatsApp,
notes). `--rules` rules (half by tier, half by segment; every 30–180 days; counting kinds
varied; started a year ago) are saved through the service. It times (1) the evaluation
alone — `cadences.selectors.rule_due(...).count()` for every rule, the set-based query the
daily job runs — then (2) the first daily run `cadences_run` (evaluation, titles rendered
with the message variables, follow-ups written), (3) the same run again (nothing due: the
steady state of a second worker or a retry) and (4) the next day's run after 1 % of the
customers were contacted. `--only` runs one of the two parts.
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


def load(args: argparse.Namespace, say) -> dict:
    from django.db import connection, transaction

    from fideliza.accounts.models import User
    from fideliza.customers.models import Customer
    from fideliza.insights.models import SnapshotRun
    from fideliza.insights.storage import _insert

    existing = User.objects.filter(username="bench-owner").first()
    if existing is not None:  # a --keep directory loaded by an earlier run: time it again
        from fideliza.followups.models import FollowUp

        say(f"  reusing {Customer.objects.count()} customers and {FollowUp.objects.count()} follow-ups")
        return {"owner": existing, "rep": User.objects.get(username="bench-rep0")}
    if Customer.objects.exists():
        raise SystemExit("the database already holds customers: use an empty one")
    rng = random.Random(15)
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    owner = User.objects.create_user(username="bench-owner", password="x", role="owner")
    reps = [User.objects.create_user(username=f"bench-rep{i}", password="x", role="sales_rep")
            for i in range(args.reps)]
    rep_ids = [r.pk for r in reps]
    started = time.perf_counter()
    with transaction.atomic():
        executive = [None if rng.random() < 0.2 else rng.choice(rep_ids) for _ in range(args.customers)]
        _insert("customers_customer", (
            "id", "created_at", "updated_at", "kind", "first_name", "last_name", "company_name", "gender",
            "tax_id", "email", "phone", "address", "postal_code", "city", "region", "country", "timezone",
            "preferred_channel", "preferred_contact_time", "acquisition_channel", "notes", "is_active",
            "account_executive_id"),
            ((i + 1, stamp, stamp, "person", f"Cliente{i + 1}", "Prueba", "", "", "", "", "", "", "", "", "", "",
              "", "", "", "", "", True, executive[i]) for i in range(args.customers)))
        run = SnapshotRun.objects.create(status="succeeded", as_of=now.date())
        today = now.date().isoformat()
        _insert("insights_customermetrics", (
            "customer_id", "run_id", "first_purchase", "last_purchase", "orders", "revenue", "average_order_value",
            "frequency", "recency", "age", "monetary_value", "r_score", "f_score", "m_score", "rfm_segment",
            "abc_revenue", "abc_margin", "value_tier", "activity_state", "days_since_last", "p_alive_model",
            "churn_band", "churn_reason", "clv_historic", "clv_predicted", "churn_risk", "next_category",
            "next_reason", "path_step", "path_next_step"),
            ((i + 1, run.pk, today, today, 3, "300.00", "100.00", 2, 100.0, 400.0, "100.00", 3, 3, 3, "loyal",
              "B", "", "plata", "active", 10, "", "", "", "300.00", f"{rng.uniform(0, 2000):.2f}",
              rng.random(), "", "", "", "") for i in range(args.customers)))
        say(f"  {args.customers} customers and snapshot rows: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        people = [owner.pk, *rep_ids]

        def rows():
            for _n in range(args.followups):
                customer = rng.randrange(args.customers)
                assignee = executive[customer] or owner.pk
                if rng.random() < 0.02:
                    assignee = rng.choice(people) if executive[customer] is None else assignee
                due = now + timedelta(minutes=rng.randint(-3 * 365 * 1440, 60 * 1440))
                closed = (due < now - timedelta(days=7) and rng.random() < 0.995) or rng.random() < 0.3
                status = rng.choice(("done", "done", "done", "cancelled")) if closed else \
                    ("snoozed" if rng.random() < 0.1 else "open")
                snoozed = (now + timedelta(minutes=rng.randint(-1440, 5 * 1440))).strftime("%Y-%m-%d %H:%M:%S") \
                    if status == "snoozed" else None
                yield (customer + 1, "Llamar al cliente", "", assignee, "", due.strftime("%Y-%m-%d %H:%M:%S"),
                       2, "manual", None, status, snoozed, "", "", stamp, owner.pk,
                       stamp if closed else None, None, stamp)

        written = _insert("followups_followup", (
            "customer_id", "title", "notes", "assignee_id", "assignee_role", "due_at", "priority", "origin_kind",
            "origin_id", "status", "snoozed_until", "status_reason", "outcome", "created_at", "created_by_id",
            "closed_at", "closed_by_id", "updated_at"), rows())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), "
                           "(SELECT MAX(id) FROM customers_customer))")
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    say(f"  {written} follow-ups: {time.perf_counter() - started:.1f} s")
    return {"owner": owner, "rep": reps[0]}


TIERS = (("Bronce", 0.40), ("Plata", 0.25), ("Oro", 0.20), ("Platino", 0.10), ("Diamante", 0.05))
KINDS = ("call", "call", "visit", "email", "whatsapp", "note", "meeting")


def load_cadences(args: argparse.Namespace, say) -> list[int]:
    """Tiers, segments and interactions for the cadence part; the rules' ids."""
    from django.db import connection, transaction

    from fideliza.accounts.models import User
    from fideliza.accounts.services import Actor
    from fideliza.cadences.models import CadenceRule
    from fideliza.cadences.services import cadence_rule_save
    from fideliza.insights.storage import _insert
    from fideliza.loyalty.models import Program, Tier
    from fideliza.segments.models import Segment

    if CadenceRule.objects.exists():
        say(f"  reusing {CadenceRule.objects.count()} cadence rules")
        return list(CadenceRule.objects.order_by("pk").values_list("pk", flat=True))
    rng = random.Random(315)
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    customers = list(range(1, args.customers + 1))
    owner = User.objects.get(username="bench-owner")
    reps = list(User.objects.filter(role="sales_rep").values_list("pk", flat=True))
    started = time.perf_counter()
    with transaction.atomic():
        program = Program.objects.create(name="Club bench")
        tiers = [Tier.objects.create(program=program, name=name, rank=rank, threshold=rank * 500)
                 for rank, (name, _share) in enumerate(TIERS)]
        weights = [share for _name, share in TIERS]
        _insert("loyalty_member", ("program_id", "customer_id", "joined_at", "points_balance", "tier_id",
                                   "tier_since", "referral_code"),
                ((program.pk, cid, stamp, 0, rng.choices(tiers, weights)[0].pk, stamp, f"B{cid:09d}")
                 for cid in customers))
        segments = []
        for n in range(10):
            segment = Segment.objects.create(name=f"Segmento bench {n}", kind="static")
            share = 0.05 + 0.25 * n / 9
            _insert("segments_segmentmember", ("segment_id", "customer_id", "added_at"),
                    ((segment.pk, cid, stamp) for cid in customers if rng.random() < share))
            segments.append(segment)

        def interactions():
            for _n in range(args.interactions):
                at = now - timedelta(minutes=rng.randint(60, 365 * 1440))
                yield (rng.choice(customers), rng.choice(KINDS), at.strftime("%Y-%m-%d %H:%M:%S"),
                       rng.choice(reps) if reps else None, "", "", "", None, "bench", stamp, None)

        written = _insert("interactions_interaction", (
            "customer_id", "kind", "occurred_at", "user_id", "contact_name", "outcome", "text", "next_followup_id",
            "via", "created_at", "created_by_id"), interactions())
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    say(f"  memberships in 5 tiers, 10 segments, {written} interactions: {time.perf_counter() - started:.1f} s")
    kinds = (["call"], ["call", "visit"], ["visit", "meeting", "meal"], ["call", "whatsapp", "email"],
             ["call", "visit", "meeting", "meal", "event"])
    ids = []
    for n in range(args.rules):
        by_tier = n % 2 == 0
        target = tiers[(n // 2) % len(tiers)] if by_tier else segments[(n // 2) % len(segments)]
        rule = cadence_rule_save(actor=Actor.of(owner), data={
            "name": f"Cadencia {n}: {target.name}", "audience": "tier" if by_tier else "segment",
            "tier": target if by_tier else None, "segment": None if by_tier else target,
            "every_days": (30, 45, 60, 90, 120, 180)[n % 6], "kinds": kinds[n % len(kinds)],
            "starts_on": (now - timedelta(days=365)).date(), "role": "owner", "assign_to": "executive",
            "title_template": "Llamar a {{ nombre_completo }}: {{ dias_sin_contacto }} días sin contacto"})
        ids.append(rule.pk)
    return ids


def cadences_bench(args: argparse.Namespace) -> None:
    from django.db import connection
    from django.utils import timezone

    from fideliza.cadences.models import CadenceRule
    from fideliza.cadences.selectors import rule_due
    from fideliza.cadences.services import cadences_run
    from fideliza.followups.models import FollowUp
    from fideliza.insights.storage import _insert

    ids = load_cadences(args, print)
    rules = list(CadenceRule.objects.filter(pk__in=ids).order_by("pk"))
    today = timezone.localdate()
    started, started_cpu = time.perf_counter(), time.process_time()
    due = [rule_due(rule, today).count() for rule in rules]
    print(f"cadence evaluation, {len(rules)} rules over {args.customers} customers: "
          f"{time.perf_counter() - started:.2f} s wall, {time.process_time() - started_cpu:.2f} s CPU "
          f"({sum(due)} due; per rule {min(due)}–{max(due)})")
    before = FollowUp.objects.count()
    for label, when in (("first daily run", None), ("the same run again", None)):
        started, started_cpu = time.perf_counter(), time.process_time()
        created = cadences_run(now=when)
        print(f"cadences_run, {label}: {time.perf_counter() - started:.2f} s wall, "
              f"{time.process_time() - started_cpu:.2f} s CPU, {sum(created.values())} follow-ups created")
    assert FollowUp.objects.count() - before == sum(due), "each due customer gets exactly one follow-up"
    # The next day: 1 % of the customers were called or visited today.
    rng = random.Random(316)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    _insert("interactions_interaction", (
        "customer_id", "kind", "occurred_at", "user_id", "contact_name", "outcome", "text", "next_followup_id",
        "via", "created_at", "created_by_id"),
        ((rng.randrange(1, args.customers + 1), rng.choice(("call", "visit")), stamp, None, "", "", "", None,
          "bench", stamp, None) for _n in range(args.customers // 100)))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    tomorrow = timezone.now() + timedelta(days=1)
    started, started_cpu = time.perf_counter(), time.process_time()
    created = cadences_run(now=tomorrow)
    print(f"cadences_run, the next day: {time.perf_counter() - started:.2f} s wall, "
          f"{time.process_time() - started_cpu:.2f} s CPU, {sum(created.values())} follow-ups created")


def timed(call, repeat: int) -> tuple[list[float], list[float]]:
    """Wall times and this process's CPU times of `repeat` calls, after a warm-up.

    On a shared machine the wall time grows with the load; the CPU time much less (on
    SQLite it includes the queries; on PostgreSQL the server's own work is not in it)."""
    call()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return wall, cpu


def describe(times: tuple[list[float], list[float]]) -> str:
    wall, cpu = times
    ordered = sorted(wall)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (f"median {statistics.median(wall) * 1000:7.1f} ms · p95 {p95 * 1000:7.1f} ms · "
            f"CPU median {statistics.median(cpu) * 1000:6.1f} ms (n={len(wall)}, load {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", type=Path, default=None, help="SQLite directory to keep")
    parser.add_argument("--rules", type=int, default=20)
    parser.add_argument("--interactions", type=int, default=300_000)
    parser.add_argument("--only", choices=("my_day", "cadences"), default=None)
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="fideliza-followups-"))
    workdir.mkdir(parents=True, exist_ok=True)
    vendor = setup_django(workdir)
    print(f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
          f"load {os.getloadavg()[0]:.1f} · {vendor}")
    users = load(args, print)
    if args.only != "my_day":
        cadences_bench(args)
    if args.only == "cadences":
        return

    from django.test import Client

    from fideliza.followups.selectors import my_day

    for label, user in (("representative", users["rep"]), ("owner", users["owner"])):
        day = my_day(user=user)
        print(f"  {label}: {len(day.overdue)} overdue, {len(day.today)} today, {len(day.returning)} back today"
              f"{' (truncated)' if day.truncated else ''}")
        client = Client()
        client.force_login(user)

        def page(client: Client = client) -> None:
            response = client.get("/mi-dia/")
            if response.status_code != 200:
                raise SystemExit(f"/mi-dia/ answered {response.status_code}")

        print(f"GET /mi-dia/ as {label:14s} {describe(timed(page, args.repeat))}")
        print(f"my_day() as {label:18s} {describe(timed(lambda user=user: my_day(user=user), args.repeat))}")
    for label, user in (("representative", users["rep"]), ("owner", users["owner"])):
        client = Client()
        client.force_login(user)
        print(f"GET / (home, «Hoy») as {label:8s}{describe(timed(lambda client=client: client.get('/'), args.repeat))}")


if __name__ == "__main__":
    main()
