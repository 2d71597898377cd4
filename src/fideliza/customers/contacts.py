"""Contact persons of a card (company accounts, B2B): writes, and what merging and erasure
do to them.

A company card has several people one deals with — the buyer, the manager, the accounts
clerk — each with an e-mail, a phone and a consent of their own per channel, kept
append-only like the card's (`ContactConsentRecord`). One of them may be the primary
contact: a company's messages go to that person (or to the one a message names) and only
with that person's consent (`engagement.services`). The API, the card, the importer and
the demo all write through these functions.

Merging two cards moves the duplicate's contacts to the survivor; a contact the survivor
already has (same e-mail, else same phone) is folded into the survivor's one: its consent
history moves over, its blank fields are filled, and the duplicate's row stays with the
merged card, inactive, so that undo restores everything exactly. Erasing a card erases its
contacts; one contact can be erased on its own too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record, audit_scrub
from fideliza.core.bulk import insert_objects

from .models import Channel, ConsentStatus, Contact, ContactConsentRecord, Customer
from .normalize import normalize_email, normalize_phone

CONTACT_AUDIT_ENTITY = "customers.contact"
CONTACT_FIELDS = ("name", "role", "email", "phone", "notes", "is_primary", "is_active")
ERASED = "[suprimido]"


def contact_clean_data(data: Mapping[str, Any], *, phone_region: str | None = None) -> dict[str, Any]:
    """Normalise a contact's fields (e-mail lower case, phone to E.164, spaces) and refuse
    unknown ones; ValidationError with field-level messages in the active language."""
    unknown = set(data) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationError({f: _("Campo desconocido.") for f in sorted(unknown)})
    clean = dict(data)
    for key in ("name", "role"):
        if key in clean:
            clean[key] = " ".join(str(clean[key] or "").split())
    if "notes" in clean:
        clean["notes"] = str(clean["notes"] or "")
    if "email" in clean:
        clean["email"] = normalize_email(clean["email"] or "")
    if "phone" in clean:
        raw = str(clean["phone"] or "").strip()
        if raw:
            phone = normalize_phone(raw, phone_region or settings.FIDELIZA_PHONE_REGION)
            if phone is None:
                raise ValidationError({"phone": _("«%(value)s» no es un número de teléfono válido.") % {"value": raw}})
            raw = phone
        clean["phone"] = raw
    if "name" in clean and not clean["name"]:
        raise ValidationError({"name": _("Escriba el nombre de la persona de contacto.")})
    return clean


def _primary_clear(customer_id: int, *, keep: int | None = None) -> list[int]:
    """Take the primary mark off the card's contacts except `keep`; returns whose it was."""
    qs = Contact.objects.filter(customer_id=customer_id, is_primary=True)
    ids = list((qs.exclude(pk=keep) if keep is not None else qs).values_list("pk", flat=True))
    if ids:
        Contact.objects.filter(pk__in=ids).update(is_primary=False, updated_at=timezone.now())
    return ids


def _audit(actor: Actor, action: str, contact: Contact, changes: Mapping[str, tuple[Any, Any]]) -> None:
    audit_record(actor=actor, action=action, entity=CONTACT_AUDIT_ENTITY, entity_id=contact.pk,
                 changes=changes, context={"customer": contact.customer_id})


@transaction.atomic
def contact_create(*, actor: Actor, customer: Customer, data: Mapping[str, Any],
                   consents: Mapping[str, bool] | None = None, consent_source: str = "",
                   ip_address: str | None = None) -> Contact:
    """Add a contact person to `customer` (with its consents, if given). The card's first
    active contact becomes its primary one; marking a new one primary moves the mark."""
    if customer.merged_into_id is not None:
        raise ValidationError(_("Esta ficha se fusionó con otra: añada el contacto en la ficha que permanece."),
                              code="merged")
    clean = contact_clean_data(data)
    Customer.objects.select_for_update().filter(pk=customer.pk).first()  # serialise the primary mark
    contact = Contact(customer=customer, **clean)
    if contact.is_active and not Contact.objects.filter(customer=customer, is_active=True).exists():
        contact.is_primary = True
    contact.full_clean(validate_constraints=False)
    if contact.is_primary and not contact.is_active:
        raise ValidationError({"is_primary": _("Un contacto dado de baja no puede ser el principal.")},
                              code="inactive_primary")
    if contact.is_primary:
        _primary_clear(customer.pk)
    contact.save()
    _audit(actor, AuditAction.CREATE, contact,
           {f: (None, getattr(contact, f)) for f in CONTACT_FIELDS if getattr(contact, f) not in ("", None, False)})
    for channel, granted in (consents or {}).items():
        contact_consent_record(contact=contact, channel=channel, granted=granted,
                               source=consent_source or actor.label, ip_address=ip_address,
                               recorded_by=actor.user)
    return contact


@transaction.atomic
def contact_update(*, actor: Actor, contact: Contact, data: Mapping[str, Any]) -> Contact:
    """Change the fields given. Marking it primary takes the mark from the card's other
    contact; deactivating the primary contact leaves the card without one (say who it is)."""
    clean = contact_clean_data(data)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if clean.get("is_active") is False and "is_primary" not in clean:
        clean["is_primary"] = False
    changes: dict[str, tuple[Any, Any]] = {}
    for field, value in clean.items():
        old = getattr(contact, field)
        if old != value:
            changes[field] = (old, value)
            setattr(contact, field, value)
    if contact.is_primary and not contact.is_active:
        raise ValidationError({"is_primary": _("Un contacto dado de baja no puede ser el principal.")},
                              code="inactive_primary")
    contact.full_clean(validate_constraints=False)
    if changes:
        if contact.is_primary and "is_primary" in changes:
            _primary_clear(contact.customer_id, keep=contact.pk)
        contact.save()
        _audit(actor, AuditAction.UPDATE, contact, changes)
    return contact


def contact_set_primary(*, actor: Actor, contact: Contact) -> Contact:
    """Make `contact` the card's primary contact (it must be active)."""
    return contact_update(actor=actor, contact=contact, data={"is_primary": True})


def contact_deactivate(*, actor: Actor, contact: Contact) -> Contact:
    """The person left the company: kept with their history, no longer addressed."""
    return contact_update(actor=actor, contact=contact, data={"is_active": False})


def contact_consent_record(*, contact: Contact, channel: str, granted: bool, source: str,
                           at: datetime | None = None, ip_address: str | None = None, wording: str = "",
                           recorded_by: Any = None) -> ContactConsentRecord:
    """Append a grant or withdrawal of the contact's consent; never edits an earlier record."""
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Canal desconocido: «%(v)s».") % {"v": channel}})
    record = ContactConsentRecord(
        contact=contact, channel=channel, status=ConsentStatus.GRANTED if granted else ConsentStatus.WITHDRAWN,
        recorded_at=at or timezone.now(), source=source[:100], ip_address=ip_address, wording=wording,
        recorded_by=recorded_by)
    record.full_clean()
    record.save()
    return record


def contact_consents_withdraw_by_address(*, customer_id: int, channel: str, address: str, source: str,
                                         ip_address: str | None = None) -> list[int]:
    """Withdraw `channel` consent of the card's contacts reached at `address` who have it
    (an unsubscribe link of a message sent to a contact); returns their ids."""
    from .selectors import contact_consents_current, contact_ids_at_address

    ids = contact_ids_at_address(customer_id, channel, address)
    current = contact_consents_current(ids)
    contacts = [c for c in Contact.objects.filter(pk__in=ids) if current.get(c.pk, {}).get(channel)]
    for contact in contacts:
        contact_consent_record(contact=contact, channel=channel, granted=False, source=source,
                               ip_address=ip_address)
    return [c.pk for c in contacts]


def contact_consents_withdraw_at_address(*, channel: str, address: str, source: str) -> list[int]:
    """Withdraw `channel` consent of every contact person, of any card, reached at `address`
    who has it (an SMS «BAJA» reply, a hard bounce); returns their cards' ids."""
    lookup = {"email__iexact": address} if channel == Channel.EMAIL else {"phone": address}
    contacts = list(Contact.objects.filter(**lookup))
    from .selectors import contact_consents_current

    current = contact_consents_current(c.pk for c in contacts)
    cards = []
    for contact in contacts:
        if current.get(contact.pk, {}).get(channel):
            contact_consent_record(contact=contact, channel=channel, granted=False, source=source)
            cards.append(contact.customer_id)
    return sorted(set(cards))


# --- erasure -------------------------------------------------------------------------------

class ContactErasureHandler(Protocol):
    """Blanks what another app keeps about the contacts `contact_ids` (an interaction's
    «persona de contacto»); returns how many rows it changed."""

    def __call__(self, contact_ids: list[int], /) -> int: ...


_CONTACT_ERASURE_HANDLERS: list[ContactErasureHandler] = []


def contact_erasure_handler_register(handler: ContactErasureHandler) -> None:
    """Called from an AppConfig.ready of an app that names contacts."""
    if handler not in _CONTACT_ERASURE_HANDLERS:
        _CONTACT_ERASURE_HANDLERS.append(handler)


def _contacts_blank(contact_ids: list[int]) -> int:
    if not contact_ids:
        return 0
    count = Contact.objects.filter(pk__in=contact_ids).update(
        name=ERASED, role="", email="", phone="", notes="", is_primary=False, is_active=False,
        updated_at=timezone.now())
    ContactConsentRecord.objects.filter(contact_id__in=contact_ids).update(ip_address=None, wording="")
    audit_scrub(entity=CONTACT_AUDIT_ENTITY, entity_ids=contact_ids, erased=ERASED,
                context=lambda context: context)
    for handler in _CONTACT_ERASURE_HANDLERS:
        handler(contact_ids)
    return count


def contacts_erase(customer_ids: list[int], values: set[str]) -> int:
    """Erasure of cards (`customers.privacy`): their contacts lose name, role, e-mail,
    phone and notes; the consent proof keeps channel, status and date."""
    return _contacts_blank(list(Contact.objects.filter(customer_id__in=customer_ids).values_list("pk", flat=True)))


@transaction.atomic
def contact_erase(*, actor: Actor, contact: Contact) -> Contact:
    """Erase one contact person's data (their own right, or they left and asked): the row
    stays, anonymous and inactive, so interactions that named them keep their place."""
    _contacts_blank([contact.pk])
    audit_record(actor=actor, action=AuditAction.ERASE, entity=CONTACT_AUDIT_ENTITY, entity_id=contact.pk,
                 context={"customer": contact.customer_id})
    contact.refresh_from_db()
    return contact


def contact_personal_values(customer_ids: Sequence[int]) -> set[str]:
    """The contacts' names, e-mails and phones: copies of them elsewhere are erased with the card."""
    values: set[str] = set()
    for name, email, phone in Contact.objects.filter(customer_id__in=list(customer_ids)).values_list(
            "name", "email", "phone"):
        values.update(v for v in (name, email, phone) if v and v != ERASED)
    return values


# --- merging -------------------------------------------------------------------------------

class ContactFoldHandler(Protocol):
    """Re-points what another app keeps about contacts folded by a merge ({the duplicate's
    contact: the survivor's same person}) and returns a JSON payload that its `undo`
    attribute (a function of that payload) reverses exactly."""

    def __call__(self, folds: dict[int, int], /) -> Any: ...


_CONTACT_FOLD_HANDLERS: dict[str, ContactFoldHandler] = {}


def contact_fold_handler_register(name: str, handler: ContactFoldHandler) -> None:
    """Called from an AppConfig.ready of an app whose rows name contacts (interactions)."""
    if not callable(getattr(handler, "undo", None)):
        raise TypeError(f"contact fold handler {name} has no undo(payload)")
    _CONTACT_FOLD_HANDLERS[name] = handler


def _same_person(contact: Contact, others: Iterable[Contact]) -> Contact | None:
    for other in others:
        if contact.email and other.email and contact.email.lower() == other.email.lower():
            return other
    for other in others:
        if contact.phone and other.phone == contact.phone:
            return other
    return None


FILLED = ("role", "email", "phone", "notes")


def contacts_merge(survivor: Customer, duplicate: Customer, colliding: list[Any]) -> dict[str, Any]:
    """Merge handler (moves every row itself): the duplicate's contacts go to the survivor,
    except those the survivor already has (same e-mail, else phone), which are folded in.
    The survivor keeps its primary contact; the duplicate's becomes primary only if the
    survivor has none. Returns what `contacts_merge.undo` needs."""
    mine = list(Contact.objects.filter(customer=survivor, is_active=True))
    survivor_has_primary = any(c.is_primary for c in mine)
    moved: list[int] = []
    unmarked: list[int] = []
    folded: list[dict[str, Any]] = []
    now = timezone.now()
    for contact in Contact.objects.filter(customer=duplicate).order_by("-is_primary", "pk"):
        twin = _same_person(contact, mine) if contact.is_active else None
        if twin is None:
            if contact.is_primary and survivor_has_primary:
                unmarked.append(contact.pk)
                contact.is_primary = False
            survivor_has_primary = survivor_has_primary or contact.is_primary
            Contact.objects.filter(pk=contact.pk).update(customer=survivor, is_primary=contact.is_primary,
                                                         updated_at=now)
            moved.append(contact.pk)
            continue
        # Only blank fields are filled, so undo blanks them again: the payload (kept in the
        # merge record) holds no personal data.
        filled = [f for f in FILLED if not getattr(twin, f) and getattr(contact, f)]
        for f in filled:
            setattr(twin, f, getattr(contact, f))
        records = list(ContactConsentRecord.objects.filter(contact=contact).values_list("pk", flat=True))
        ContactConsentRecord.objects.filter(pk__in=records).update(contact=twin)
        became_primary = contact.is_primary and not survivor_has_primary
        Contact.objects.filter(pk=contact.pk).update(is_active=False, is_primary=False, updated_at=now)
        if became_primary:
            twin.is_primary = True
            survivor_has_primary = True
        twin.save()
        folded.append({"duplicate": contact.pk, "into": twin.pk, "filled": filled, "records": records,
                       "was_primary": contact.is_primary, "was_active": contact.is_active,
                       "became_primary": became_primary})
    # What named a folded contact (a logged call) names the survivor's same person now.
    folds = {fold["duplicate"]: fold["into"] for fold in folded}
    reactions = {name: handler(folds) for name, handler in _CONTACT_FOLD_HANDLERS.items()} if folds else {}
    return {"moved": moved, "unmarked": unmarked, "folded": folded, "duplicate": duplicate.pk,
            "reactions": reactions}


def _contacts_merge_undo(payload: dict[str, Any]) -> None:
    duplicate_id = payload["duplicate"]
    for name, reaction in payload.get("reactions", {}).items():
        _CONTACT_FOLD_HANDLERS[name].undo(reaction)  # type: ignore[attr-defined]  # see ContactFoldHandler
    for fold in reversed(payload["folded"]):
        ContactConsentRecord.objects.filter(pk__in=fold["records"]).update(contact_id=fold["duplicate"])
        twin = Contact.objects.get(pk=fold["into"])
        for f in fold["filled"]:
            setattr(twin, f, "")
        if fold["became_primary"]:
            twin.is_primary = False
        twin.save()
        Contact.objects.filter(pk=fold["duplicate"]).update(is_active=fold["was_active"],
                                                            is_primary=fold["was_primary"])
    Contact.objects.filter(pk__in=payload["moved"]).update(customer_id=duplicate_id)
    Contact.objects.filter(pk__in=payload["unmarked"]).update(is_primary=True)


contacts_merge.undo = _contacts_merge_undo  # type: ignore[attr-defined]
contacts_merge.moves_rows = True  # type: ignore[attr-defined]


# --- import --------------------------------------------------------------------------------

# (customer id, fields, consents {channel: granted}, the existing contact or None)
ContactRow = tuple[int, dict[str, Any], dict[str, bool], Contact | None]


def contacts_import_write(*, actor: Actor, rows: Sequence[ContactRow], consent_source: str,
                          consent_wording: str, now: datetime,
                          on_progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Write a contacts file's rows (the importer has validated them): new contacts, changes
    to existing ones, their consents and one audit row each; the primary mark moves to the
    contact a row marks primary, and a company's first active contact becomes primary. Call
    inside the import's transaction. Returns (created, updated)."""
    created = updated = 0
    records: list[ContactConsentRecord] = []
    for i, (customer_id, fields, consents, existing) in enumerate(rows):
        if existing is None:
            contact = Contact(customer_id=customer_id, **{k: v for k, v in fields.items() if k != "is_primary"})
            contact.full_clean(validate_constraints=False)
            contact.save()
            _audit(actor, AuditAction.BULK_CREATE, contact,
                   {f: (None, getattr(contact, f)) for f in CONTACT_FIELDS if getattr(contact, f) not in ("", None)})
            created += 1
        else:
            contact = existing
            changes = {f: (getattr(contact, f), v) for f, v in fields.items()
                       if f != "is_primary" and getattr(contact, f) != v}
            if changes:
                for f, (_old, v) in changes.items():
                    setattr(contact, f, v)
                if not contact.is_active:
                    contact.is_primary = False
                contact.full_clean(validate_constraints=False)
                contact.save()
                _audit(actor, AuditAction.BULK_UPDATE, contact, changes)
                updated += 1
        if fields.get("is_primary") and contact.is_active and not contact.is_primary:
            _primary_clear(customer_id, keep=contact.pk)
            Contact.objects.filter(pk=contact.pk).update(is_primary=True)
        records += [ContactConsentRecord(
            contact=contact, channel=channel, status=ConsentStatus.GRANTED if granted else ConsentStatus.WITHDRAWN,
            recorded_at=now, source=consent_source[:100], wording=consent_wording, recorded_by=actor.user)
            for channel, granted in consents.items()]
        if on_progress:
            on_progress(i + 1)
    insert_objects(ContactConsentRecord, records)
    # A company with active contacts and none primary: its first one (oldest) becomes it.
    customer_ids = sorted({r[0] for r in rows})
    with_primary = set(Contact.objects.filter(customer_id__in=customer_ids, is_primary=True)
                       .values_list("customer_id", flat=True))
    for customer_id in customer_ids:
        if customer_id not in with_primary:
            first = Contact.objects.filter(customer_id=customer_id, is_active=True).order_by("pk").first()
            if first is not None:
                Contact.objects.filter(pk=first.pk).update(is_primary=True)
    return created, updated
