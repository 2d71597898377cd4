"""Background work for imports: big files are validated and committed by a task worker."""

from __future__ import annotations

import logging

from django.utils import translation
from django_tasks import task

from fideliza.accounts.services import Actor

from .models import ImportRun, ImportStatus
from .reader import ImportOptions

# Files with more data rows than this are validated/imported by the worker (web only).
BACKGROUND_ROWS = 20_000

logger = logging.getLogger(__name__)


@task(queue_name="imports")
def import_run_task(import_run_id: int, dry_run: bool) -> str:
    """Validate (dry_run) or commit the stored file of an ImportRun; returns its status.

    Enqueue with `transaction.on_commit` so the worker never starts before the run exists.
    """
    from .services import import_file

    run = ImportRun.objects.select_related("created_by").filter(pk=import_run_id).first()
    if run is None:  # deleted since it was queued (a reset): nothing left to import
        logger.warning("Import run %s no longer exists; its queued task does nothing.", import_run_id)
        return "missing"
    user = run.created_by
    language = (user.language if user and user.language else None) or translation.get_language()
    with translation.override(language):
        try:
            import_file(path=run.file.path, kind=run.kind, source=run.source,
                        actor=Actor.of(user, via="import"), options=ImportOptions.from_json(run.options),
                        mapping=(run.options or {}).get("mapping"), dry_run=dry_run, import_run=run,
                        file_name=run.file_name)
        except Exception:
            ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.FAILED)
            raise
    run.refresh_from_db(fields=["status"])
    return run.status
