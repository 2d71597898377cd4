"""What addressing companies through their contact persons costs the gate (issue 15 part 4).

Builds N customers who consented to e-mail (a fresh SQLite file, or a throw-away database on
the PostgreSQL of DATABASE_URL); a share of them (default 3 %, the demo's) are companies
with two contact persons each, the first primary, with e-mail consent of their own. Then
queues one marketing e-mail to every customer with ONE `messages_queue` call (as a campaign
launch does) and reports its time, how long the companies' step (`company_contacts`, one
query for the company cards and one per chunk for their contacts and consents) takes over
the same customers, and checks that every company's message went to its primary contact.

    .venv/bin/python benchmarks/company_contacts.py [--customers 100000] [--companies 0.03]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/company_contacts.py
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path


def setup_django(tmp: Path) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    os.environ["FIDELIZA_VAR_DIR"] = str(tmp)
    os.environ["DJANGO_SETTINGS_MODULE"] = "fideliza.config.settings.local"
    os.environ["FIDELIZA_TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"
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


def build(n: int, share: float) -> tuple[list[int], dict[int, str]]:
    """The customers' ids and {company: its primary contact's e-mail}."""
    from django.core.management import call_command
    from django.utils import timezone

    from fideliza.customers.models import ConsentRecord, Contact, ContactConsentRecord, Customer
    from fideliza.engagement.models import ContactBudget

    call_command("migrate", verbosity=0)
    ContactBudget.objects.create(scope="global", max_messages=10, window_days=7)
    now = timezone.now()
    every = max(1, round(1 / share)) if share > 0 else 0
    ids: list[int] = []
    primary: dict[int, str] = {}
    batch = 5000
    for start in range(0, n, batch):
        customers = []
        for i in range(start, min(n, start + batch)):
            company = bool(every) and i % every == 0
            customers.append(Customer(kind="company" if company else "person", first_name=f"Nombre{i}",
                                      company_name=f"Empresa {i} S.L." if company else "", email=f"c{i}@ejemplo.es"))
        Customer.objects.bulk_create(customers, batch_size=batch)
        ConsentRecord.objects.bulk_create([ConsentRecord(customer_id=c.pk, channel="email", status="granted",
                                                         recorded_at=now, source="bench") for c in customers],
                                          batch_size=batch)
        contacts = [Contact(customer_id=c.pk, name=f"Persona {k} de {c.pk}", email=f"p{k}.{c.pk}@empresa.es",
                            is_primary=k == 0)
                    for c in customers if c.kind == "company" for k in range(2)]
        Contact.objects.bulk_create(contacts, batch_size=batch)
        ContactConsentRecord.objects.bulk_create(
            [ContactConsentRecord(contact_id=p.pk, channel="email", status="granted", recorded_at=now, source="bench")
             for p in contacts], batch_size=batch)
        ids += [c.pk for c in customers]
        primary.update({p.customer_id: p.email for p in contacts if p.is_primary})
    return ids, primary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--companies", type=float, default=0.03, help="share of company cards")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pg_name = setup_django(Path(tmp))
        import django

        django.setup()
        from django.db import connection

        from fideliza.customers.selectors import company_contacts
        from fideliza.engagement.models import Message
        from fideliza.engagement.services import CHUNK, MessageRequest, messages_queue

        print(f"machine: {platform.machine()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
              f"load {os.getloadavg()[0]:.1f}")
        t0 = time.perf_counter()
        ids, primary = build(args.customers, args.companies)
        print(f"database: {connection.vendor}; {len(ids):,} customers, {len(primary):,} companies with 2 contacts "
              f"each, built in {time.perf_counter() - t0:.1f} s")

        t0, c0 = time.perf_counter(), time.process_time()
        for start in range(0, len(ids), CHUNK):
            company_contacts(ids[start:start + CHUNK], {"email"})
        step, step_cpu = time.perf_counter() - t0, time.process_time() - c0

        requests = [MessageRequest(customer_id=cid, channel="email", kind="marketing", source="bench:1",
                                   dedupe_key=f"bench:{cid}", subject="Hola", body_text="Hola")
                    for cid in ids]
        t0, c0 = time.perf_counter(), time.process_time()
        decisions = messages_queue(requests)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        queued = sum(1 for d in decisions if d.status == "queued")
        to_companies = dict(Message.objects.filter(customer_id__in=list(primary)).values_list("customer_id", "address"))
        assert to_companies == primary, "a company's message did not go to its primary contact"
        print(f"messages_queue of {len(ids):,} marketing e-mails: {wall:.2f} s wall, {cpu:.2f} s CPU, "
              f"{queued:,} queued")
        print(f"  of which the companies' step (company_contacts over {len(ids) // CHUNK + 1} chunks): "
              f"{step * 1000:.0f} ms wall ({step / wall:.1%}), {step_cpu * 1000:.0f} ms CPU ({step_cpu / cpu:.1%})")
        print(f"  every company's message went to its primary contact ({len(to_companies):,} checked)")
        print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        if pg_name:
            connection.close()
            import psycopg

            with psycopg.connect(os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{pg_name}"')


if __name__ == "__main__":
    main()
