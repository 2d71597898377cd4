"""Done-when: killing the worker between commit and send, then restarting, delivers each
message exactly once. A real worker process (on the database task backend, and on RQ with
Redis) against the same on-disk database, a real SMTP server, SIGKILL in the middle of a
batch — to the worker and every process under it, as when its machine dies (an RQ worker
runs each job in a forked child of a session of its own)."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from fideliza.engagement.models import AttemptOutcome, DeliveryAttempt, Message, MessageStatus
from fideliza.engagement.services import messages_queue

from .conftest import make_customer, request

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = Path(__file__).with_name("outbox_worker.py")


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(sink, redis_url: str = "", **env) -> subprocess.Popen:
    from django.conf import settings

    if redis_url:
        env["FIDELIZA_TEST_REDIS_URL"] = redis_url
    environment = {**os.environ, "DATABASE_URL": database_url(), "EMAIL_HOST": sink.host,
                   "DEFAULT_FROM_EMAIL": settings.DEFAULT_FROM_EMAIL,
                   "FIDELIZA_PUBLIC_URL": settings.FIDELIZA_PUBLIC_URL,
                   "EMAIL_PORT": str(sink.port), "DJANGO_SETTINGS_MODULE": "fideliza.config.settings.test",
                   **{k: str(v) for k, v in env.items()}}
    root = Path(__file__).resolve().parents[2]
    environment["PYTHONPATH"] = os.pathsep.join([str(root / "src"), str(root)])
    return subprocess.Popen([sys.executable, str(WORKER)], env=environment, cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and all its descendants (found through /proc before any dies)."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(") ", 1)[1].split()
            children[int(fields[1])].append(int(stat.parent.name))
    todo, tree = [pid], []
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    for member in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)


@pytest.fixture(params=["database", "rq"])
def backend(request, settings) -> str:
    """The task backend under test: "" for the database one, else the RQ worker's Redis URL."""
    if request.param == "rq":
        return request.getfixturevalue("rq_backend")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend",
                                  "QUEUES": ["default", "imports", "analytics", "outbox"]}}
    return ""


def test_sigkill_mid_batch_then_restart_delivers_each_message_exactly_once(smtp_sink, backend):
    customers = [make_customer(first_name=f"Cliente{i}", email=f"c{i}@example.com") for i in range(24)]
    reqs = [request(c, kind="marketing" if i % 3 else "transactional", body_text=f"Hola Cliente{i}")
            for i, c in enumerate(customers)]
    decisions = messages_queue(reqs)  # commits; on commit one send task lands in the task table
    assert {d.status for d in decisions} == {"queued"}
    ids = [d.message_id for d in decisions]

    # First worker: the SMTP server stalls the 9th transaction at RCPT; kill the worker there.
    smtp_sink.hold_after = 8
    first = start_worker(smtp_sink, backend)
    try:
        assert smtp_sink.holding.wait(timeout=120), first.stdout.read().decode() if first.poll() is not None else ""
        kill_tree(first.pid)
        first.wait(timeout=30)
    finally:
        kill_tree(first.pid)
    assert first.returncode == -signal.SIGKILL
    assert len(smtp_sink.messages) == 8
    statuses = collections.Counter(Message.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses == {MessageStatus.SENT: 8, MessageStatus.SENDING: 1, MessageStatus.QUEUED: 15}
    smtp_sink.hold_after = None
    smtp_sink.release()

    # Restart. The killed task stays "running" in the task table (or RQ's started registry)
    # forever, so recovery is the sweep: the stale `sending` row and the queued rows its dead task carried are re-queued.
    second = start_worker(smtp_sink, backend, FIDELIZA_OUTBOX_CLAIM_TIMEOUT=0, FIDELIZA_OUTBOX_SWEEP_GRACE=0)
    output = second.communicate(timeout=300)[0].decode()
    assert second.returncode == 0, output

    assert len(smtp_sink.messages) == 24, output
    per_recipient = collections.Counter(str(m["To"]) for m in smtp_sink.messages)
    assert set(per_recipient.values()) == {1}
    assert len({m["Message-ID"] for m in smtp_sink.messages}) == 24
    expected_ids = {m.rfc_message_id for m in Message.objects.filter(pk__in=ids)}
    assert {m["Message-ID"] for m in smtp_sink.messages} == expected_ids
    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) == {MessageStatus.SENT}
    interrupted = DeliveryAttempt.objects.filter(outcome=AttemptOutcome.ABANDONED)
    assert interrupted.count() == 1
    assert list(DeliveryAttempt.objects.filter(message=interrupted[0].message).order_by("id")
                .values_list("outcome", flat=True)) == [AttemptOutcome.ABANDONED, AttemptOutcome.SENT]

    # A third start finds nothing to do: sent messages are never sent again.
    third = start_worker(smtp_sink, backend, FIDELIZA_OUTBOX_CLAIM_TIMEOUT=0, FIDELIZA_OUTBOX_SWEEP_GRACE=0)
    third.communicate(timeout=300)
    assert third.returncode == 0 and len(smtp_sink.messages) == 24
