"""The RQ (Redis) task backend in tests: a Redis database of the test process's own.

`rq_backend` switches the test process's TASKS to django-tasks-rq and points RQ_QUEUES at a
Redis database picked from the process id (emptied before and after the test), so that
concurrent test runs on one machine do not share queues; worker processes the test starts
get the same URL through FIDELIZA_TEST_REDIS_URL (see config/settings/test.py). Skipped
where no Redis answers on FIDELIZA_TEST_REDIS (default 127.0.0.1:6379).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

RQ_TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend",
                        "QUEUES": ["default", "imports", "analytics", "outbox"]}}


def redis_address() -> tuple[str, int]:
    host, _, port = os.environ.get("FIDELIZA_TEST_REDIS", "127.0.0.1:6379").partition(":")
    return host, int(port or 6379)


def redis_reachable() -> bool:
    try:
        socket.create_connection(redis_address(), timeout=2).close()
    except OSError:
        return False
    return True


def redis_url_for_tests() -> str:
    host, port = redis_address()
    return f"redis://{host}:{port}/{1 + os.getpid() % 15}"  # db 0 is left to deployments


@pytest.fixture
def rq_backend(settings) -> Iterator[str]:
    """The RQ backend for this test; yields the Redis URL its worker processes must use."""
    if not redis_reachable():
        pytest.skip("no Redis on {}:{}".format(*redis_address()))
    import redis

    url = redis_url_for_tests()
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings.TASKS = RQ_TASKS
    settings.RQ_QUEUES = {q: {"URL": url, "DEFAULT_TIMEOUT": 600} for q in RQ_TASKS["default"]["QUEUES"]}
    try:
        yield url
    finally:
        client.flushdb()
        client.close()
