"""Writes of the six-moves plan: the one-click actions on a line and the plan items.

One-click actions are idempotent within a week (a `LineAction` row per line, week and
kind, taken under a row lock):
- follow-ups: one per customer of the line who has none from this week's action yet, so a
  second click creates follow-ups only for customers who entered the list since;
- segment: one fixed list per line and week, the line's customers added (again: only the
  new ones); the campaign button saves it the same way and opens the campaign form with it.
The caller has checked the role (anyone for follow-ups — a representative's list holds
only their customers —, segment editors for the segment, campaign editors for campaigns).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from fideliza.accounts.models import User
from fideliza.accounts.services import Actor
from fideliza.followups.models import FollowUpOrigin
from fideliza.followups.selectors import customers_with_followup_from
from fideliza.followups.services import NewFollowUp, followups_create_many, local_moment
from fideliza.segments.models import Segment, SegmentKind
from fideliza.segments.selectors import segment_get, segment_name_taken
from fideliza.segments.services import segment_create, segment_static_add

from .lines import Line
from .models import ActionKind, LineAction, PlanItem, PlanItemStatus
from .selectors import line_context, line_customers, week_start

FOLLOWUP_TIME = time(10, 0)


def _user(actor: Actor) -> User:
    if actor.user is None:
        raise ValidationError(_("Una acción del plan la hace una persona."), code="no_user")
    return actor.user


def _action(*, line: Line, week: date, kind: str, user: User) -> LineAction:
    """This week's action row of `line`, created on the first click, locked."""
    try:
        with transaction.atomic():
            LineAction.objects.get_or_create(line_key=line.key, week_start=week, kind=kind,
                                             defaults={"created_by": user})
    except IntegrityError:  # two first clicks at once: the other one created it
        pass
    return LineAction.objects.select_for_update().get(line_key=line.key, week_start=week, kind=kind)


def followup_due(today: date) -> datetime:
    """When a plan follow-up falls due: the Friday of the week at 10:00 (business zone), or
    today at that time from Friday on (the list is the week's work)."""
    friday = week_start(today) + timedelta(days=4)
    return local_moment(max(today, friday), FOLLOWUP_TIME)


@transaction.atomic
def line_followups_create(*, actor: Actor, line: Line, now: datetime | None = None) -> tuple[LineAction, int]:
    """A follow-up for each customer of `line` (as the actor sees it) who has none from this
    week's action yet; returns the action and how many were created. Each goes to the
    customer's account executive, else to the actor (`followups.services.followups_create_many`,
    one bulk insert)."""
    now = now or timezone.now()
    user = _user(actor)
    ctx = line_context(user, now)
    action = _action(line=line, week=week_start(ctx.today), kind=ActionKind.FOLLOWUPS, user=user)
    done = customers_with_followup_from(kind=FollowUpOrigin.PLAN, origin_id=action.pk)
    due, title, notes = followup_due(ctx.today), str(line.action), str(line.how)
    rows = []
    for customer in line_customers(line, ctx).select_related("account_executive"):
        if customer.pk in done:
            continue
        executive = customer.account_executive
        assignee = executive if executive is not None and executive.is_active else user
        rows.append(NewFollowUp(customer_id=customer.pk, title=title, due_at=due, assignee_id=assignee.pk,
                                notes=notes))
    created = followups_create_many(actor=actor, rows=rows, origin_kind=FollowUpOrigin.PLAN, origin_id=action.pk)
    action.customers = len(done) + created
    action.save(update_fields=["customers", "updated_at"])
    return action, created


def _segment_name(line: Line, week: date, count: int) -> str:
    base = _("Plan: %(list)s (semana del %(week)s)") % {"list": line.text(count).split(" ", 1)[1][:70],
                                                         "week": date_format(week, "SHORT_DATE_FORMAT")}
    name, n = base, 2
    while segment_name_taken(name):
        name, n = f"{base} {n}", n + 1
    return name


@transaction.atomic
def line_segment_save(*, actor: Actor, line: Line, now: datetime | None = None) -> tuple[Segment, int]:
    """Save `line`'s customers (as the actor sees them) as this week's fixed list; returns
    the segment and how many customers were added now."""
    now = now or timezone.now()
    user = _user(actor)
    ctx = line_context(user, now)
    week = week_start(ctx.today)
    action = _action(line=line, week=week, kind=ActionKind.SEGMENT, user=user)
    ids = list(line.customers(ctx).values_list("pk", flat=True))
    segment = segment_get(action.segment_id) if action.segment_id else None
    if segment is None:
        segment = segment_create(user=actor.user, name=_segment_name(line, week, len(ids)), kind=SegmentKind.STATIC,
                                 description=str(line.how))
        action.segment_id = segment.pk
    added = segment_static_add(segment=segment, customer_ids=ids)
    action.customers = segment.member_count
    action.save(update_fields=["segment_id", "customers", "updated_at"])
    return segment, added


# --- plan items -----------------------------------------------------------------------------

def _clean_item(item: PlanItem) -> None:
    if not item.action.strip():
        raise ValidationError({"action": _("Escriba la acción elegida.")}, code="required")
    if not item.owner.is_active:
        raise ValidationError({"owner": _("Ese usuario no está activo.")}, code="inactive")


@transaction.atomic
def plan_item_create(*, actor: Actor, move: str, action: str, owner: User, due_date: date, when: str = "",
                     who: str = "", how: str = "", line_key: str = "",
                     status: str = PlanItemStatus.PENDING) -> PlanItem:
    item = PlanItem(move=move, action=action.strip(), when=when.strip(), who=who.strip(), how=how.strip(),
                    line_key=line_key, owner=owner, due_date=due_date, status=status, created_by=actor.user)
    _clean_item(item)
    item.full_clean()
    item.save()
    return item


@transaction.atomic
def plan_item_update(*, item: PlanItem, action: str, owner: User, due_date: date, status: str, when: str = "",
                     who: str = "", how: str = "", line_key: str = "", move: str | None = None) -> PlanItem:
    row = PlanItem.objects.select_for_update().get(pk=item.pk)
    if move is not None:
        row.move = move
    row.action, row.when, row.who, row.how = action.strip(), when.strip(), who.strip(), how.strip()
    row.owner, row.due_date, row.status, row.line_key = owner, due_date, status, line_key
    _clean_item(row)
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def plan_item_set_status(*, item: PlanItem, status: str) -> PlanItem:
    row = PlanItem.objects.select_for_update().get(pk=item.pk)
    row.status = status
    row.full_clean()
    row.save(update_fields=["status", "updated_at"])
    return row
