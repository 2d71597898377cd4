"""Segment preview counts on a large base (issue 4: goal < 1 s at 100 k customers).

Builds N customers (bulk inserts into a fresh SQLite file, or the PostgreSQL of
DATABASE_URL in a throw-away database): 85 % with ~3 orders and an analytics snapshot row,
the rest never bought (no orders, no snapshot row, as in a real base, so rules over missing
values are exercised). Then times the live count of several rule sets, best of 5 runs each.

    .venv/bin/python benchmarks/segments.py [--customers 100000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/segments.py

`--keep NAME` keeps the built base (SQLite: the directory NAME; PostgreSQL: the database
NAME) and reuses it on the next run with the same NAME, to time compiler changes quickly.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

RULES = {
    "Oro de Córdoba que no compran hace 90 días": {"op": "and", "rules": [
        {"field": "value_tier", "cmp": "eq", "value": "oro"},
        {"field": "city", "cmp": "eq", "value": "Córdoba"},
        {"field": "days_without_buying", "cmp": "gte", "value": 90}]},
    "En riesgo con CLV > 200 y e-mail permitido": {"op": "and", "rules": [
        {"field": "rfm_segment", "cmp": "in", "value": ["at_risk", "cannot_lose"]},
        {"field": "clv_predicted", "cmp": "gte", "value": 200},
        {"field": "consent", "cmp": "is_true", "value": "email"}]},
    "Compraron jardín pero nunca herramientas eléctricas": {"op": "and", "rules": [
        {"field": "bought_category", "cmp": "is_true", "value": "Jardín"},
        {"field": "bought_category", "cmp": "is_false", "value": "Eléctricas"}]},
    "Cumpleaños en 7 días o 3+ pedidos (OR)": {"op": "or", "rules": [
        {"field": "birthday_within_days", "cmp": "lte", "value": 7},
        {"field": "orders_count", "cmp": "gte", "value": 3}]},
    "Córdoba, ni oro ni platino (NOT de un grupo)": {"op": "and", "rules": [
        {"field": "city", "cmp": "eq", "value": "Córdoba"},
        {"op": "or", "negate": True, "rules": [{"field": "value_tier", "cmp": "eq", "value": "oro"},
                                                {"field": "value_tier", "cmp": "eq", "value": "platino"}]}]},
}


def setup_django(tmp: Path, keep: str) -> tuple[str, bool]:
    """Point Django at a fresh (or kept) database; returns (PostgreSQL database to drop, reused)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "fideliza.config.settings.local"
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        os.environ["FIDELIZA_VAR_DIR"] = str(tmp)
        name = keep or f"fideliza_bench_{os.getpid()}"
        with psycopg.connect(url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name
        return ("" if keep else name), bool(exists)
    var = Path(keep).resolve() if keep else tmp
    os.environ["FIDELIZA_VAR_DIR"] = str(var)
    return "", (var / "fideliza.sqlite3").exists()


def build(n: int) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from fideliza.catalog.models import Category, Product
    from fideliza.customers.models import ConsentRecord, Customer
    from fideliza.insights.models import CustomerMetrics, SnapshotRun
    from fideliza.sales.models import Order, OrderLine

    call_command("migrate", verbosity=0)
    rng = random.Random(3)
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    tools = Category.objects.create(name="Herramientas")
    power = Category.objects.create(name="Eléctricas", parent=tools)
    garden = Category.objects.create(name="Jardín")
    products = [Product.objects.create(sku=f"P{i}", name=f"Producto {i}", category=c, list_price=Decimal(10))
                for i, c in enumerate([tools, power, garden] * 20)]
    cities = ["Córdoba", "Sevilla", "Madrid", "Málaga", "Granada", "Jaén", "Cádiz", "Huelva"]
    run = SnapshotRun.objects.create(status="done", as_of=today)
    batch = 5000
    order_id = 0
    for start in range(0, n, batch):
        customers = [Customer(first_name=f"C{i}", city=rng.choice(cities), email=f"c{i}@ejemplo.es",
                              birth_date=today - timedelta(days=rng.randrange(6000, 30000)))
                     for i in range(start, min(n, start + batch))]
        Customer.objects.bulk_create(customers, batch_size=batch)
        orders, lines, metrics, consents = [], [], [], []
        for c in customers:
            if rng.random() < 0.15:  # registered but never bought: no orders, no snapshot row
                continue
            k = rng.choice((1, 2, 3, 4, 5))
            last = None
            for _ in range(k):
                order_id += 1
                placed = datetime.combine(today - timedelta(days=rng.randrange(0, 1000)),
                                          datetime.min.time(), tzinfo=tz) + timedelta(hours=11)
                last = max(last or placed, placed)
                orders.append(Order(id=order_id, customer_id=c.pk, source="b", external_id=str(order_id),
                                    placed_at=placed, total=Decimal(20), subtotal=Decimal(20)))
                product = rng.choice(products)
                lines.append(OrderLine(order_id=order_id, line_no=1, product=product, sku=product.sku,
                                       quantity=Decimal(1), unit_price=Decimal(20), line_total=Decimal(20)))
            metrics.append(CustomerMetrics(
                customer_id=c.pk, run=run, first_purchase=last.date(), last_purchase=last.date(), orders=k,
                revenue=Decimal(20 * k), average_order_value=Decimal(20), frequency=k - 1, recency=0, age=0,
                monetary_value=Decimal(20), r_score=3, f_score=3, m_score=3,
                rfm_segment=rng.choice(["champions", "loyal", "at_risk", "cannot_lose", "lost", "hibernating"]),
                abc_revenue=rng.choice("ABC"), value_tier=rng.choice(["platino", "oro", "plata", "bronce"]),
                activity_state="active", days_since_last=(today - last.date()).days,
                churn_risk=rng.random(), p_alive=rng.random(), clv_historic=Decimal(20 * k),
                clv_predicted=Decimal(rng.randrange(0, 600))))
            if rng.random() < 0.6:
                consents.append(ConsentRecord(customer_id=c.pk, channel="email", status="granted",
                                              recorded_at=timezone.now(), source="bench"))
        Order.objects.bulk_create(orders, batch_size=batch)
        OrderLine.objects.bulk_create(lines, batch_size=batch)
        CustomerMetrics.objects.bulk_create(metrics, batch_size=batch)
        ConsentRecord.objects.bulk_create(consents, batch_size=batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", default="", help="keep/reuse the built base (SQLite directory or "
                        "PostgreSQL database name)")
    parser.add_argument("--only", default="", help="time only the rule sets whose name contains this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pg_name, reused = setup_django(Path(tmp), args.keep)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from fideliza.customers.models import Customer
        from fideliza.segments.selectors import segment_preview_count

        t0 = time.perf_counter()
        if reused:
            call_command("migrate", verbosity=0)  # a compiler change may come with an index
            print(f"database: {connection.vendor}; reused {Customer.objects.count():,} customers")
        else:
            build(args.customers)
            print(f"database: {connection.vendor}; built {args.customers:,} customers with orders and "
                  f"snapshot in {time.perf_counter() - t0:.1f} s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        for name, rules in RULES.items():
            if args.only and args.only.lower() not in name.lower():
                continue
            timings = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                count = segment_preview_count(rules)
                timings.append(time.perf_counter() - t)
            print(f"  {name}: {count:,} customers · best {min(timings) * 1000:.0f} ms, "
                  f"median {sorted(timings)[len(timings) // 2] * 1000:.0f} ms (goal < 1000 ms)")
        connection.close()
        if pg_name:
            import psycopg

            base = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{pg_name}"')


if __name__ == "__main__":
    main()
