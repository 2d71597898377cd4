"""Settings for the test suite. DATABASE_URL selects SQLite (default) or PostgreSQL."""

import os

from .base import *  # noqa: F403
from .base import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test logins
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run inside the request that enqueues them, unless a test (or a worker process it
# starts) asks for a real backend; FIDELIZA_TEST_REDIS_URL points RQ at the test's own Redis
# database (tests/core/rq.py), never at the one a deployment on this machine may use.
TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": TASK_QUEUES,  # noqa: F405
    }
}
if os.environ.get("FIDELIZA_TEST_REDIS_URL"):  # a worker process started by an RQ test
    TASKS["default"]["BACKEND"] = "django_tasks_rq.RQBackend"
    RQ_QUEUES = {queue: {**spec, "URL": os.environ["FIDELIZA_TEST_REDIS_URL"]}
                 for queue, spec in RQ_QUEUES.items()}  # noqa: F405
# One test database per test process, so that concurrent runs (developers, CI jobs) never
# share or destroy each other's database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # An on-disk file (not :memory:) so that live-server threads and worker processes in
    # tests see the same data.
    DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}.test-{os.getpid()}"}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}

# Tests never run collectstatic; WhiteNoise would warn on every request about the missing
# STATIC_ROOT (the live server serves static files itself).
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
