"""A real outbox worker process for the crash test (run as a subprocess, not collected).

Does what production does: the periodic sweep once (`outbox_sweep`, normally fired by
`fideliza scheduler` every 5 minutes), then `fideliza worker` on the "outbox" queue until no
task is left — on the database task backend, or on RQ when FIDELIZA_TEST_REDIS_URL is set.
The database comes from DATABASE_URL (the test database), the SMTP server from
EMAIL_HOST / EMAIL_PORT.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fideliza.config.settings.test")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

RQ = bool(os.environ.get("FIDELIZA_TEST_REDIS_URL"))
TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend" if RQ else "django_tasks_db.DatabaseBackend",
                     "QUEUES": ["default", "imports", "analytics", "outbox"]}}

with override_settings(
    TASKS=TASKS,
    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    EMAIL_HOST=os.environ["EMAIL_HOST"],
    EMAIL_PORT=int(os.environ["EMAIL_PORT"]),
    FIDELIZA_QUIET_HOURS_START="",
    FIDELIZA_QUIET_HOURS_END="",
    FIDELIZA_OUTBOX_CLAIM_TIMEOUT=int(os.environ.get("FIDELIZA_OUTBOX_CLAIM_TIMEOUT", "600")),
    FIDELIZA_OUTBOX_SWEEP_GRACE=int(os.environ.get("FIDELIZA_OUTBOX_SWEEP_GRACE", "120")),
):
    from fideliza.engagement.tasks import outbox_sweep

    print("sweep", outbox_sweep.call(), flush=True)
    if RQ:
        call_command("worker", "--queue", "outbox", "--burst", verbosity=0)
    else:
        call_command("db_worker", "--queue-name", "outbox", "--batch", "--no-startup-delay", "--no-reload",
                     "--interval", "0.1", verbosity=0)
