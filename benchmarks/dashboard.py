"""Build a 100,000-customer demo business, compute the snapshot, time the dashboard.

    .venv/bin/python benchmarks/dashboard.py [--customers 100000] [--seed 42]
        [--repeat 30] [--keep DIR]

Without DATABASE_URL it uses a fresh SQLite file (WAL) in a temporary directory (or in
--keep DIR, kept afterwards); with DATABASE_URL (PostgreSQL) it migrates that database,
which must be empty of customers. The business is the demo generator's
(`fideliza.demo.generator`) at the requested size, written straight into the tables in
bulk (the rows stand for history already in the database; the import path has its own
benchmark). Then it times, in this order:

1. reading the transaction columns into Polars both ways (`cursor`: fetchmany chunks;
   `polars`: pl.read_database on the driver connection), best of three;
2. the full recompute (`insights.services.snapshot_recompute`: read, models, descriptive
   metrics, cross-sell, bulk write), with its stage timings and peak memory;
3. the dashboard's server time: GET /panel/ as the owner through Django's test client
   (the whole request: middleware, session, queries, template, SVG), `--repeat` times
   after one warm-up, and the API's /metrics and a 50-row scores page.

The goal of the issue is a dashboard under 1 s on 100 k customers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def load_business(data, say) -> dict[str, int]:
    """Write the demo frames into the tables with executemany / COPY (see insights.storage)."""
    import polars as pl
    from django.conf import settings
    from django.db import connection, transaction

    from fideliza.customers.models import Customer
    from fideliza.insights.storage import _insert, cents_to_text

    now_text = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    currency = settings.FIDELIZA_DEFAULT_CURRENCY
    if Customer.objects.exists():
        raise SystemExit("the database already holds customers: use an empty one")

    def utc_text(col: str) -> pl.Expr:
        def aware(expr: pl.Expr) -> pl.Expr:
            return expr.dt.replace_time_zone(settings.TIME_ZONE, ambiguous="earliest",
                                             non_existent="null")

        # A wall-clock time skipped by the spring DST change moves one hour forward.
        return (
            pl.coalesce(aware(pl.col(col)), aware(pl.col(col) + pl.duration(hours=1)))
            .dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S")
        )

    counts: dict[str, int] = {}
    with transaction.atomic():
        categories = sorted(set(data.products["category"].to_list()))
        cat_id = {name: i + 1 for i, name in enumerate(categories)}
        _insert("catalog_category", ("id", "name", "parent_id"),
                ((cat_id[n], n, None) for n in categories))
        products = data.products.with_row_index("id", offset=1).select(
            pl.col("id").cast(pl.Int64), "sku", "name",
            pl.col("category").replace_strict(cat_id, return_dtype=pl.Int64).alias("category_id"),
            cents_to_text(pl.col("list_price_c")).alias("list_price"),
            cents_to_text(pl.col("unit_cost_c")).alias("unit_cost"),
            pl.lit(currency).alias("currency"), pl.lit(True).alias("is_active"),
            pl.col("path_level").fill_null(""),
            pl.lit(now_text).alias("created_at"), pl.lit(now_text).alias("updated_at"),
        )
        _insert("catalog_product", products.columns, products.iter_rows())
        counts["products"] = products.height
        say(f"  {products.height} productos")

        people = data.people.filter(pl.col("segment") != "never").with_row_index("id", offset=1)
        text_blank = ("tax_id", "email", "phone", "address", "postal_code", "city", "region",
                      "country", "timezone", "preferred_channel", "preferred_contact_time",
                      "acquisition_channel", "notes", "gender", "company_name")
        customers = people.select(
            pl.col("id").cast(pl.Int64),
            pl.lit(now_text).alias("created_at"), pl.lit(now_text).alias("updated_at"),
            pl.when(pl.col("kind") == "company").then(pl.lit("company")).otherwise(pl.lit("person"))
            .alias("kind"),
            pl.col("first_name").fill_null(""), pl.col("last_name").fill_null(""),
            *[pl.lit("").alias(c) for c in text_blank],
            pl.col("acquisition_date").dt.strftime("%Y-%m-%d").alias("acquisition_date"),
            cents_to_text(pl.col("acquisition_cost_c")).alias("acquisition_cost"),
            pl.lit(True).alias("is_active"),
        )
        _insert("customers_customer", customers.columns, customers.iter_rows())
        counts["customers"] = customers.height
        say(f"  {customers.height} clientes")

        person_id = dict(zip(people["person"].to_list(), people["id"].to_list(), strict=True))
        lines = data.lines.filter(pl.col("customer").is_in(list(person_id)))
        orders = (
            lines.group_by("order_key")
            .agg(pl.col("customer").first(), pl.col("placed_at").first(),
                 pl.col("channel").first(), pl.col("line_total_c").sum().alias("total_c"),
                 (pl.col("unit_cost_c") * pl.col("quantity")).sum().alias("cost_c"))
            .sort("order_key")
            .with_row_index("id", offset=1)
        )
        # (The demo lines carry their own text "order_id": the database id goes in "_oid".)
        order_id = orders.select("order_key", pl.col("id").cast(pl.Int64).alias("_oid"))
        order_rows = orders.select(
            pl.col("id").cast(pl.Int64),
            pl.col("customer").replace_strict(person_id, return_dtype=pl.Int64).alias("customer_id"),
            pl.lit("demo").alias("source"), pl.col("order_key").cast(pl.String).alias("external_id"),
            utc_text("placed_at").alias("placed_at"), pl.col("channel"),
            pl.lit(currency).alias("currency"),
            cents_to_text(pl.col("total_c")).alias("subtotal"),
            pl.lit("0.00").alias("discount_total"),
            cents_to_text(pl.col("total_c")).alias("total"),
            cents_to_text(pl.col("cost_c")).alias("cost_total"),
            pl.lit(now_text).alias("created_at"),
        )
        _insert("sales_order", order_rows.columns, order_rows.iter_rows())
        counts["orders"] = order_rows.height
        say(f"  {order_rows.height} pedidos")
        line_rows = lines.join(order_id, on="order_key").select(
            pl.col("_oid").alias("order_id"), pl.col("line_no"), (pl.col("product") + 1).alias("product_id"), "sku",
            pl.col("description").fill_null(""),
            pl.col("quantity").cast(pl.String).alias("quantity"),
            cents_to_text(pl.col("unit_price_c")).alias("unit_price"),
            cents_to_text(pl.col("unit_cost_c")).alias("unit_cost"),
            cents_to_text(pl.col("discount_c")).alias("discount"),
            cents_to_text(pl.col("line_total_c")).alias("line_total"),
        )
        _insert("sales_orderline", line_rows.columns, line_rows.iter_rows())
        counts["lines"] = line_rows.height
        say(f"  {line_rows.height} líneas")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("catalog_category", "catalog_product", "customers_customer", "sales_order"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT MAX(id) FROM {table}))")
            cursor.execute("ANALYZE")
    return counts


def time_requests(client, url: str, repeat: int) -> list[float]:
    client.get(url)  # warm-up: template loading, first imports
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return times


def describe(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (f"median {statistics.median(times) * 1000:7.1f} ms · p95 {p95 * 1000:7.1f} ms · "
            f"max {max(times) * 1000:7.1f} ms (n={len(times)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", type=Path, default=None, help="SQLite directory to keep")
    args = parser.parse_args()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="fideliza-dashboard-"))
    workdir.mkdir(parents=True, exist_ok=True)
    vendor = setup_django(workdir)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from fideliza.accounts.models import User
    from fideliza.demo.generator import DemoSpec, generate
    from fideliza.insights import adapter
    from fideliza.insights.services import snapshot_recompute

    def say(msg: str) -> None:
        print(msg, flush=True)

    say(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, database {vendor}"
        + (f" ({connection.settings_dict['NAME']})" if vendor == "sqlite" else ""))
    spec = DemoSpec(customers=args.customers, seed=args.seed)
    started = time.perf_counter()
    data = generate(spec)
    say(f"Demo business generated: {args.customers} people, {data.lines.height} order lines "
        f"in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    counts = load_business(data, say)
    say(f"Loaded in bulk in {time.perf_counter() - started:.1f} s")
    del data

    say("\nReading the transaction columns (best of 3):")
    for method in ("cursor", "polars"):
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            orders, _ = adapter.read_orders(method=method)
            best = min(best, time.perf_counter() - t0)
        say(f"  {method:7s} {orders.height:>9,} orders in {best:.2f} s "
            f"({orders.height / best:,.0f} rows/s)")
    t0 = time.perf_counter()
    tx = adapter.read_transactions()
    say(f"  everything (orders, lines, products, cards): {time.perf_counter() - t0:.2f} s")
    del tx

    as_of = spec.today - dt.timedelta(days=1)
    say(f"\nRecompute as of {as_of}:")
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    run = snapshot_recompute(as_of=as_of)
    total = time.perf_counter() - started
    say(f"  {run.customers:,} customers, {run.transactions:,} orders in {total:.1f} s "
        f"(peak RSS {peak_rss_mb():.0f} MB, {rss_before:.0f} MB before)")
    for name, value in run.timings.items():
        say(f"    {name:24s} {value}")
    for warning in run.warnings:
        say(f"  warning: {warning}")

    owner = User.objects.create_user(username="bench-owner", password="x" * 12, role="owner")
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(owner)
    say("\nServer time per request (Django test client, whole request):")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/panel/")
    html = response.content.decode()
    say(f"  /panel/ {len(html) / 1024:.0f} KiB, {html.count('<svg')} SVG charts, "
        f"{len(queries)} SQL queries")
    dashboard = time_requests(client, "/panel/", args.repeat)
    say(f"  dashboard /panel/                 {describe(dashboard)}")
    say(f"  API /api/v1/insights/metrics      {describe(time_requests(client, '/api/v1/insights/metrics', args.repeat))}")
    say(f"  API /api/v1/insights/customers    {describe(time_requests(client, '/api/v1/insights/customers?limit=50&activity_state=at_risk', args.repeat))}")
    verdict = "meets" if statistics.median(dashboard) < 1.0 else "MISSES"
    say(f"\nDashboard median {statistics.median(dashboard) * 1000:.0f} ms on {counts['customers']:,} "
        f"customers: {verdict} the < 1 s goal.")
    if args.keep is None and vendor == "sqlite":
        say(f"(SQLite file left in {workdir}; delete it when done)")


if __name__ == "__main__":
    main()
