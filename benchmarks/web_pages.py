"""Time the web pages on a large customer base: home figures, the customer list (first and
deep keyset pages, searches, filters) and a customer card.

    .venv/bin/python benchmarks/web_pages.py [--customers 100000] [--lines 3000000] [--keep]

Without DATABASE_URL it builds a fresh SQLite file (WAL) in a temporary directory; with
DATABASE_URL (a PostgreSQL database that may be dropped and refilled) it uses that. The data
is written with plain bulk INSERTs (this measures reads, not the importer): customers with
Spanish names and cities, about three lines per order over three years, and a few
sales representatives. Each page is requested through Django's test client as the owner
(and once as a representative), five times; the median is printed in milliseconds.
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

FIRST = ["María", "José", "Lucía", "Antonio", "Carmen", "Manuel", "Ana", "Francisco", "Laura",
         "David", "Marta", "Javier", "Elena", "Daniel", "Paula", "Álvaro", "Sofía", "Iñigo"]
LAST = ["García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
        "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
        "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Peña"]
CITIES = [("Madrid", "Madrid"), ("Sevilla", "Sevilla"), ("Valencia", "Valencia"),
          ("Málaga", "Málaga"), ("Zaragoza", "Zaragoza"), ("Bilbao", "Bizkaia"),
          ("Córdoba", "Córdoba"), ("Alicante", "Alicante"), ("Murcia", "Murcia"),
          ("Granada", "Granada"), ("Gijón", "Asturias"), ("Vigo", "Pontevedra")]


def setup(database_url: str | None, keep: bool) -> None:
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        var = Path(tempfile.mkdtemp(prefix="fideliza-web-bench-"))
        os.environ["FIDELIZA_VAR_DIR"] = str(var)
        print(f"SQLite database under {var}{' (kept)' if keep else ''}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fideliza.config.settings.local")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(n_customers: int, n_lines: int, seed: int) -> tuple:
    from django.db import connection, transaction

    from fideliza.accounts.models import User
    from fideliza.catalog.models import Product
    from fideliza.customers.models import Customer
    from fideliza.sales.models import Order, OrderLine

    rng = random.Random(seed)
    User.objects.filter(username__startswith="bench-").delete()
    owner = User.objects.create_user(username="bench-owner", password="x", role="owner")
    reps = [User.objects.create_user(username=f"bench-rep{i}", password="x", role="sales_rep")
            for i in range(5)]
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    with transaction.atomic():
        products = Product.objects.bulk_create(
            [Product(sku=f"B-{i:05d}", name=f"Artículo {i}", list_price=Decimal(rng.randint(100, 9999)) / 100)
             for i in range(500)], batch_size=500)
        batch = []
        for i in range(n_customers):
            city, region = rng.choice(CITIES)
            first, last = rng.choice(FIRST), f"{rng.choice(LAST)} {rng.choice(LAST)}"
            batch.append(Customer(
                first_name=first, last_name=last, city=city, region=region,
                email=f"{first[0].lower()}{i}@example.com" if rng.random() < .8 else "",
                phone=f"+346{rng.randint(10_000_000, 99_999_999)}" if rng.random() < .7 else "",
                account_executive=rng.choice(reps) if rng.random() < .3 else None,
                acquisition_date=(now - timedelta(days=rng.randint(0, 1500))).date(),
            ))
            if len(batch) == 5000:
                Customer.objects.bulk_create(batch)
                batch = []
        Customer.objects.bulk_create(batch)
    ids = list(Customer.objects.values_list("id", flat=True))
    print(f"  {n_customers:,} customers in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    order_table, line_table = Order._meta.db_table, OrderLine._meta.db_table
    n_orders = n_lines // 3
    next_order = (Order.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    adapt = connection.ops.adapt_datetimefield_value
    created = adapt(now)
    with transaction.atomic(), connection.cursor() as cur:
        orders, lines = [], []
        for k in range(n_orders):
            oid = next_order + k
            placed = now - timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60))
            total = Decimal(0)
            for line_no in (1, 2, 3):
                p = products[rng.randrange(len(products))]
                qty = rng.randint(1, 3)
                line_total = p.list_price * qty
                total += line_total
                lines.append((oid, line_no, p.pk, p.sku, "", qty, p.list_price, 0, line_total))
            orders.append((oid, rng.choice(ids), "bench", f"O{oid}", adapt(placed), "store", "EUR",
                           total, 0, total, created))
            if len(orders) >= 20_000:
                _flush(cur, order_table, line_table, orders, lines)
                orders, lines = [], []
        _flush(cur, order_table, line_table, orders, lines)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{order_table}', 'id'), "
                        f"(SELECT MAX(id) FROM {order_table}))")
            cur.execute(f"ANALYZE {order_table}; ANALYZE {line_table}; ANALYZE customers_customer")
    else:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    print(f"  {n_orders * 3:,} order lines ({n_orders:,} orders) in {time.perf_counter() - t0:.1f} s")
    return owner, reps[0]


def _flush(cur, order_table: str, line_table: str, orders: list, lines: list) -> None:
    cur.executemany(
        f"INSERT INTO {order_table} (id, customer_id, source, external_id, placed_at, channel, currency, "
        "subtotal, discount_total, total, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", orders)
    cur.executemany(
        f"INSERT INTO {line_table} (order_id, line_no, product_id, sku, description, quantity, "
        "unit_price, discount, line_total) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)", lines)


def timed(client, url: str, repeat: int = 5) -> tuple[float, int]:
    times, status = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        status = response.status_code
    return statistics.median(times), status


def measure(owner, rep) -> None:
    from django.db.models import Count
    from django.test import Client

    from fideliza.core.pagination import _encode
    from fideliza.customers.models import Customer

    client = Client()
    client.force_login(owner)
    deep = Customer.objects.order_by("id").values_list("id", flat=True)[500]
    deep_cursor = _encode([deep], "next")
    busy = (Customer.objects.annotate(n=Count("orders")).order_by("-n").values_list("id", "n")[:1])[0]
    pages = [
        ("home (figures, last imports)", "/"),
        ("customer list, first page", "/clientes/"),
        ("customer list, page at row ~99,500 (keyset)", f"/clientes/?cursor={deep_cursor}"),
        ("list sorted by surname", "/clientes/?sort=name"),
        ("search 'garcia' (accent-insensitive)", "/clientes/?q=garcia"),
        ("search 'peña muñoz' (two words)", "/clientes/?q=pe%C3%B1a+mu%C3%B1oz"),
        ("search with no match", "/clientes/?q=zzzzqx"),
        ("search by phone digits", "/clientes/?q=612"),
        ("filter city + bought in 12 months", "/clientes/?city=Sevilla&bought=yes"),
        ("filter not bought in 12 months", "/clientes/?bought=no"),
        (f"card of the busiest customer ({busy[1]} orders)", f"/clientes/{busy[0]}/"),
    ]
    print(f"{'page':55} {'median ms':>10}")
    for label, url in pages:
        ms, status = timed(client, url)
        print(f"{label:55} {ms:10.1f}{'' if status == 200 else f'  (HTTP {status})'}")
    rep_client = Client()
    rep_client.force_login(rep)
    for label, url in [("home as a sales representative", "/"),
                       ("list as a sales representative", "/clientes/"),
                       ("search 'garcia' as a representative", "/clientes/?q=garcia")]:
        ms, status = timed(rep_client, url)
        print(f"{label:55} {ms:10.1f}{'' if status == 200 else f'  (HTTP {status})'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite file")
    parser.add_argument("--reuse", action="store_true",
                        help="measure a database an earlier run built (DATABASE_URL or "
                             "FIDELIZA_VAR_DIR pointing at it) instead of building one")
    args = parser.parse_args()
    if args.reuse:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fideliza.config.settings.local")
        os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
        import django

        django.setup()
        from fideliza.accounts.models import User

        measure(User.objects.get(username="bench-owner"), User.objects.get(username="bench-rep0"))
        return
    setup(os.environ.get("DATABASE_URL"), args.keep)
    from django.db import connection

    print(f"Building {args.customers:,} customers and {args.lines:,} order lines on {connection.vendor}")
    owner, rep = fill(args.customers, args.lines, args.seed)
    measure(owner, rep)


if __name__ == "__main__":
    main()
