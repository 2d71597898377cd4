"""Writes of follow-ups: create, complete, snooze, cancel, reassign, and erasure.

Every writer (the web pages, the API, the interaction log, later cadences and automation
steps) calls these functions; each runs in one transaction and locks the row it changes.
The caller has already checked that its user may see the customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import Role, User
from fideliza.accounts.services import Actor
from fideliza.customers.models import Customer

from .models import FollowUp, FollowUpOrigin, FollowUpPriority, FollowUpStatus

ERASED = "[suprimido]"
OPEN_STATES = (FollowUpStatus.OPEN, FollowUpStatus.SNOOZED)


def business_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_moment(day: date, at: time, zone: ZoneInfo | None = None) -> datetime:
    """The instant of the wall-clock `day` `at` in the business's zone, DST-safe.

    A time that does not exist (the hour skipped when clocks go forward, 02:30 on the last
    Sunday of March in Madrid) moves forward by the gap (03:30); a time that happens twice
    (the hour repeated in October) is the first of the two. Returned in UTC.
    """
    zone = zone or business_zone()
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def local_day_bounds(day: date, zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the business's calendar day `day` (23 or 25 hours on DST changes)."""
    return local_moment(day, time(0), zone), local_moment(day + timedelta(days=1), time(0), zone)


def later_same_time(moment: datetime, days: int, zone: ZoneInfo | None = None) -> datetime:
    """`days` calendar days after `moment` at the same wall-clock time (not days × 24 h)."""
    zone = zone or business_zone()
    local = moment.astimezone(zone)
    return local_moment(local.date() + timedelta(days=days), local.time(), zone)


def _clean_assignee(*, customer: Customer, assignee: User | None, assignee_role: str) -> None:
    if assignee is not None:
        if not assignee.is_active:
            raise ValidationError({"assignee": _("Ese usuario no está activo.")}, code="inactive")
        if assignee.is_sales_rep and customer.account_executive_id != assignee.pk:
            raise ValidationError(
                {"assignee": _("Un representante solo puede tener seguimientos de sus propios clientes.")},
                code="not_visible")
    elif assignee_role not in Role.values:
        raise ValidationError({"assignee": _("Indique un responsable o un rol.")}, code="required")


def followup_create(
    *,
    actor: Actor,
    customer: Customer,
    title: str,
    due_at: datetime,
    assignee: User | None = None,
    assignee_role: str = "",
    priority: int = FollowUpPriority.NORMAL,
    notes: str = "",
    origin_kind: str = FollowUpOrigin.MANUAL,
    origin_id: int | None = None,
) -> FollowUp:
    """A new open follow-up. Without an assignee or a role it goes to the customer's account
    executive, else to whoever creates it."""
    if customer.merged_into_id is not None:
        raise ValidationError(_("Esta ficha se fusionó con otra: cree el seguimiento en la ficha que permanece."),
                              code="merged")
    if timezone.is_naive(due_at):
        raise ValidationError({"due_at": _("Falta la zona horaria de la fecha de vencimiento.")}, code="naive")
    if assignee is None and not assignee_role:
        assignee = customer.account_executive or actor.user
    _clean_assignee(customer=customer, assignee=assignee, assignee_role=assignee_role)
    followup = FollowUp(customer=customer, title=title.strip(), notes=notes.strip(), assignee=assignee,
                        assignee_role="" if assignee is not None else assignee_role, due_at=due_at,
                        priority=priority, origin_kind=origin_kind, origin_id=origin_id,
                        created_by=actor.user)
    followup.full_clean()
    with transaction.atomic():
        followup.save()
    return followup


@dataclass(frozen=True)
class NewFollowUp:
    """One follow-up of a batch (`followups_create_many`): for a person or, with nobody
    named, for a role."""

    customer_id: int
    title: str
    due_at: datetime
    assignee_id: int | None = None
    assignee_role: str = ""
    notes: str = ""


def followups_create_many(*, actor: Actor, rows: Sequence[NewFollowUp], origin_kind: str,
                          origin_id: int | None, priority: int = FollowUpPriority.NORMAL) -> int:
    """Create many open follow-ups of one origin at once (a contact cadence's daily run, an
    automation step); returns how many were written.

    The caller has chosen the assignees: a person who is active and, for a sales
    representative, the customer's account executive (checked here in bulk), else a role.
    A row that would break a unique constraint — a second pending follow-up of one cadence
    for one customer, inserted by a concurrent run — is skipped, not an error (on
    PostgreSQL the insert waits for the other transaction and then skips). The count is
    exact while no other writer of the same origin runs at the same moment (a cadence's run
    holds its rule's row lock); without that it may include the other writer's rows.
    """
    if not rows:
        return 0
    from fideliza.accounts.selectors import users_active
    from fideliza.customers.selectors import customers_current

    people = {pk: role for pk, role in users_active().filter(pk__in={r.assignee_id for r in rows if r.assignee_id})
              .values_list("pk", "role")}
    executives = dict(customers_current().filter(pk__in={r.customer_id for r in rows})
                      .values_list("pk", "account_executive_id"))
    objs = []
    for r in rows:
        if r.customer_id not in executives:
            raise ValidationError(_("Esta ficha se fusionó con otra o no existe."), code="merged")
        if timezone.is_naive(r.due_at):
            raise ValidationError({"due_at": _("Falta la zona horaria de la fecha de vencimiento.")}, code="naive")
        if r.assignee_id is not None:
            if r.assignee_id not in people:
                raise ValidationError({"assignee": _("Ese usuario no está activo.")}, code="inactive")
            if people[r.assignee_id] == Role.SALES_REP and executives[r.customer_id] != r.assignee_id:
                raise ValidationError(
                    {"assignee": _("Un representante solo puede tener seguimientos de sus propios clientes.")},
                    code="not_visible")
        elif r.assignee_role not in Role.values:
            raise ValidationError({"assignee": _("Indique un responsable o un rol.")}, code="required")
        objs.append(FollowUp(customer_id=r.customer_id, title=r.title.strip()[:200] or "—", notes=r.notes.strip(),
                             assignee_id=r.assignee_id, assignee_role="" if r.assignee_id else r.assignee_role,
                             due_at=r.due_at, priority=priority, origin_kind=origin_kind, origin_id=origin_id,
                             created_by=actor.user))
    pending = FollowUp.objects.filter(origin_kind=origin_kind, origin_id=origin_id, status__in=OPEN_STATES)
    with transaction.atomic():
        before = pending.count()
        FollowUp.objects.bulk_create(objs, batch_size=1000, ignore_conflicts=True)
        return pending.count() - before


def _locked(followup: FollowUp) -> FollowUp:
    return FollowUp.objects.select_for_update().select_related("customer").get(pk=followup.pk)


def _must_be_open(row: FollowUp) -> None:
    if row.status not in OPEN_STATES:
        raise ValidationError(_("Este seguimiento ya está cerrado (%(status)s).")
                              % {"status": row.get_status_display()}, code="closed")


@transaction.atomic
def followup_complete(*, actor: Actor, followup: FollowUp, outcome: str = "",
                      at: datetime | None = None) -> FollowUp:
    """Mark an open or snoozed follow-up done, with what came of it."""
    row = _locked(followup)
    _must_be_open(row)
    row.status, row.outcome = FollowUpStatus.DONE, outcome.strip()
    row.snoozed_until = None
    row.closed_at, row.closed_by = at or timezone.now(), actor.user
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def followup_snooze(*, actor: Actor, followup: FollowUp, until: datetime, reason: str,
                    now: datetime | None = None) -> FollowUp:
    """Put an open follow-up aside until `until` (in the future), saying why."""
    row = _locked(followup)
    _must_be_open(row)
    if not reason.strip():
        raise ValidationError({"reason": _("Diga por qué se aplaza.")}, code="required")
    if until <= (now or timezone.now()):
        raise ValidationError({"until": _("La nueva fecha debe ser futura.")}, code="past")
    row.status, row.snoozed_until, row.status_reason = FollowUpStatus.SNOOZED, until, reason.strip()
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def followup_cancel(*, actor: Actor, followup: FollowUp, reason: str, at: datetime | None = None) -> FollowUp:
    """Cancel an open or snoozed follow-up, saying why."""
    row = _locked(followup)
    _must_be_open(row)
    if not reason.strip():
        raise ValidationError({"reason": _("Diga por qué se cancela.")}, code="required")
    row.status, row.status_reason, row.snoozed_until = FollowUpStatus.CANCELLED, reason.strip(), None
    row.closed_at, row.closed_by = at or timezone.now(), actor.user
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def followup_reassign(*, actor: Actor, followup: FollowUp, assignee: User | None,
                      assignee_role: str = "") -> FollowUp:
    """Hand an open follow-up to another person, or to a role."""
    row = _locked(followup)
    _must_be_open(row)
    _clean_assignee(customer=row.customer, assignee=assignee, assignee_role=assignee_role)
    row.assignee, row.assignee_role = assignee, "" if assignee is not None else assignee_role
    row.full_clean()
    row.save()
    return row


def followups_erase(customer_ids: list[int], values: set[str]) -> int:
    """Erasure (customers.privacy): the erased cards' follow-ups keep their dates, people and
    states (team figures stay right) but lose every text; open ones are cancelled."""
    rows = FollowUp.objects.filter(customer_id__in=customer_ids)
    now = timezone.now()
    rows.filter(status__in=OPEN_STATES).update(status=FollowUpStatus.CANCELLED, snoozed_until=None,
                                               closed_at=now)
    return rows.update(title=ERASED, notes="", outcome="", status_reason="")


def followups_origin_set(origins: dict[int, int], *, kind: str) -> int:
    """Name the origin (`kind`, id) of follow-ups created before it was known: {follow-up:
    origin id}. For bulk-built history such as the demo's."""
    for followup_id, origin_id in origins.items():
        FollowUp.objects.filter(pk=followup_id).update(origin_kind=kind, origin_id=origin_id)
    return len(origins)


@transaction.atomic
def followup_notes_append(*, followup_id: int, text: str) -> None:
    """Add a paragraph to the notes of a follow-up (a survey's free text that arrives after
    the score that created it). Closed follow-ups are left as they were closed."""
    row = FollowUp.objects.select_for_update().filter(pk=followup_id, status__in=OPEN_STATES).first()
    if row is None or not text.strip():
        return
    row.notes = f"{row.notes}\n\n{text.strip()}".strip()
    row.save(update_fields=["notes", "updated_at"])
