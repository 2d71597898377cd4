"""Tills sending orders: POST /api/v1/orders under an open-loop load, and the batch endpoint.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fz_bench \\
        .venv/bin/python benchmarks/pos_load.py [--rates 5,50,100,200] [--seconds 20]
        [--customers 2000] [--web-workers 4] [--threads 4] [--batches 10]

What a chain's tills do at the end of a busy day, as they do it: a gunicorn server (the one
`fideliza run` starts, `--web-workers` × `--threads`) on a fresh database (DATABASE_URL;
without it a SQLite file in a temporary directory), a loyalty program with rules and tiers
(so every order accrues points), `--customers` members, and a client process on the same
machine that sends orders **on a fixed schedule** — order i leaves at t0 + i / rate whether
or not the earlier ones were answered (open loop), so a slow server shows as latency and
missed rate instead of being hidden by a client that waits. Latency is measured from the
scheduled send time. For each rate: offered and achieved orders/s, p50/p95/p99 latency and
errors. Then `--batches` requests of 500 orders each to POST /api/v1/orders/batch, one after
the other: orders/s through the batch endpoint.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(customers: int) -> tuple[str, list[int]]:
    """Migrate, and create the owner's API token, the club and the members; (token, ids)."""
    import django

    django.setup()
    from decimal import Decimal

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from fideliza.accounts.models import User
    from fideliza.accounts.services import api_token_create
    from fideliza.catalog.models import Category, Product
    from fideliza.customers.models import Customer
    from fideliza.loyalty.models import EarningRule, Program, RuleKind, Tier

    if Customer.objects.exists():
        raise SystemExit("the database already holds customers: give a fresh DATABASE_URL")
    owner = User.objects.create_user(username="bench-owner", password="x" * 12, role="owner")
    _token, plain = api_token_create(user=owner, name="bench till", created_by=owner)
    tools = Category.objects.create(name="Herramientas")
    Product.objects.create(sku="TAL-1", name="Taladro", category=tools, list_price=Decimal("100.00"),
                           unit_cost=Decimal("61.00"))
    Product.objects.create(sku="CLA-1", name="Clavos", list_price=Decimal("5.00"), unit_cost=Decimal("2.10"))
    program = Program.objects.create(name="Club", point_value=Decimal("0.01"), join_points=50, expiry_days=365)
    EarningRule.objects.create(program=program, name="Base", kind=RuleKind.PER_AMOUNT, points=1)
    EarningRule.objects.create(program=program, name="x3", kind=RuleKind.PER_AMOUNT, points=1, multiplier=3,
                               category=tools)
    for name, rank, threshold in (("Bronce", 0, 0), ("Plata", 1, 200), ("Oro", 2, 1000)):
        Tier.objects.create(program=program, name=name, rank=rank, threshold=threshold)
    Customer.objects.bulk_create(Customer(first_name=f"Socio{i}", email=f"socio{i}@example.com")
                                 for i in range(customers))
    ids = list(Customer.objects.order_by("id").values_list("id", flat=True))
    return plain, ids


def order(customer_id: int, external_id: str) -> dict:
    return {"source": "tpv", "external_id": external_id, "customer_id": customer_id,
            "placed_at": "2026-01-15T18:30:00+01:00", "channel": "store",
            "lines": [{"sku": "TAL-1", "quantity": 1}, {"sku": "CLA-1", "quantity": 3}]}


class Client(threading.local):
    """One keep-alive connection per client thread, as a till keeps its own."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token, self.conn = port, token, None

    def post(self, path: str, body: dict, key: str) -> int:
        data = json.dumps(body)
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request("POST", path, data, {"Content-Type": "application/json",
                                                       "Authorization": f"Bearer {self.token}",
                                                       "Idempotency-Key": key})
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return 0
        return 0


def open_loop(client: Client, ids: list[int], rate: float, seconds: float, tag: str) -> dict:
    n = int(rate * seconds)
    latencies: list[float] = []
    errors = [0]
    last = [0.0]
    lock = threading.Lock()
    t0 = time.perf_counter() + 0.5

    def send(i: int, scheduled: float) -> None:
        status = client.post("/api/v1/orders", order(ids[i % len(ids)], f"{tag}-{i}"), f"{tag}-{i}")
        done = time.perf_counter()
        with lock:
            last[0] = max(last[0], done)
            if status == 201:
                latencies.append(done - scheduled)
            else:
                errors[0] += 1

    with ThreadPoolExecutor(max_workers=min(512, max(8, int(rate * 2)))) as pool:
        for i in range(n):
            scheduled = t0 + i / rate
            pause = scheduled - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(send, i, scheduled)
    # Orders answered per second from the first send to the last answer: equal to the offered
    # rate only if the server kept up the whole time.
    achieved = len(latencies) / max(last[0] - t0, n / rate)
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [float("nan")] * 99
    return {"offered": rate, "sent": n, "ok": len(latencies), "errors": errors[0], "achieved": achieved,
            "p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000}


def batches(client: Client, ids: list[int], count: int) -> tuple[int, float, int]:
    total, failed = 0, 0
    started = time.perf_counter()
    for b in range(count):
        body = {"orders": [{**order(ids[(b * 500 + i) % len(ids)], f"batch-{b}-{i}"),
                            "idempotency_key": f"batch-{b}-{i}"} for i in range(500)]}
        status = client.post("/api/v1/orders/batch", body, str(uuid.uuid4()))
        if status == 200:
            total += 500
        else:
            failed += 1
    return total, time.perf_counter() - started, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="5,50,100,200")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="fz-pos-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fideliza.config.settings.local")
    os.environ.setdefault("FIDELIZA_VAR_DIR", str(workdir))
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    (workdir / "static").mkdir()  # no collectstatic: the API serves no static files
    token, ids = prepare(args.customers)
    from django.db import connection

    vendor = connection.vendor
    connection.close()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "fideliza.config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.web_workers), "--threads", str(args.threads), "--log-level", "warning"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.3)
        client = Client(port, token)
        for i in range(20):  # warm every worker (imports, first queries)
            client.post("/api/v1/orders", order(ids[i], f"warm-{i}"), f"warm-{i}")
        print(f"# {platform.node()} · {os.cpu_count()} CPUs · load {os.getloadavg()[0]:.1f} · {vendor} · "
              f"gunicorn {args.web_workers}×{args.threads} · {args.customers} members, accrual on")
        print("offered/s  sent   ok  errors  achieved/s  p50 ms  p95 ms  p99 ms")
        for rate in (float(r) for r in args.rates.split(",")):
            r = open_loop(client, ids, rate, args.seconds, f"r{int(rate)}")
            print(f"{r['offered']:>9.0f} {r['sent']:>5} {r['ok']:>5} {r['errors']:>7} {r['achieved']:>11.1f} "
                  f"{r['p50']:>7.1f} {r['p95']:>7.1f} {r['p99']:>7.1f}")
        if args.batches:
            done, seconds, failed = batches(client, ids, args.batches)
            print(f"batch: {done} orders in {seconds:.1f} s = {done / seconds:.0f} orders/s "
                  f"({args.batches} requests of 500, {failed} failed)")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
