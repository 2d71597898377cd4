"""REST API of messaging: the outbox (read), suppressions, and the inbound hooks that SMS
gateways and mail providers call (STOP replies, bounces, complaints)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.security import APIKeyHeader, HttpBearer
from pydantic import Field

from fideliza.accounts.auth import request_user
from fideliza.accounts.models import Role
from fideliza.api_support import (
    CURSOR_DOC,
    DEFAULT_LIMIT,
    ERRORS_READ,
    ERRORS_WRITE,
    MAX_LIMIT,
    DbId,
    ErrorOut,
    cursor_pattern,
    paginate,
)
from fideliza.core.pagination import SortKey
from fideliza.customers.selectors import customers_visible_to

from .models import Message, MessageChannel, MessageStatus, Suppression, SuppressionReason
from .selectors import suppressions_list
from .services import bounce_record, delivery_report, is_stop_reply, sms_inbound, suppression_add

router = Router(tags=["messages"])

EDIT_ROLES = frozenset({Role.OWNER, Role.MARKETING})


def _inbound_secret_ok(value: str | None) -> bool:
    secret = settings.FIDELIZA_INBOUND_SECRET
    return bool(secret and value and constant_time_compare(value, secret))


class InboundSecretHeader(APIKeyHeader):
    """The shared secret a gateway sends as X-Fideliza-Secret (unset secret: all refused)."""

    param_name = "X-Fideliza-Secret"

    def authenticate(self, request: HttpRequest, key: str | None) -> bool | None:
        return True if _inbound_secret_ok(key) else None


class InboundSecretBearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> bool | None:
        return True if _inbound_secret_ok(token) else None


INBOUND_AUTH = [InboundSecretHeader(), InboundSecretBearer()]


# --- schemas -------------------------------------------------------------------------------

class AttemptOut(Schema):
    number: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    error: str


class EventOut(Schema):
    kind: str
    at: datetime
    detail: dict[str, Any]


class MessageOut(Schema):
    id: int
    customer_id: int
    channel: str
    kind: str
    topic: str
    source: str
    dedupe_key: str
    address: str
    subject: str
    status: str
    send_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str
    created_at: datetime


class MessageDetailOut(MessageOut):
    body_text: str
    body_html: str
    delivery_attempts: list[AttemptOut]
    events: list[EventOut]


class MessagePage(Schema):
    items: list[MessageOut]
    next: str | None


SORT = SortKey.on("id", "id", descending=True)


class MessageFilters(Schema):
    status: MessageStatus | None = None
    channel: MessageChannel | None = None
    source: str | None = Field(None, max_length=100, description="e.g. campaign:12")
    customer: DbId | None = None
    cursor: str | None = Field(None, pattern=cursor_pattern([SORT]), description=CURSOR_DOC)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class SuppressionOut(Schema):
    id: int
    channel: str
    address: str
    reason: str
    note: str
    created_at: datetime


class SuppressionIn(Schema):
    channel: MessageChannel
    address: str = Field(min_length=3, max_length=254)
    note: str = Field("", max_length=300)


class SmsInboundIn(Schema):
    from_: str = Field(alias="from", min_length=3, max_length=32, description="sender's phone number")
    text: str = Field(max_length=1600)


class SmsInboundOut(Schema):
    stop: bool
    customers: int


class BounceIn(Schema):
    type: Literal["hard", "soft", "complaint"]
    address: str = Field("", max_length=254)
    message_token: str = Field("", max_length=40, description="from the unsubscribe link or X-Fideliza-Message")
    provider_id: str = Field("", max_length=255, description="Message-ID we sent")
    diagnostic: str = Field("", max_length=2000)


class BounceOut(Schema):
    message_id: int | None
    suppressed: bool




def _messages(request: HttpRequest):
    user = request_user(request)
    return Message.objects.filter(customer__in=customers_visible_to(user))


# --- outbox --------------------------------------------------------------------------------

@router.get("", response={200: MessagePage, **ERRORS_READ}, url_name="message_list")
def list_messages(request: HttpRequest, filters: Query[MessageFilters]) -> dict[str, Any]:
    """The outbox, newest first: filter by status, channel, source (campaign:12) or customer."""
    qs = _messages(request)
    if filters.status:
        qs = qs.filter(status=filters.status.value)
    if filters.channel:
        qs = qs.filter(channel=filters.channel.value)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.customer:
        qs = qs.filter(customer_id=filters.customer)
    return paginate(qs, sort=SORT, cursor=filters.cursor, limit=filters.limit)


@router.get("/suppressions", response={200: list[SuppressionOut], **ERRORS_READ}, url_name="suppression_list")
def list_suppressions(request: HttpRequest, channel: MessageChannel | None = None,
                      q: str = "") -> list[Suppression]:
    """Addresses that receive no marketing (hard bounces: nothing at all). At most 500 rows.
    A sales representative sees only the addresses of their own customers."""
    return list(suppressions_list(user=request_user(request), q=q,
                                  channel=channel.value if channel else "")[:500])


@router.post("/suppressions", response={201: SuppressionOut, **ERRORS_WRITE}, url_name="suppression_add")
def add_suppression(request: HttpRequest, payload: SuppressionIn) -> tuple[int, Suppression]:
    user = request_user(request)
    if not (user.is_superuser or user.role in EDIT_ROLES):
        raise HttpError(403, _("Su rol no permite esta operación."))
    row = suppression_add(channel=payload.channel.value, address=payload.address,
                          reason=SuppressionReason.MANUAL, note=payload.note or f"API {user.get_username()}")
    return 201, row


@router.get("/{int:message_id}", response={200: MessageDetailOut, **ERRORS_READ}, url_name="message_get")
def get_message(request: HttpRequest, message_id: DbId) -> Message:
    """One message with its delivery attempts and events (append-only history)."""
    return get_object_or_404(_messages(request), pk=message_id)


# --- inbound (called by the SMS gateway / mail provider with the shared secret) ------------

@router.post("/inbound/sms", auth=INBOUND_AUTH, response={200: SmsInboundOut, 401: ErrorOut, 422: Any},
             url_name="inbound_sms")
def inbound_sms(request: HttpRequest, payload: SmsInboundIn) -> dict[str, Any]:
    """An SMS reply. "STOP", "BAJA", "PARAR" (any case, punctuation ignored) withdraw SMS
    consent of the cards with that number and suppress it; anything else is ignored."""
    withdrawn = sms_inbound(phone=payload.from_, text=payload.text)
    return {"stop": is_stop_reply(payload.text), "customers": len(withdrawn)}


@router.post("/inbound/bounce", auth=INBOUND_AUTH, response={200: BounceOut, 401: ErrorOut, 422: Any},
             url_name="inbound_bounce")
def inbound_bounce(request: HttpRequest, payload: BounceIn) -> dict[str, Any]:
    """A bounce or complaint. Hard bounce and complaint: suppression + e-mail consent
    withdrawn + an event on the message; soft bounce: only the event."""
    message = bounce_record(address=payload.address, hard=payload.type == "hard",
                            complaint=payload.type == "complaint", message_token=payload.message_token,
                            provider_id=payload.provider_id, diagnostic=payload.diagnostic)
    return {"message_id": message.pk if message else None, "suppressed": payload.type != "soft"}


class DeliveryIn(Schema):
    message_token: str = Field("", max_length=40)
    provider_id: str = Field("", max_length=255, description="the id the gateway returned, or our Message-ID")


class DeliveryOut(Schema):
    message_id: int | None


@router.post("/inbound/delivered", auth=INBOUND_AUTH, response={200: DeliveryOut, 401: ErrorOut, 422: Any},
             url_name="inbound_delivered")
def inbound_delivered(request: HttpRequest, payload: DeliveryIn) -> dict[str, Any]:
    """A delivery receipt: records a "delivered" event on the message (unknown ids: null)."""
    message = delivery_report(message_token=payload.message_token, provider_id=payload.provider_id)
    return {"message_id": message.pk if message else None}
