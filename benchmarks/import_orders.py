"""Import 1,000,000 generated order lines through the normal import path and print the speed.

    .venv/bin/python benchmarks/import_orders.py [--lines 1000000] [--customers 50000]
        [--products 2000] [--seed 7] [--keep]

Without DATABASE_URL it uses a fresh SQLite file (WAL) in a temporary directory; with
DATABASE_URL (PostgreSQL) it migrates that database and imports under a new source name, so
it can run against a database that already holds data. Customers and products are created
first through `import_file` as well (timed separately), then the orders file, CSV with
`;` and decimal comma as a Spanish till exports it, is imported by the same
`import_file(kind="orders")` the web and the command line use. Prints lines per second and
the peak resident memory of the process (resource.getrusage).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_files(workdir: Path, *, lines: int, customers: int, products: int, seed: int,
                tag: str) -> tuple[Path, Path, Path, int]:
    rng = random.Random(seed)
    cust_path = workdir / "clientes.csv"
    with cust_path.open("w", encoding="utf-8") as fh:
        fh.write("Id cliente;Nombre;Apellidos;E-mail;Teléfono;Ciudad\n")
        for i in range(customers):
            phone = f"6{rng.randrange(10**8):08d}"
            fh.write(f"{tag}C{i};Nombre{i};Apellido{i};cliente{i}.{tag}@example.com;{phone};Sevilla\n")
    prod_path = workdir / "productos.csv"
    with prod_path.open("w", encoding="utf-8") as fh:
        fh.write("SKU;Nombre;Categoría;PVP;Coste\n")
        for i in range(products):
            price = rng.randrange(100, 20000)
            fh.write(f"{tag}P{i};Producto {i};Familia {i % 20} > Sub {i % 7};"
                     f"{price // 100},{price % 100:02d};{price * 6 // 1000},{price * 6 // 10 % 100:02d}\n")
    orders_path = workdir / "ventas.csv"
    start = datetime(2023, 1, 1, 9, 0)
    written = orders = 0
    with orders_path.open("w", encoding="utf-8") as fh:
        fh.write("Nº ticket;Cliente;Fecha;SKU;Cantidad;Precio;Descuento;Tienda;Canal\n")
        while written < lines:
            orders += 1
            n = min(lines - written, rng.choice((1, 2, 3, 3, 4, 5)))
            when = start + timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
            customer = f"{tag}C{rng.randrange(customers)}"
            store = rng.choice(("T01", "T02", "T03", "WEB"))
            channel = "web" if store == "WEB" else "tienda"
            stamp = when.strftime("%d/%m/%Y %H:%M")
            for _ in range(n):
                price = rng.randrange(100, 20000)
                discount = "" if rng.random() < 0.8 else f"{rng.randrange(0, price // 100)},00"
                fh.write(f"{tag}T{orders};{customer};{stamp};{tag}P{rng.randrange(products)};"
                         f"{rng.randrange(1, 4)};{price // 100},{price % 100:02d};{discount};"
                         f"{store};{channel}\n")
                written += 1
    return cust_path, prod_path, orders_path, orders


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="fideliza-bench-"))
    os.environ.setdefault("FIDELIZA_VAR_DIR", str(workdir / "var"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "fideliza.config.settings.local"
    os.environ["DEBUG"] = "0"
    database = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"

    import django

    django.setup()
    from django.core.management import call_command

    from fideliza.accounts.services import Actor
    from fideliza.imports.services import import_file

    call_command("migrate", verbosity=0)
    tag = f"b{int(time.time()) % 100000}" if database == "postgresql" else "b"
    source = f"bench-{tag}"
    t0 = time.perf_counter()
    cust, prod, orders_file, n_orders = write_files(
        workdir, lines=args.lines, customers=args.customers, products=args.products,
        seed=args.seed, tag=tag)
    print(f"generated files in {time.perf_counter() - t0:.1f} s "
          f"({args.lines:,} lines, {n_orders:,} orders; {orders_file.stat().st_size / 1e6:.0f} MB)")
    actor = Actor.system("benchmark")

    for kind, path, count in (("customers", cust, args.customers), ("products", prod, args.products)):
        t0, c0 = time.perf_counter(), cpu_seconds()
        run = import_file(path=path, kind=kind, source=source, actor=actor)
        dt, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        assert run.status == "done", run.errors[:5]
        print(f"{kind:>9}: {count:,} rows in {dt:.1f} s ({count / dt:,.0f} rows/s; cpu {cpu:.1f} s), "
              f"created {run.rows_created:,}")

    # Time spent in the "orders recorded" reactions (loyalty, analytics…) of other apps,
    # reported apart from the import itself; the import still runs them.
    import fideliza.sales.ingest as ingest

    hook_time = [0.0]
    real_hook = ingest.run_orders_recorded

    def timed_hook(order_ids):
        t = time.perf_counter()
        real_hook(order_ids)
        hook_time[0] += time.perf_counter() - t

    ingest.run_orders_recorded = timed_hook
    rss_before = peak_rss_mb()
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    run = import_file(path=orders_file, kind="orders", source=source, actor=actor)
    dt = time.perf_counter() - t0
    cpu = cpu_seconds() - cpu0
    assert run.status == "done", run.errors[:5]
    print(f"   orders: {args.lines:,} lines ({run.options['summary']['orders_created']:,} orders) "
          f"in {dt:.1f} s, of which {hook_time[0]:.1f} s in the orders-recorded hooks")
    print(f"RESULT database={database} lines/s={args.lines / dt:,.0f} "
          f"(without the hooks {args.lines / (dt - hook_time[0]):,.0f}) "
          f"peak_rss={peak_rss_mb():,.0f} MB (before the orders import: {rss_before:,.0f} MB)")
    # On a shared machine wall time depends on the other load; CPU time much less so.
    print(f"       cpu time {cpu:.1f} s ({args.lines / cpu:,.0f} lines per CPU-second); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    t0 = time.perf_counter()
    again = import_file(path=orders_file, kind="orders", source=source, actor=actor)
    print(f"re-import of the same file: created {again.rows_created:,}, unchanged "
          f"{again.rows_unchanged:,} in {time.perf_counter() - t0:.1f} s")
    if not args.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"kept {workdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
