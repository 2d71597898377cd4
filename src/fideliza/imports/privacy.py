"""Erasure handler of the imports app (registered in `ImportsConfig.ready`)."""

from __future__ import annotations

import json

from fideliza.customers.privacy import quotes_any, scrub_json

from .models import ImportRun


def import_errors_erase(customer_ids: list[int], values: set[str]) -> int:
    """Import error reports quote the cells of rejected rows: any that quote the erased
    cards' values are blanked. Returns the runs changed."""
    count = 0
    for run in ImportRun.objects.exclude(errors=[]).iterator():
        if quotes_any(json.dumps(run.errors, ensure_ascii=False), values):
            run.errors = scrub_json(run.errors, values)
            run.save(update_fields=["errors"])
            count += 1
    return count
