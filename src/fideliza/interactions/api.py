"""REST API of the interaction log: list and create (a telephony or WhatsApp integration
posts here). A sales representative sees and logs only their customers' interactions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Form, Header, Query, Router, Schema, Status
from ninja.files import UploadedFile
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
from fideliza.customers.selectors import contacts_of, customers_visible_to
from fideliza.followups.api import PRIORITY_VALUES, assignee_or_422, aware

from .documents import document_add
from .models import Document, Interaction, InteractionKind, InteractionOutcome
from .selectors import interactions_visible_to
from .services import NextStep, interaction_log

router = Router(tags=["interactions"])

SORTS = (
    SortKey.on("-occurred_at", "occurred_at", descending=True, kind="datetime"),
    SortKey.on("occurred_at", "occurred_at", kind="datetime"),
    SortKey.on("id", "id"),
    SortKey.on("-id", "id", descending=True),
)
InteractionSort = Literal["-occurred_at", "occurred_at", "id", "-id"]


class InteractionOut(Schema):
    id: int
    customer_id: int
    kind: InteractionKind
    occurred_at: datetime
    user: int | None = Field(description="User id of who had the interaction")
    contact: int | None = Field(description="Id of the company's contact person it was with")
    contact_name: str
    outcome: InteractionOutcome
    text: str
    next_followup: int | None = Field(description="Id of the follow-up created as its next step")
    via: str
    created_at: datetime

    @staticmethod
    def resolve_user(obj: Interaction) -> int | None:
        return obj.user_id

    @staticmethod
    def resolve_contact(obj: Interaction) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_next_followup(obj: Interaction) -> int | None:
        return obj.next_followup_id


class InteractionPage(Schema):
    items: list[InteractionOut]
    next: str | None = Field(description="Cursor of the next page; null on the last page")


class InteractionFilters(Schema):
    customer: DbId | None = None
    kind: InteractionKind | None = None
    user: DbId | None = Field(None, description="User id of who had the interaction")
    since: IsoDateTime | None = None
    sort: InteractionSort = "-occurred_at"
    cursor: str | None = Field(None, pattern=cursor_pattern(SORTS), description=CURSOR_DOC)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class InteractionNextStepIn(Schema):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    due_at: IsoDateTime = Field(description="ISO 8601 with offset; without one, the business's zone")
    assignee: DbId | None = Field(None, description="User id; default: the customer's account executive, else the caller")
    priority: Literal["high", "normal", "low"] = "normal"


class InteractionCreateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    customer: DbId
    kind: InteractionKind
    occurred_at: IsoDateTime | None = Field(None, description="Default: now. Not in the future")
    user: DbId | None = Field(None, description="User id of who had it; default: the caller (a representative: only themselves)")
    outcome: InteractionOutcome = InteractionOutcome.NONE
    text: str = Field("", max_length=10_000)
    contact: DbId | None = Field(None, description="Id of one of the customer's contact persons")
    contact_name: str = Field("", max_length=150, description="Free text: whom it was with")
    via: str = Field("api", max_length=40, description="e.g. the integration that posts it")
    next_step: InteractionNextStepIn | None = Field(
        None, description="Creates a follow-up in the same transaction as the interaction")


@router.get("", response={200: InteractionPage, **ERRORS_READ}, url_name="interaction_list")
def list_interactions(request: HttpRequest, filters: Query[InteractionFilters]) -> dict[str, Any]:
    """Interactions with the customers visible to the caller, newest first, in cursor pages."""
    qs = interactions_visible_to(request_user(request))
    if filters.customer is not None:
        qs = qs.filter(customer_id=filters.customer)
    if filters.kind:
        qs = qs.filter(kind=filters.kind.value)
    if filters.user is not None:
        qs = qs.filter(user_id=filters.user)
    if filters.since:
        qs = qs.filter(occurred_at__gte=aware(filters.since))
    return paginate(qs, sort=sort_key(SORTS, filters.sort), sorts=SORTS, cursor=filters.cursor, limit=filters.limit)


@router.post("", response={201: InteractionOut, **ERRORS_WRITE}, url_name="interaction_create",
             openapi_extra=replay_header_doc())
def create_interaction(
    request: HttpRequest,
    payload: InteractionCreateIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DOC,
                                            pattern=IDEMPOTENCY_KEY_PATTERN),
) -> HttpResponse:
    """Log an interaction with a customer the caller may see; `next_step` also creates its
    follow-up (both or neither)."""
    user = request_user(request)

    def write() -> tuple[int, Any]:
        customer = get_object_or_404(customers_visible_to(user), pk=payload.customer)
        step = None
        if payload.next_step is not None:
            step = NextStep(title=payload.next_step.title, due_at=aware(payload.next_step.due_at),
                            assignee=assignee_or_422(payload.next_step.assignee, "next_step.assignee"),
                            priority=PRIORITY_VALUES[payload.next_step.priority])
        contact = None
        if payload.contact is not None:
            contact = contacts_of(customer.pk).filter(pk=payload.contact).first()
            if contact is None:
                raise api_validation_error([(("body", "contact"), _("Esa persona de contacto no es de este cliente."),
                                             "other_customer")])
        interaction = interaction_log(
            actor=request_actor(request), customer=customer, kind=payload.kind.value, contact=contact,
            occurred_at=aware(payload.occurred_at) if payload.occurred_at else None,
            user=assignee_or_422(payload.user, "user"),
            outcome=payload.outcome.value, text=payload.text, contact_name=payload.contact_name,
            next_step=step, via=payload.via)
        return 201, dump(InteractionOut, interaction)

    return idempotent_response(request, scope="interactions.create", key=idempotency_key, write=write)


class InteractionDocumentOut(Schema):
    id: int
    customer_id: int
    interaction_id: int | None
    name: str
    content_type: str
    size: int = Field(description="Bytes")
    description: str
    uploaded_at: datetime
    url: str = Field(description="Download page (a logged-in session that may see the customer)")

    @staticmethod
    def resolve_url(obj: Document) -> str:
        return reverse("interactions:document", kwargs={"pk": obj.pk})


@router.post("/{int:interaction_id}/documents", response={201: InteractionDocumentOut, **ERRORS_WRITE},
             url_name="interaction_document_create")
def add_interaction_document(
    request: HttpRequest,
    interaction_id: DbId,
    file: File[UploadedFile],
    description: Form[str] = "",
) -> Status:
    """Attach a document to an interaction (multipart/form-data: `file`, optional
    `description`, at most 300 characters). A forwarded e-mail (.eml), PDF, PNG, JPEG, GIF,
    WebP or .txt, at most FIDELIZA_DOCUMENT_MAX_MB; the type is checked by extension and
    content, and a refused file is a 422 on `file`."""
    user = request_user(request)
    interaction = get_object_or_404(interactions_visible_to(user).select_related("customer"), pk=interaction_id)
    try:
        document = document_add(customer=interaction.customer, upload=file, user=user, interaction=interaction,
                                description=description[:300])
    except ValidationError as exc:
        raise api_validation_error([(("body", "file"), message, "file_invalid") for message in exc.messages]) \
            from None
    return Status(201, document)
