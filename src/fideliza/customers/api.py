"""REST endpoints for customers: thin, every write goes through customers.services.

Visibility: a sales representative sees and edits only the customers assigned to them;
anyone else's customer is a 404, exactly as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header, Query, Router, Schema
from pydantic import AfterValidator, ConfigDict, Field, GetJsonSchemaHandler, StrictBool

from fideliza.accounts.auth import request_actor, request_user, require_write
from fideliza.accounts.models import AuditAction
from fideliza.accounts.selectors import user_get
from fideliza.accounts.services import audit_record
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
    MoneyIn,
    MoneyOut,
    api_validation_error,
    cursor_pattern,
    dump,
    idempotent_response,
    paginate,
    replay_header_doc,
    sort_key,
)
from fideliza.core.pagination import SortKey

from .contacts import contact_consent_record, contact_create, contact_update
from .models import (
    Channel,
    ConsentRecord,
    Contact,
    ContactConsentRecord,
    ContactTime,
    Customer,
    CustomerKind,
    Gender,
)
from .selectors import contacts_of, customers_visible_to
from .services import AUDIT_ENTITY, consent_record, customer_create, customer_update
from .validators import country_codes, timezone_names, validate_country_code, validate_timezone_name

router = Router(tags=["customers"])

SORTS = (
    SortKey.on("id", "id"),
    SortKey.on("-id", "id", descending=True),
    SortKey.on("updated_at", "updated_at", kind="datetime"),
    SortKey.on("-updated_at", "updated_at", descending=True, kind="datetime"),
)
CustomerSort = Literal["id", "-id", "updated_at", "-updated_at"]

# Text fields where JSON null means "clear it" (stored as the empty string).
TEXT_FIELDS = frozenset({
    "first_name", "last_name", "company_name", "tax_id", "email", "phone", "address",
    "postal_code", "city", "region", "country", "timezone", "acquisition_channel", "notes",
    "gender", "preferred_channel", "preferred_contact_time",
})


# --- schemas -------------------------------------------------------------------------------

def _check_with(validator: Any) -> Any:
    """A pydantic check running the card's own field validator (customers.validators), so the
    API refuses exactly what the model refuses, with the same message in the caller's language."""

    def check(value: str) -> str:
        try:
            validator(value)
        except DjangoValidationError as exc:
            raise ValueError(" ".join(exc.messages)) from None
        return value

    return AfterValidator(check)


@dataclass(frozen=True)
class _OneOf:
    """The accepted values as the schema's enum ("" included: like null, it clears the field),
    read when the OpenAPI document is built, not at import."""

    values: Callable[[], Iterable[str]]
    description: str

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        schema = handler(core_schema)
        schema.update(enum=["", *sorted(self.values())], description=self.description)
        return schema


CountryCode = Annotated[str, _check_with(validate_country_code), _OneOf(
    country_codes, "ISO 3166-1 alpha-2 code in upper case (ES, PT, MX); empty to clear")]
TimezoneName = Annotated[str, _check_with(validate_timezone_name), _OneOf(
    timezone_names, "IANA time zone (Europe/Madrid); empty: the business's own")]

class SourceIdOut(Schema):
    source: str
    external_id: str


class CustomerOut(Schema):
    id: int
    display_name: str
    kind: str
    first_name: str
    last_name: str
    company_name: str
    employees: int | None
    gender: str
    birth_date: date | None
    tax_id: str
    email: str
    phone: str = Field(description="E.164")
    address: str
    postal_code: str
    city: str
    region: str
    country: str
    timezone: str
    interests: list[str]
    preferred_channel: str
    preferred_contact_time: str
    acquisition_date: date | None
    acquisition_channel: str
    acquisition_cost: MoneyOut | None
    wallet_potential: MoneyOut | None
    account_executive: int | None = Field(description="User id of the assigned account executive")
    account_executive_username: str | None
    notes: str
    is_active: bool
    source_ids: list[SourceIdOut]
    consent: dict[str, bool] = Field(description="Current consent per channel (latest record wins)")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_interests(obj: Customer) -> list[str]:
        return sorted(t.name for t in obj.interests.all())

    @staticmethod
    def resolve_account_executive(obj: Customer) -> int | None:
        return obj.account_executive_id

    @staticmethod
    def resolve_account_executive_username(obj: Customer) -> str | None:
        return obj.account_executive.get_username() if obj.account_executive is not None else None

    @staticmethod
    def resolve_source_ids(obj: Customer) -> list[dict[str, str]]:
        return [{"source": s.source, "external_id": s.external_id} for s in obj.source_ids.all()]

    @staticmethod
    def resolve_consent(obj: Customer) -> dict[str, bool]:
        current: dict[str, bool] = {}
        # Prefetched newest first (see _with_relations): the first record per channel wins.
        for record in obj.consents.all():
            current.setdefault(record.channel, record.status == "granted")
        return current


class CustomerPage(Schema):
    items: list[CustomerOut]
    next: str | None = Field(description="Cursor of the next page; null on the last page")


class ConsentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    granted: StrictBool  # JSON true/false only, not 0/1/"yes"
    wording: str = Field("", max_length=2000, description="Text or version of the consent wording")
    at: IsoDateTime | None = Field(None, description="When it was given; default now")


class _CustomerFields(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: CustomerKind | None = None
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=150)
    company_name: str | None = Field(None, max_length=200)
    employees: int | None = Field(None, ge=0, le=10_000_000)
    gender: Gender | None = None
    birth_date: date | None = Field(None, description="Between 1900-01-01 and today (the business's date)")
    tax_id: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40, description="Any format; stored as E.164")
    address: str | None = Field(None, max_length=250)
    postal_code: str | None = Field(None, max_length=16)
    city: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    country: CountryCode | None = None
    timezone: TimezoneName | None = None
    preferred_channel: Literal["", "email", "sms", "phone", "whatsapp", "post"] | None = None
    preferred_contact_time: ContactTime | None = None
    acquisition_date: date | None = None
    acquisition_channel: str | None = Field(None, max_length=64)
    acquisition_cost: MoneyIn | None = None
    wallet_potential: MoneyIn | None = None
    account_executive: DbId | None = Field(None, description="User id")
    notes: str | None = Field(None, max_length=10_000)
    interests: list[str] | None = Field(None, max_length=100)
    consents: list[ConsentIn] = Field(default_factory=list, max_length=20,
                                      description="Consent grants/withdrawals to append")


class CustomerCreateIn(_CustomerFields):
    source: str | None = Field(None, max_length=64, description="Source system of external_id")
    external_id: str | None = Field(None, max_length=128, description="This customer's id in `source`")


class CustomerPatchIn(_CustomerFields):
    """Only the fields sent are changed; null clears a field."""


class CustomerFilters(Schema):
    q: str | None = Field(None, max_length=200, description="Words searched in names, e-mail and phone")
    city: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    kind: CustomerKind | None = None
    account_executive: DbId | None = Field(None, description="User id")
    updated_since: IsoDateTime | None = None
    source: str | None = Field(None, max_length=64)
    external_id: str | None = Field(None, max_length=128, description="With `source`: that system's id")
    active: bool | None = None
    sort: CustomerSort = "id"
    cursor: str | None = Field(None, pattern=cursor_pattern(SORTS), description=CURSOR_DOC)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


# --- helpers -------------------------------------------------------------------------------

def _with_relations(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    return qs.select_related("account_executive").prefetch_related(
        "interests", "source_ids",
        Prefetch("consents", queryset=ConsentRecord.objects.order_by("channel", "-recorded_at", "-id")),
    )


def _visible(request: HttpRequest) -> QuerySet[Customer]:
    return customers_visible_to(request_user(request))


def _search(qs: QuerySet[Customer], q: str) -> QuerySet[Customer]:
    for word in q.split()[:8]:
        match = (Q(first_name__icontains=word) | Q(last_name__icontains=word)
                 | Q(company_name__icontains=word) | Q(email__icontains=word))
        digits = "".join(ch for ch in word if ch.isdigit())
        if len(digits) >= 3:
            match |= Q(phone__contains=digits)
        qs = qs.filter(match)
    return qs


def _card_data(request: HttpRequest, payload: _CustomerFields, *, partial: bool) -> tuple[dict[str, Any], list[str] | None]:
    """Payload → (fields for the service, interests or None); resolves the executive."""
    data = payload.model_dump(exclude_unset=partial, exclude={"interests", "consents", "source", "external_id"})
    if not partial:
        data = {k: v for k, v in data.items() if v is not None}
    for key, value in list(data.items()):
        if value is None and key in TEXT_FIELDS:
            data[key] = ""
        elif hasattr(value, "value"):  # enum member → its stored value
            data[key] = value.value
    if data.get("kind") is None:
        data.pop("kind", None)
    # Who may be assigned is the services' rule (a representative: only themselves).
    if "account_executive" in data and data["account_executive"] is not None:
        executive = user_get(data["account_executive"], active=True)
        if executive is None:
            raise api_validation_error([(("body", "account_executive"), _("Usuario desconocido."), "not_found")])
        data["account_executive"] = executive
    interests = payload.interests
    return data, interests


def _record_consents(request: HttpRequest, customer: Customer, consents: list[ConsentIn]) -> None:
    if not consents:
        return
    actor = request_actor(request)
    changes = {}
    for consent in consents:
        consent_record(customer=customer, channel=consent.channel.value, granted=consent.granted,
                       source=f"api:{actor.label}"[:100], at=consent.at,
                       ip_address=request.META.get("REMOTE_ADDR") or None,
                       wording=consent.wording, recorded_by=request_user(request))
        changes[f"consent_{consent.channel.value}"] = (None, "granted" if consent.granted else "withdrawn")
    audit_record(actor=actor, action=AuditAction.UPDATE, entity=AUDIT_ENTITY, entity_id=customer.pk,
                 changes=changes, context={"via": "api"})


def _out(customer_id: int) -> dict[str, Any]:
    return dump(CustomerOut, _with_relations(Customer.objects.filter(pk=customer_id)).get())


# --- endpoints -----------------------------------------------------------------------------

@router.get("", response={200: CustomerPage, **ERRORS_READ}, url_name="customer_list")
def list_customers(request: HttpRequest, filters: Query[CustomerFilters]) -> dict[str, Any]:
    """Customers visible to the caller, in cursor pages. Pass `next` as `cursor` to continue."""
    qs = _visible(request)
    if filters.q:
        qs = _search(qs, filters.q)
    if filters.city:
        qs = qs.filter(city__iexact=filters.city.strip())
    if filters.region:
        qs = qs.filter(region__iexact=filters.region.strip())
    if filters.kind:
        qs = qs.filter(kind=filters.kind.value)
    if filters.account_executive is not None:
        qs = qs.filter(account_executive_id=filters.account_executive)
    if filters.updated_since:
        since = filters.updated_since
        qs = qs.filter(updated_at__gte=timezone.make_aware(since) if timezone.is_naive(since) else since)
    if filters.source or filters.external_id:
        lookup = {}
        if filters.source:
            lookup["source_ids__source"] = filters.source
        if filters.external_id:
            lookup["source_ids__external_id"] = filters.external_id
        qs = qs.filter(**lookup).distinct()
    if filters.active is not None:
        qs = qs.filter(is_active=filters.active)
    return paginate(_with_relations(qs), sort=sort_key(SORTS, filters.sort), sorts=SORTS, cursor=filters.cursor,
                    limit=filters.limit)


@router.post("", response={201: CustomerOut, **ERRORS_WRITE}, url_name="customer_create", openapi_extra=replay_header_doc())
def create_customer(
    request: HttpRequest,
    payload: CustomerCreateIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DOC,
                                 pattern=IDEMPOTENCY_KEY_PATTERN),
) -> HttpResponse:
    """Create a customer card (and its source id). Audited."""
    require_write(request, "customers")

    def write() -> tuple[int, Any]:
        data, interests = _card_data(request, payload, partial=False)
        customer = customer_create(actor=request_actor(request), data=data, source=payload.source,
                                   external_id=payload.external_id, interests=interests or ())
        _record_consents(request, customer, payload.consents)
        return 201, _out(customer.pk)

    return idempotent_response(request, scope="customers.create", key=idempotency_key, write=write)


@router.get("/{int:customer_id}", response={200: CustomerOut, **ERRORS_READ}, url_name="customer_get")
def get_customer(request: HttpRequest, customer_id: DbId) -> Customer:
    return get_object_or_404(_with_relations(_visible(request)), pk=customer_id)


@router.patch("/{int:customer_id}", response={200: CustomerOut, **ERRORS_WRITE}, url_name="customer_update")
def update_customer(request: HttpRequest, customer_id: DbId, payload: CustomerPatchIn) -> Customer:
    """Change the fields sent. Every change leaves an audit row with the old and new values."""
    require_write(request, "customers")
    with transaction.atomic():
        customer = get_object_or_404(_visible(request).select_for_update(), pk=customer_id)
        data, interests = _card_data(request, payload, partial=True)
        customer_update(actor=request_actor(request), customer=customer, data=data, interests=interests)
        _record_consents(request, customer, payload.consents)
    return _with_relations(Customer.objects.filter(pk=customer.pk)).get()


# --- contact persons of a card ---------------------------------------------------------------

CONTACT_SORTS = (
    SortKey.on("id", "id"),
    SortKey.on("-id", "id", descending=True),
)
ContactSort = Literal["id", "-id"]


class ContactOut(Schema):
    id: int
    customer_id: int
    name: str
    role: str
    email: str
    phone: str = Field(description="E.164")
    is_primary: bool = Field(description="The company's messages go to this person")
    is_active: bool
    notes: str
    consent: dict[str, bool] = Field(description="This person's current consent per channel (latest record wins)")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_consent(obj: Contact) -> dict[str, bool]:
        current: dict[str, bool] = {}
        for record in obj.consents.all():  # prefetched per channel, newest first
            current.setdefault(record.channel, record.status == "granted")
        return current


class ContactPage(Schema):
    items: list[ContactOut]
    next: str | None = Field(description="Cursor of the next page; null on the last page")


class ContactFilters(Schema):
    active: bool | None = None
    sort: ContactSort = "id"
    cursor: str | None = Field(None, pattern=cursor_pattern(CONTACT_SORTS), description=CURSOR_DOC)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class ContactConsentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    granted: StrictBool
    wording: str = Field("", max_length=2000, description="Text or version of the consent wording")
    at: IsoDateTime | None = Field(None, description="When it was given; default now")


class _ContactFields(Schema):
    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(None, max_length=100)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40, description="Any format; stored as E.164")
    is_primary: StrictBool | None = Field(None, description="Make this person the primary contact "
                                                              "(the mark leaves the card's other one)")
    notes: str | None = Field(None, max_length=10_000)
    consents: list[ContactConsentIn] = Field(default_factory=list, max_length=20,
                                             description="Consent grants/withdrawals to append")


class ContactCreateIn(_ContactFields):
    name: str = Field(min_length=1, max_length=150)


class ContactPatchIn(_ContactFields):
    """Only the fields sent are changed; null clears a text field."""

    name: str | None = Field(None, min_length=1, max_length=150)
    is_active: StrictBool | None = Field(None, description="false: the person left (a primary contact "
                                                             "stops being primary)")


def _contacts_prefetched(qs: QuerySet[Contact]) -> QuerySet[Contact]:
    return qs.prefetch_related(Prefetch("consents", queryset=ContactConsentRecord.objects.order_by(
        "channel", "-recorded_at", "-id")))


def _contact_data(payload: _ContactFields, *, partial: bool) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=partial, exclude={"consents"})
    if not partial:
        data = {k: v for k, v in data.items() if v is not None}
    for key in ("role", "email", "phone", "notes"):
        if key in data and data[key] is None:
            data[key] = ""
    for key in ("is_primary", "is_active", "name"):
        if key in data and data[key] is None:
            data.pop(key)
    return data


def _contact_consents(request: HttpRequest, contact: Contact, consents: list[ContactConsentIn]) -> None:
    actor = request_actor(request)
    for consent in consents:
        contact_consent_record(contact=contact, channel=consent.channel.value, granted=consent.granted,
                               source=f"api:{actor.label}"[:100], at=consent.at,
                               ip_address=request.META.get("REMOTE_ADDR") or None,
                               wording=consent.wording, recorded_by=request_user(request))


def _contact_out(contact_id: int) -> dict[str, Any]:
    return dump(ContactOut, _contacts_prefetched(Contact.objects.filter(pk=contact_id)).get())


@router.get("/{int:customer_id}/contacts", response={200: ContactPage, **ERRORS_READ}, url_name="contact_list")
def list_contacts(request: HttpRequest, customer_id: DbId, filters: Query[ContactFilters]) -> dict[str, Any]:
    """The contact persons of a customer the caller may see (a company's buyer, manager…),
    each with their own consent per channel, in cursor pages."""
    customer = get_object_or_404(_visible(request), pk=customer_id)
    qs = contacts_of(customer.pk)
    if filters.active is not None:
        qs = qs.filter(is_active=filters.active)
    return paginate(_contacts_prefetched(qs), sort=sort_key(CONTACT_SORTS, filters.sort), sorts=CONTACT_SORTS,
                    cursor=filters.cursor, limit=filters.limit)


@router.post("/{int:customer_id}/contacts", response={201: ContactOut, **ERRORS_WRITE}, url_name="contact_create",
             openapi_extra=replay_header_doc())
def create_contact(
    request: HttpRequest,
    customer_id: DbId,
    payload: ContactCreateIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DOC,
                                         pattern=IDEMPOTENCY_KEY_PATTERN),
) -> HttpResponse:
    """Add a contact person to a customer (the card's first active one becomes primary).
    Consents sent are appended to the person's own history. Audited."""
    require_write(request, "customers")

    def write() -> tuple[int, Any]:
        customer = get_object_or_404(_visible(request), pk=customer_id)
        contact = contact_create(actor=request_actor(request), customer=customer,
                                 data=_contact_data(payload, partial=False))
        _contact_consents(request, contact, payload.consents)
        return 201, _contact_out(contact.pk)

    return idempotent_response(request, scope="customers.contacts.create", key=idempotency_key,
                               write=write)


@router.patch("/{int:customer_id}/contacts/{int:contact_id}", response={200: ContactOut, **ERRORS_WRITE},
              url_name="contact_update")
def update_contact(request: HttpRequest, customer_id: DbId, contact_id: DbId, payload: ContactPatchIn) -> Contact:
    """Change the fields sent; `is_primary: true` moves the primary mark here, `is_active:
    false` records that the person left. Consents sent are appended. Audited."""
    require_write(request, "customers")
    with transaction.atomic():
        customer = get_object_or_404(_visible(request), pk=customer_id)
        contact = get_object_or_404(contacts_of(customer.pk), pk=contact_id)
        contact_update(actor=request_actor(request), contact=contact, data=_contact_data(payload, partial=True))
        _contact_consents(request, contact, payload.consents)
    return _contacts_prefetched(Contact.objects.filter(pk=contact.pk)).get()
