"""Enrolments when two cards are merged (a customers.merging handler), and undo.

The merged card's enrolments move to the survivor with their step history, except one for
an occurrence the survivor is already enrolled for (both cards made a first purchase):
that one stays with the merged card. A customer has at most one active enrolment per
automation, so where the two cards each had one running in the same automation the one
enrolled first keeps going and the other is closed as folded into it — as a new cause is
while one is active. Undo puts every row back as it was, and reopens a closed enrolment
unless its card has another active enrolment in that automation by then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from fideliza.customers.models import Customer

from .models import Enrollment, EnrollmentState

# stop_reason of an enrolment closed because its card was merged and the same customer
# already had one running in that automation.
FOLDED = "folded"


def _state(e: Enrollment) -> dict[str, Any]:
    return {"id": e.pk, "state": e.state, "stop_reason": e.stop_reason, "next_step": e.next_step,
            "next_due_at": e.next_due_at.isoformat() if e.next_due_at else None}


@transaction.atomic
def enrollments_merge(survivor: Customer, duplicate: Customer, colliding: list[Any]) -> dict[str, Any]:
    """Move the duplicate's enrolments to the survivor, one active per automation; JSON payload."""
    theirs = list(Enrollment.objects.select_for_update().filter(customer=duplicate).order_by("pk"))
    mine = list(Enrollment.objects.select_for_update().filter(customer=survivor).order_by("pk"))
    taken = {(e.automation_id, e.trigger_key) for e in mine}
    staying = [e for e in theirs if (e.automation_id, e.trigger_key) in taken]
    moving = [e for e in theirs if (e.automation_id, e.trigger_key) not in taken]

    # Who keeps running in each automation: the earliest enrolled among the survivor's
    # active enrolments and the moving ones; everything else active is folded into it.
    running: dict[int, list[Enrollment]] = {}
    for e in mine + moving:
        if e.state == EnrollmentState.ACTIVE:
            running.setdefault(e.automation_id, []).append(e)
    keeper = {a: min(rows, key=lambda e: (e.enrolled_at, e.pk)) for a, rows in running.items()}
    to_close = [e for rows in running.values() for e in rows if e is not keeper[e.automation_id]]
    to_close += [e for e in staying if e.state == EnrollmentState.ACTIVE]
    closed = [_state(e) for e in to_close]
    # Close first: with at most one active enrolment per customer and automation enforced by
    # the database, moving an active one before would break it.
    Enrollment.objects.filter(pk__in=[e.pk for e in to_close]).update(
        state=EnrollmentState.STOPPED, stop_reason=FOLDED, next_step=None, next_due_at=None)
    moved = [e.pk for e in moving]
    Enrollment.objects.filter(pk__in=moved).update(customer=survivor)
    return {"duplicate": duplicate.pk, "moved": moved, "closed": closed}


def _undo(payload: dict[str, Any]) -> None:
    Enrollment.objects.filter(pk__in=payload.get("moved", [])).update(customer_id=payload["duplicate"])
    for before in payload.get("closed", []):
        row = Enrollment.objects.select_for_update().filter(pk=before["id"]).first()
        if row is None or row.state != EnrollmentState.STOPPED or row.stop_reason != FOLDED:
            continue  # changed since the merge: leave it as it is now
        if before["state"] == EnrollmentState.ACTIVE and Enrollment.objects.filter(
                automation_id=row.automation_id, customer_id=row.customer_id,
                state=EnrollmentState.ACTIVE).exists():
            continue  # its card has another running in that automation by now
        due = before["next_due_at"]
        Enrollment.objects.filter(pk=row.pk).update(
            state=before["state"], stop_reason=before["stop_reason"], next_step=before["next_step"],
            next_due_at=datetime.fromisoformat(due) if due else None)


# Function attributes (customers.merging.MergeHandler), which mypy cannot declare.
enrollments_merge.undo = _undo  # type: ignore[attr-defined]
enrollments_merge.moves_rows = True  # type: ignore[attr-defined]
