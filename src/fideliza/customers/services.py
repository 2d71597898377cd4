"""Writes for customers. The API, web views, importer, admin and jobs all call these."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record

from .exits import ExitSource, exit_reason_clean, exit_reason_report
from .models import ConsentRecord, ConsentStatus, Customer, CustomerSourceId, Tag
from .normalize import normalize_email, normalize_phone, normalize_tax_id
from .selectors import customer_id_by_source

AUDIT_ENTITY = "customers.customer"

# Fields a caller may set on the card; everything else is managed by services.
EDITABLE_FIELDS = (
    "kind", "first_name", "last_name", "company_name", "employees", "gender", "birth_date",
    "tax_id", "email", "phone", "address", "postal_code", "city", "region", "country",
    "timezone", "preferred_channel", "preferred_contact_time", "acquisition_date",
    "acquisition_channel", "acquisition_cost", "wallet_potential", "account_executive",
    "notes",
)


def customer_clean_data(data: Mapping[str, Any], *, phone_region: str | None = None) -> dict[str, Any]:
    """Normalise card fields (phone to E.164, e-mail lower case, tax id) and reject unknown ones.

    Raises ValidationError with field-level messages in the active language.
    """
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({f: _("Campo desconocido.") for f in sorted(unknown)})
    clean = dict(data)
    for key in ("first_name", "last_name", "company_name", "address", "city", "region",
                "postal_code", "acquisition_channel", "notes"):
        if key in clean and clean[key] is not None:
            clean[key] = " ".join(str(clean[key]).split()) if key != "notes" else str(clean[key])
    if "email" in clean:
        clean["email"] = normalize_email(clean["email"] or "")
    if "tax_id" in clean:
        clean["tax_id"] = normalize_tax_id(clean["tax_id"] or "")
    if clean.get("country"):
        clean["country"] = str(clean["country"]).strip().upper()
    if clean.get("phone"):
        region = phone_region or clean.get("country") or settings.FIDELIZA_PHONE_REGION
        phone = normalize_phone(str(clean["phone"]), region)
        if phone is None:
            raise ValidationError(
                {"phone": _("«%(value)s» no es un número de teléfono válido.") % {"value": clean["phone"]}}
            )
        clean["phone"] = phone
    for key in ("first_name", "last_name", "company_name"):
        if key in clean and clean[key] is None:
            clean[key] = ""
    return clean


def _validate_identity(customer: Customer) -> None:
    if not (customer.first_name or customer.last_name or customer.company_name
            or customer.email or customer.phone):
        raise ValidationError(
            _("Un cliente necesita al menos un nombre, una razón social, un e-mail o un teléfono.")
        )


def customer_executive_default(actor: Actor) -> Any:
    """The account executive a new card gets from whoever creates it: a sales
    representative's cards are theirs (else a card would vanish from their view the moment
    they saved it); None for everyone else. Set-based writers (the importer) use it."""
    user = actor.user
    return user if user is not None and user.is_sales_rep else None


def customer_assignment_check(actor: Actor, clean: dict[str, Any], *, creating: bool) -> None:
    """The sales-representative assignment rule, for every writer (API, web, admin,
    importer, jobs): a representative's new card is assigned to them (set in `clean`), and
    they may assign a card only to themselves (ValidationError on `account_executive`)."""
    rep = customer_executive_default(actor)
    if rep is None:
        return
    if creating and clean.get("account_executive") is None:
        clean["account_executive"] = rep
    if "account_executive" in clean and getattr(clean["account_executive"], "pk", clean["account_executive"]) != rep.pk:
        raise ValidationError({"account_executive": ValidationError(
            _("Un representante solo puede asignarse clientes a sí mismo."), code="forbidden")})


@transaction.atomic
def customer_create(
    *,
    actor: Actor,
    data: Mapping[str, Any],
    source: str | None = None,
    external_id: str | None = None,
    interests: Iterable[str] = (),
) -> Customer:
    """Create a card (and its source id, if given) and audit it. A sales representative's
    card is assigned to them."""
    clean = customer_clean_data(data)
    customer_assignment_check(actor, clean, creating=True)
    customer = Customer(**clean)
    if customer.acquisition_date is None:
        customer.acquisition_date = timezone.localdate()
    customer.full_clean()
    _validate_identity(customer)
    customer.save()
    if source and external_id:
        customer_source_id_add(customer=customer, source=source, external_id=external_id)
    tags = customer_set_interests(customer=customer, names=interests) if interests else []
    changes = {f: (None, getattr(customer, f)) for f in clean if getattr(customer, f) not in ("", None)}
    if tags:
        changes["interests"] = (None, ", ".join(tags))
    audit_record(actor=actor, action=AuditAction.CREATE, entity=AUDIT_ENTITY,
                 entity_id=customer.pk, changes=changes,
                 context={"source": source} if source else None)
    return customer


@transaction.atomic
def customer_update(
    *,
    actor: Actor,
    customer: Customer,
    data: Mapping[str, Any],
    interests: Iterable[str] | None = None,
) -> Customer:
    """Apply `data` to the card; audits exactly the fields whose value changed. A sales
    representative may assign the card only to themselves."""
    clean = customer_clean_data(data)
    customer_assignment_check(actor, clean, creating=False)
    changes: dict[str, tuple[Any, Any]] = {}
    for field, value in clean.items():
        old = getattr(customer, field)
        if old != value:
            changes[field] = (old, value)
            setattr(customer, field, value)
    customer.full_clean()
    _validate_identity(customer)
    if interests is not None:
        before = sorted(customer.interests.values_list("name", flat=True))
        after = customer_set_interests(customer=customer, names=interests)
        if before != after:
            changes["interests"] = (", ".join(before), ", ".join(after))
    if changes:
        customer.save()
        audit_record(actor=actor, action=AuditAction.UPDATE, entity=AUDIT_ENTITY,
                     entity_id=customer.pk, changes=changes)
    return customer


@transaction.atomic
def customer_lock(customer_id: int) -> Customer:
    """The card `customer_id`, its row locked (SELECT … FOR UPDATE) until the caller's
    transaction ends: serialises changes to its consent. Call inside transaction.atomic."""
    return Customer.objects.select_for_update().get(pk=customer_id)


@transaction.atomic
def customer_deactivate(*, actor: Actor, customer: Customer, reason: str, reason_text: str = "") -> Customer:
    """Customers are never hard-deleted (their sales feed the analytics); they are deactivated,
    always saying why (`customers.exits.ExitReason`, «otro» with a text): the reason is
    audited and handed to the exit-reasons keepers (`customers.exits`)."""
    reason, reason_text = exit_reason_clean(reason, reason_text, required=True)
    if customer.is_active:
        customer.is_active = False
        customer.save(update_fields=["is_active", "updated_at"])
        audit_record(actor=actor, action=AuditAction.DELETE, entity=AUDIT_ENTITY,
                     entity_id=customer.pk, changes={"is_active": (True, False)},
                     context={"exit_reason": reason, **({"exit_text": reason_text} if reason_text else {})})
        exit_reason_report(customer_id=customer.pk, source=ExitSource.DEACTIVATION, reason=reason, text=reason_text)
    return customer


def customer_set_interests(*, customer: Customer, names: Iterable[str]) -> list[str]:
    wanted = sorted({" ".join(n.split()).lower() for n in names if n and n.strip()})
    tags = []
    for name in wanted:
        tag, _created = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    customer.interests.set(tags)
    return wanted


def customer_source_id_add(*, customer: Customer, source: str, external_id: str) -> CustomerSourceId:
    """Attach a source system's id; an id already used by another card is an error."""
    owner = customer_id_by_source(source, external_id)
    if owner is not None and owner != customer.pk:
        raise ValidationError(
            {"external_id": _("El id «%(id)s» de «%(source)s» ya pertenece a otro cliente.")
             % {"id": external_id, "source": source}}
        )
    if owner is not None:
        return CustomerSourceId.objects.get(source=source, external_id=external_id)
    return CustomerSourceId.objects.create(customer=customer, source=source, external_id=external_id)


def consent_record(
    *,
    customer: Customer,
    channel: str,
    granted: bool,
    source: str,
    at: datetime | None = None,
    ip_address: str | None = None,
    wording: str = "",
    recorded_by: Any = None,
) -> ConsentRecord:
    """Append a consent grant or withdrawal; never edits an earlier record."""
    record = ConsentRecord(
        customer=customer,
        channel=channel,
        status=ConsentStatus.GRANTED if granted else ConsentStatus.WITHDRAWN,
        recorded_at=at or timezone.now(),
        source=source,
        ip_address=ip_address,
        wording=wording,
        recorded_by=recorded_by,
    )
    record.full_clean()
    record.save()
    return record
