"""REST API of follow-ups: list, read, create, complete, snooze, cancel.

Visibility as everywhere: a sales representative sees and changes only the follow-ups of
the customers assigned to them; anyone else's is a 404, exactly as one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header, Query, Router, Schema
from pydantic import ConfigDict, Field

from fideliza.accounts.auth import request_actor, request_user
from fideliza.accounts.models import User
from fideliza.accounts.selectors import user_get
from fideliza.api_support import (
    CURSOR_DOC,
    DEFAULT_LIMIT,
    ERRORS_READ,
    ERRORS_WRITE,
    IDEMPOTENCY_HEADER_DOC,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_LIMIT,
    DbId,
    IsoDateTime,
    SortKey,
    api_validation_error,
    cursor_pattern,
    dump,
    idempotent_response,
    paginate,
    replay_header_doc,
    sort_key,
)
from fideliza.customers.selectors import customers_visible_to

from .models import FollowUp, FollowUpOrigin, FollowUpPriority, FollowUpStatus
from .selectors import assigned_to, followups_visible_to
from .services import (
    followup_cancel,
    followup_complete,
    followup_create,
    followup_reassign,
    followup_snooze,
)

router = Router(tags=["followups"])

SORTS = (
    SortKey.on("due_at", "due_at", kind="datetime"),
    SortKey.on("-due_at", "due_at", descending=True, kind="datetime"),
    SortKey.on("id", "id"),
    SortKey.on("-id", "id", descending=True),
)
FollowUpSort = Literal["due_at", "-due_at", "id", "-id"]


class FollowUpOut(Schema):
    id: int
    customer_id: int
    title: str
    notes: str
    assignee: int | None = Field(description="User id of the person responsible; null when a role is")
    assignee_role: str = Field(description="Role responsible when nobody is named, else empty")
    due_at: datetime
    priority: Literal["high", "normal", "low"]
    origin_kind: FollowUpOrigin
    origin_id: int | None
    status: FollowUpStatus
    snoozed_until: datetime | None
    status_reason: str
    outcome: str
    created_at: datetime
    closed_at: datetime | None

    @staticmethod
    def resolve_assignee(obj: FollowUp) -> int | None:
        return obj.assignee_id

    @staticmethod
    def resolve_priority(obj: FollowUp) -> str:
        return PRIORITY_NAMES[obj.priority]


PRIORITY_NAMES: dict[int, str] = {FollowUpPriority.HIGH: "high", FollowUpPriority.NORMAL: "normal", FollowUpPriority.LOW: "low"}
PRIORITY_VALUES: dict[str, int] = {name: value for value, name in PRIORITY_NAMES.items()}


class FollowUpPage(Schema):
    items: list[FollowUpOut]
    next: str | None = Field(description="Cursor of the next page; null on the last page")


class FollowUpFilters(Schema):
    status: FollowUpStatus | None = None
    mine: bool = Field(False, description="Only the caller's: named for them, or for their role with nobody named")
    assignee: DbId | None = Field(None, description="User id")
    customer: DbId | None = None
    due_before: IsoDateTime | None = None
    due_after: IsoDateTime | None = None
    sort: FollowUpSort = "due_at"
    cursor: str | None = Field(None, pattern=cursor_pattern(SORTS), description=CURSOR_DOC)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class FollowUpCreateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    customer: DbId
    title: str = Field(min_length=1, max_length=200)
    due_at: IsoDateTime = Field(description="ISO 8601 with its offset; a time without offset is read in the business's zone")
    assignee: DbId | None = Field(None, description="User id; default: the customer's account executive, else the caller")
    assignee_role: Literal["", "owner", "marketing", "sales_rep", "support"] = Field(
        "", description="A role instead of a person")
    priority: Literal["high", "normal", "low"] = "normal"
    notes: str = Field("", max_length=5000)


class FollowUpCompleteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    outcome: str = Field("", max_length=5000)


class FollowUpSnoozeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    until: IsoDateTime = Field(description="When it comes back (future)")
    reason: str = Field(min_length=1, max_length=300)


class FollowUpReassignIn(Schema):
    model_config = ConfigDict(extra="forbid")

    assignee: DbId | None = Field(None, description="User id; or null with `assignee_role`")
    assignee_role: Literal["", "owner", "marketing", "sales_rep", "support"] = ""


class FollowUpCancelIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=300)


def aware(value: datetime) -> datetime:
    """A datetime without offset is read in the business's zone (as the forms do)."""
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def assignee_or_422(user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    user = user_get(user_id, active=True)
    if user is None:
        raise api_validation_error([(("body", field), _("Usuario desconocido."), "not_found")])
    return user


@router.get("", response={200: FollowUpPage, **ERRORS_READ}, url_name="followup_list")
def list_followups(request: HttpRequest, filters: Query[FollowUpFilters]) -> dict[str, Any]:
    """Follow-ups of the customers visible to the caller, in cursor pages."""
    user = request_user(request)
    qs = followups_visible_to(user)
    if filters.status:
        qs = qs.filter(status=filters.status.value)
    if filters.mine:
        qs = qs.filter(assigned_to(user))
    if filters.assignee is not None:
        qs = qs.filter(assignee_id=filters.assignee)
    if filters.customer is not None:
        qs = qs.filter(customer_id=filters.customer)
    if filters.due_before:
        qs = qs.filter(due_at__lt=aware(filters.due_before))
    if filters.due_after:
        qs = qs.filter(due_at__gte=aware(filters.due_after))
    return paginate(qs, sort=sort_key(SORTS, filters.sort), sorts=SORTS, cursor=filters.cursor, limit=filters.limit)


@router.get("/{int:followup_id}", response={200: FollowUpOut, **ERRORS_READ}, url_name="followup_get")
def get_followup(request: HttpRequest, followup_id: DbId) -> FollowUp:
    return get_object_or_404(followups_visible_to(request_user(request)), pk=followup_id)


@router.post("", response={201: FollowUpOut, **ERRORS_WRITE}, url_name="followup_create",
             openapi_extra=replay_header_doc())
def create_followup(
    request: HttpRequest,
    payload: FollowUpCreateIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DOC,
                                            pattern=IDEMPOTENCY_KEY_PATTERN),
) -> HttpResponse:
    """Create an open follow-up on a customer the caller may see."""
    user = request_user(request)

    def write() -> tuple[int, Any]:
        customer = get_object_or_404(customers_visible_to(user), pk=payload.customer)
        followup = followup_create(
            actor=request_actor(request), customer=customer, title=payload.title, due_at=aware(payload.due_at),
            assignee=assignee_or_422(payload.assignee, "assignee"), assignee_role=payload.assignee_role,
            priority=PRIORITY_VALUES[payload.priority], notes=payload.notes)
        return 201, dump(FollowUpOut, followup)

    return idempotent_response(request, scope="followups.create", key=idempotency_key, write=write)


@router.post("/{int:followup_id}/complete", response={200: FollowUpOut, **ERRORS_WRITE},
             url_name="followup_complete")
def complete_followup(request: HttpRequest, followup_id: DbId, payload: FollowUpCompleteIn) -> FollowUp:
    """Mark it done (open or snoozed ones), with its outcome. A closed one is a 422."""
    followup = get_object_or_404(followups_visible_to(request_user(request)), pk=followup_id)
    return followup_complete(actor=request_actor(request), followup=followup, outcome=payload.outcome)


@router.post("/{int:followup_id}/snooze", response={200: FollowUpOut, **ERRORS_WRITE},
             url_name="followup_snooze")
def snooze_followup(request: HttpRequest, followup_id: DbId, payload: FollowUpSnoozeIn) -> FollowUp:
    """Put it aside until `until`, with a reason."""
    followup = get_object_or_404(followups_visible_to(request_user(request)), pk=followup_id)
    return followup_snooze(actor=request_actor(request), followup=followup, until=aware(payload.until),
                           reason=payload.reason)


@router.post("/{int:followup_id}/cancel", response={200: FollowUpOut, **ERRORS_WRITE},
             url_name="followup_cancel")
def cancel_followup(request: HttpRequest, followup_id: DbId, payload: FollowUpCancelIn) -> FollowUp:
    """Cancel it, with a reason."""
    followup = get_object_or_404(followups_visible_to(request_user(request)), pk=followup_id)
    return followup_cancel(actor=request_actor(request), followup=followup, reason=payload.reason)





@router.post("/{int:followup_id}/reassign", response={200: FollowUpOut, **ERRORS_WRITE},
             url_name="followup_reassign")
def reassign_followup(request: HttpRequest, followup_id: DbId, payload: FollowUpReassignIn) -> FollowUp:
    """Hand it to another person (a representative: only of their own customers) or to a role."""
    followup = get_object_or_404(followups_visible_to(request_user(request)), pk=followup_id)
    return followup_reassign(actor=request_actor(request), followup=followup,
                             assignee=assignee_or_422(payload.assignee, "assignee"),
                             assignee_role=payload.assignee_role)
