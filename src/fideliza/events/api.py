"""REST API of events for integrators: events, their invitations and the guests' answers,
and inviting customers of an event's audience.

Events carry no customer data (every role reads them). Invitations are rows about
customers: a sales representative lists and answers only those of their own customers;
anyone else's is a 404, exactly as one that does not exist. Inviting is for owner and
marketing, through the same gate as the web (consent, contact budget, quiet hours).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Header, Query, Router, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict, Field

from fideliza.accounts.auth import request_actor, request_user
from fideliza.api_support import (
    CURSOR_DOC,
    DEFAULT_LIMIT,
    ERRORS_READ,
    ERRORS_WRITE,
    IDEMPOTENCY_HEADER_DOC,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_LIMIT,
    DbId,
    SortKey,
    cursor_pattern,
    idempotent_response,
    paginate,
    replay_header_doc,
    sort_key,
)

from .models import Event, EventKind, EventStatus, Invitation, Response
from .permissions import can_edit_events
from .selectors import events_all, invitations_visible_to
from .services import invitations_send, rsvp_answer

router = Router(tags=["events"])

EVENT_SORTS = (
    SortKey.on("starts_at", "starts_at", kind="datetime"),
    SortKey.on("-starts_at", "starts_at", descending=True, kind="datetime"),
)
EventSort = Literal["starts_at", "-starts_at"]
INVITATION_SORTS = (SortKey.on("id", "id"), SortKey.on("-id", "id", descending=True))
InvitationSort = Literal["id", "-id"]


class EventInfoOut(Schema):
    id: int
    kind: EventKind
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    place: str
    online_url: str
    city: str
    capacity: int | None = Field(description="Seats; null = no limit")
    rsvp_deadline: datetime = Field(description="Answers through the guests' links close at this instant")
    status: EventStatus
    vip_only: bool
    audience_segment: int | None = Field(description="Segment id, or null for every customer")
    audience_tiers: list[str] = Field(description="Value tiers (platino, oro, plata, bronce); empty = all")
    audience_city: str

    @staticmethod
    def resolve_rsvp_deadline(obj: Event) -> datetime:
        return obj.deadline

    @staticmethod
    def resolve_audience_segment(obj: Event) -> int | None:
        return obj.audience_segment_id


class EventInfoPage(Schema):
    items: list[EventInfoOut]
    next: str | None = Field(description="Cursor of the next page; null on the last page")


class EventFilters(Schema):
    status: EventStatus | None = None
    sort: EventSort = "starts_at"
    cursor: str | None = Field(None, pattern=cursor_pattern(EVENT_SORTS), description=CURSOR_DOC)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class EventInvitationOut(Schema):
    id: int
    event_id: int
    customer_id: int
    response: Response
    responded_at: datetime | None
    waitlisted_at: datetime | None = Field(description="On the waiting list since (null when not waiting)")
    walk_in: bool = Field(description="Came without an invitation")
    attended_at: datetime | None = Field(description="Checked in at the door")
    delivery: str = Field(description="What the outbox decided about the invitation: queued, deferred, duplicate; "
                                      "empty for walk-ins and history")
    invited_at: datetime


class EventInvitationPage(Schema):
    items: list[EventInvitationOut]
    next: str | None = Field(description="Cursor of the next page; null on the last page")


class EventInvitationFilters(Schema):
    response: Response | None = None
    customer: DbId | None = None
    sort: InvitationSort = "id"
    cursor: str | None = Field(None, pattern=cursor_pattern(INVITATION_SORTS), description=CURSOR_DOC)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class EventInviteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    customers: list[DbId] | None = Field(None, max_length=10_000,
                                         description="Only these customers of the audience; omitted: the whole audience")


class EventInviteOut(Schema):
    invited: int = Field(description="Invitations handed to the outbox now")
    already: int = Field(description="Customers invited before")
    not_sent: dict[str, int] = Field(description="Customers the gate did not let through, by reason "
                                                 "(no_consent, over_budget, suppressed, …)")


class EventAnswerIn(Schema):
    model_config = ConfigDict(extra="forbid")

    answer: Literal["yes", "no", "maybe"] = Field(description="A «yes» on a full event goes to the waiting list")


@router.get("", response={200: EventInfoPage, **ERRORS_READ}, url_name="event_list")
def list_events(request: HttpRequest, filters: Query[EventFilters]) -> dict[str, Any]:
    """Every event (no customer data), by start."""
    request_user(request)
    qs = events_all()
    if filters.status:
        qs = qs.filter(status=filters.status.value)
    return paginate(qs, sort=sort_key(EVENT_SORTS, filters.sort), sorts=EVENT_SORTS, cursor=filters.cursor,
                    limit=filters.limit)


@router.get("/{int:event_id}", response={200: EventInfoOut, **ERRORS_READ}, url_name="event_get")
def get_event(request: HttpRequest, event_id: DbId) -> Event:
    request_user(request)
    return get_object_or_404(events_all(), pk=event_id)


@router.get("/{int:event_id}/invitations", response={200: EventInvitationPage, **ERRORS_READ},
            url_name="event_invitation_list")
def list_invitations(request: HttpRequest, event_id: DbId, filters: Query[EventInvitationFilters]) -> dict[str, Any]:
    """The event's invitations of the customers visible to the caller, with their answers."""
    user = request_user(request)
    event = get_object_or_404(events_all(), pk=event_id)
    qs = invitations_visible_to(user).filter(event=event)
    if filters.response:
        qs = qs.filter(response=filters.response.value)
    if filters.customer is not None:
        qs = qs.filter(customer_id=filters.customer)
    return paginate(qs, sort=sort_key(INVITATION_SORTS, filters.sort), sorts=INVITATION_SORTS,
                    cursor=filters.cursor, limit=filters.limit)


@router.post("/{int:event_id}/invitations", response={200: EventInviteOut, **ERRORS_WRITE},
             url_name="event_invite", openapi_extra=replay_header_doc(200))
def invite(
    request: HttpRequest,
    event_id: DbId,
    payload: EventInviteIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DOC,
                                            pattern=IDEMPOTENCY_KEY_PATTERN),
) -> HttpResponse:
    """Invite the audience's customers not invited yet (or those of `customers` in it), by
    e-mail through the outbox. Owner and marketing only. A draft, cancelled or closed event
    is a 422."""
    user = request_user(request)
    if not can_edit_events(user):
        raise HttpError(403, _("Su rol no permite esta operación."))
    event = get_object_or_404(events_all(), pk=event_id)

    def write() -> tuple[int, Any]:
        summary = invitations_send(actor=request_actor(request), event=event, customer_ids=payload.customers)
        return 200, {"invited": summary.invited, "already": summary.already,
                     "not_sent": {str(k): v for k, v in summary.not_sent.items()}}

    return idempotent_response(request, scope="events.invite", key=idempotency_key, write=write)


@router.post("/invitations/{int:invitation_id}/answer", response={200: EventInvitationOut, **ERRORS_WRITE},
             url_name="event_invitation_answer")
def answer(request: HttpRequest, invitation_id: DbId, payload: EventAnswerIn) -> Invitation:
    """Record a guest's answer given to the business (by phone, at the till): until the
    event ends, past the guests' own deadline. Leaving a seat promotes the waiting list."""
    user = request_user(request)
    invitation = get_object_or_404(invitations_visible_to(user), pk=invitation_id)
    return rsvp_answer(invitation=invitation, answer=payload.answer, actor=request_actor(request)).invitation
