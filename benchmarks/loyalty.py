"""Loyalty benchmarks: what points accrual adds to order ingestion, and the nightly expiry.

    .venv/bin/python benchmarks/loyalty.py [--orders 10000] [--lots 1000000] [--members 100000]

1. Accrual latency on the single-order path (`sales.services.order_record`, as the API
   records a sale): 2 × N orders recorded one by one, alternating loyalty on / off order
   by order in the same run (off = the loyalty handler taken out of
   ORDERS_RECORDED_HANDLERS; on = a program with a 3x / 2x / 1x category rule set, a
   per-order rule, tiers and a welcome bonus). Prints median and p99 per order of both,
   and the difference.
2. Accrual on the bulk path (`sales.ingest.orders_ingest`, as an import): N orders in one
   batch with loyalty off, then N other orders with loyalty on.
3. The nightly expiry (`loyalty.expiry.points_expire`) over `--lots` lots of `--members`
   members, half of them past their expiry date; then checks the ledger is consistent.

Without DATABASE_URL it uses a fresh SQLite file (WAL) in a temporary directory. With
DATABASE_URL it needs an empty, throw-away database (it writes rows with explicit ids).
"""

from __future__ import annotations

import argparse
import os
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



def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def setup_business(n_customers: int, seed: int):
    from fideliza.catalog.models import Category, Product
    from fideliza.customers.models import Customer
    from fideliza.loyalty.models import EarningRule, Program, RuleKind, Tier

    rng = random.Random(seed)
    tools = Category.objects.create(name="Herramientas")
    power = Category.objects.create(name="Eléctricas", parent=tools)
    paint = Category.objects.create(name="Pintura")
    misc = Category.objects.create(name="Varios")
    products = [Product.objects.create(sku=f"P{i}", name=f"Producto {i}", category=rng.choice([tools, power, paint, misc]),
                                       list_price=Decimal(rng.randrange(100, 20000)) / 100) for i in range(200)]
    Customer.objects.bulk_create([Customer(first_name=f"Cliente{i}", email=f"c{i}@example.com")
                                  for i in range(n_customers)], batch_size=2000)
    program = Program.objects.create(name="Club", join_points=50, expiry_days=365, pending_days=14)
    EarningRule.objects.create(program=program, name="Base", points=1)
    EarningRule.objects.create(program=program, name="Herramientas x3", points=1, multiplier=3, category=tools)
    EarningRule.objects.create(program=program, name="Pintura x2", points=1, multiplier=2, category=paint)
    EarningRule.objects.create(program=program, name="Pedido grande", kind=RuleKind.PER_ORDER, points=25,
                               min_purchase=Decimal("100"))
    for name, rank, threshold, mult in [("Bronce", 0, 0, "1"), ("Plata", 1, 300, "1.25"),
                                        ("Oro", 2, 1000, "1.5"), ("Platino", 3, 3000, "2")]:
        Tier.objects.create(program=program, name=name, rank=rank, threshold=threshold,
                            earn_multiplier=Decimal(mult))
    return products, list(Customer.objects.values_list("pk", flat=True))


def bench_single(n: int, products, customer_ids, seed: int) -> None:
    from fideliza.accounts.services import Actor
    from fideliza.customers.models import Customer
    from fideliza.loyalty.hooks import on_orders_recorded as loyalty_handler
    from fideliza.sales import hooks
    from fideliza.sales.services import order_record

    rng = random.Random(seed)
    actor = Actor.system("benchmark")
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=customer_ids)}
    on: list[float] = []
    off: list[float] = []
    start = datetime.now(UTC) - timedelta(days=300)
    for i in range(2 * n):
        loyalty = i % 2 == 1
        if loyalty and loyalty_handler not in hooks.ORDERS_RECORDED_HANDLERS:
            hooks.ORDERS_RECORDED_HANDLERS.append(loyalty_handler)
        elif not loyalty and loyalty_handler in hooks.ORDERS_RECORDED_HANDLERS:
            hooks.ORDERS_RECORDED_HANDLERS.remove(loyalty_handler)
        lines = [{"sku": p.sku, "quantity": Decimal(rng.randrange(1, 4))}
                 for p in rng.sample(products, rng.randrange(1, 5))]
        customer = customers[rng.choice(customer_ids)]
        t0 = time.perf_counter()
        order_record(actor=actor, customer=customer, source="bench", external_id=f"S{i}",
                     placed_at=start + timedelta(minutes=i), lines=lines)
        (on if loyalty else off).append((time.perf_counter() - t0) * 1000)
    if loyalty_handler not in hooks.ORDERS_RECORDED_HANDLERS:
        hooks.ORDERS_RECORDED_HANDLERS.append(loyalty_handler)
    med_on, med_off = statistics.median(on), statistics.median(off)
    p99_on, p99_off = pct(on, 0.99), pct(off, 0.99)
    print(f"single-order path, {n:,} orders each, alternating:")
    print(f"  loyalty off: median {med_off:.2f} ms  p99 {p99_off:.2f} ms")
    print(f"  loyalty on : median {med_on:.2f} ms  p99 {p99_on:.2f} ms")
    print(f"RESULT accrual added latency per order: median +{med_on - med_off:.2f} ms, "
          f"p99 +{p99_on - p99_off:.2f} ms")


def bench_bulk(n: int, products, customer_ids, seed: int) -> None:
    import polars as pl
    from django.db import transaction

    from fideliza.loyalty.hooks import on_orders_recorded as loyalty_handler
    from fideliza.sales import hooks
    from fideliza.sales.ingest import orders_ingest

    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)

    def frames(tag: str):
        orders, lines = [], []
        for i in range(n):
            items = rng.sample(products, rng.randrange(1, 5))
            total = 0
            for no, p in enumerate(items, 1):
                qty = rng.randrange(1, 4)
                cents = int(p.list_price * 100)
                lines.append((i, no, p.pk, p.sku, "", qty * 1000, cents, None, 0, qty * cents))
                total += qty * cents
            orders.append((i, f"{tag}{i}", rng.choice(customer_ids), start + timedelta(minutes=i), "store", None,
                           "EUR", total, 0, total, None))
        o = pl.DataFrame(orders, schema={"key": pl.Int64, "external_id": pl.Utf8, "customer_id": pl.Int64,
                                          "placed_at": pl.Datetime("us", "UTC"), "channel": pl.Utf8,
                                          "store_id": pl.Int64, "currency": pl.Utf8, "subtotal": pl.Int64,
                                          "discount_total": pl.Int64, "total": pl.Int64, "cost_total": pl.Int64},
                         orient="row")
        ln = pl.DataFrame(lines, schema={"key": pl.Int64, "line_no": pl.Int64, "product_id": pl.Int64,
                                         "sku": pl.Utf8, "description": pl.Utf8, "quantity": pl.Int64,
                                         "unit_price": pl.Int64, "unit_cost": pl.Int64, "discount": pl.Int64,
                                         "line_total": pl.Int64}, orient="row")
        return o, ln

    timings = {}
    for label, loyalty in (("off", False), ("on", True)):
        o, ln = frames(f"B{label}")
        if not loyalty:
            hooks.ORDERS_RECORDED_HANDLERS.remove(loyalty_handler)
        t0 = time.perf_counter()
        with transaction.atomic():
            orders_ingest(source="bench-bulk", orders=o, lines=ln)
        timings[label] = time.perf_counter() - t0
        if not loyalty:
            hooks.ORDERS_RECORDED_HANDLERS.append(loyalty_handler)
    print(f"bulk path, {n:,} orders per batch: loyalty off {timings['off']:.2f} s, on {timings['on']:.2f} s")
    print(f"RESULT bulk accrual adds {(timings['on'] - timings['off']) / n * 1000:.3f} ms per order "
          f"({n / timings['on']:,.0f} orders/s with loyalty on)")


def bench_expiry(n_lots: int, n_members: int, seed: int) -> None:
    from django.db import connection, transaction

    from fideliza.customers.models import Customer
    from fideliza.loyalty.expiry import points_expire
    from fideliza.loyalty.models import LedgerEntry, Member, PointLot, Program
    from fideliza.loyalty.selectors import ledger_check

    rng = random.Random(seed)
    program = Program.objects.create(name="Expiry bench", expiry_days=365)
    base = Customer.objects.count()
    t0 = time.perf_counter()
    Customer.objects.bulk_create([Customer(first_name=f"Socio{i}") for i in range(n_members)], batch_size=5000)
    cust_ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[base:])
    first_member = (Member.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    first_entry = (LedgerEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    first_lot = (PointLot.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    now = datetime.now(UTC)
    per_member = n_lots // n_members
    balances = {}
    entries, lots = [], []
    adapt = connection.ops.adapt_datetimefield_value
    due = 0
    eid, lid = first_entry, first_lot
    for m in range(n_members):
        mid = first_member + m
        bal = 0
        for _ in range(per_member):
            points = rng.randrange(1, 200)
            placed = now - timedelta(days=rng.randrange(1, 730))
            bal += points
            expires = placed + timedelta(days=365)
            due += expires <= now
            entries.append((eid, mid, "earn", points, bal, "order", f"x{eid}", "0", points, "", 0,
                            adapt(placed), adapt(now)))
            lots.append((lid, mid, eid, points, points, adapt(placed), adapt(expires)))
            eid, lid = eid + 1, lid + 1
        balances[mid] = bal
    with transaction.atomic(), connection.cursor() as cur:
        Member.objects.bulk_create(
            [Member(pk=first_member + m, program=program, customer_id=cust_ids[m], joined_at=now,
                    points_balance=balances[first_member + m], referral_code=f"BENCH{first_member + m:09d}")
             for m in range(n_members)], batch_size=5000)
        e_cols = ("id, member_id, kind, points, balance_after, cause_type, cause_id, qualifying_amount, "
                  "qualifying_points, note, shortfall, occurred_at, created_at")
        for s in range(0, len(entries), 50_000):
            cur.executemany(f"INSERT INTO {LedgerEntry._meta.db_table} ({e_cols}) VALUES "
                            f"(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", entries[s:s + 50_000])
        l_cols = "id, member_id, entry_id, points_initial, points_remaining, available_at, expires_at"
        for s in range(0, len(lots), 50_000):
            cur.executemany(f"INSERT INTO {PointLot._meta.db_table} ({l_cols}) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                            lots[s:s + 50_000])
        if connection.vendor == "postgresql":
            for model in (LedgerEntry, PointLot, Member):
                table = model._meta.db_table
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    print(f"expiry setup: {len(lots):,} lots of {n_members:,} members ({due:,} past expiry) "
          f"in {time.perf_counter() - t0:.1f} s")
    del entries, lots
    t0 = time.perf_counter()
    run = points_expire(now=now)
    dt = time.perf_counter() - t0
    print(f"RESULT nightly expiry over {n_lots:,} lots: {dt:.1f} s; expired {run.lots_expired:,} lots, "
          f"{run.points_expired:,} points of {run.members_affected:,} members")
    t0 = time.perf_counter()
    again = points_expire(now=now)
    print(f"second run the same night: {time.perf_counter() - t0:.2f} s, expired {again.lots_expired} lots")
    t0 = time.perf_counter()
    problems = ledger_check()
    print(f"ledger check over every member: {len(problems)} problems ({time.perf_counter() - t0:.1f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=3_000)
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--skip-accrual", action="store_true")
    parser.add_argument("--skip-expiry", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="fideliza-bench-loyalty-"))
    os.environ.setdefault("FIDELIZA_VAR_DIR", str(workdir / "var"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "fideliza.config.settings.local"
    os.environ["DEBUG"] = "0"

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from fideliza.loyalty.models import Member

    call_command("migrate", verbosity=0)
    if Member.objects.exists():
        print("the database already has loyalty members: use an empty, throw-away database")
        return 2
    print(f"database: {connection.vendor}; load average at start {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs (timings are wall clock: a busy machine inflates both sides)")
    if not args.skip_accrual:
        products, customer_ids = setup_business(args.customers, args.seed)
        bench_single(args.orders, products, customer_ids, args.seed)
        bench_bulk(args.orders, products, customer_ids, args.seed)
    if not args.skip_expiry:
        bench_expiry(args.lots, args.members, args.seed)
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
