"""Data-subject rights: the request log with legal deadlines, blocking, export and erasure.

Deadlines (settings.FIDELIZA_DSR_DUE_DAYS, per country, overridable) follow the laws of the
users' countries: España/UE RGPD art. 12.3 — one month (30 calendar days here); Argentina
Ley 25.326 art. 14 — 10 calendar days for access; Colombia Ley 1581 art. 14–15 — 10 business
days for queries, 15 for claims; México LFPDPPP art. 32 — 20 business days. Business days
skip Saturdays and Sundays (public holidays are not known to the system: check them).

Erasure anonymises the card and every copy of its personal data the system keeps (audit
history, merge snapshots, consent proof details), while sales, ledger entries and their
totals stay, attached to an anonymous card, so analytics and accounting remain right.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction
from fideliza.accounts.selectors import audit_changes
from fideliza.accounts.services import Actor, audit_record, audit_scrub

from .models import (
    ConsentRecord,
    Customer,
    CustomerMerge,
    DataSubjectRequest,
    ErasureRecord,
    RequestKind,
    RequestStatus,
)
from .references import customer_references

# (days, business_days?) per country and request kind; "*" is the default kind.
DEFAULT_DUE: dict[str, dict[str, tuple[int, bool]]] = {
    "ES": {"*": (30, False)},
    "AR": {"access": (10, False), "*": (5, False)},  # rectification/erasure: 5 business days
    "CO": {"access": (10, True), "*": (15, True)},
    "MX": {"*": (20, True)},
    "*": {"*": (30, False)},
}

ERASED = "[suprimido]"
# Card fields that identify a person; blanked on erasure.
PERSONAL_FIELDS = (
    "first_name", "last_name", "company_name", "gender", "birth_date", "tax_id", "email", "phone",
    "address", "postal_code", "city", "notes", "timezone", "preferred_channel",
    "preferred_contact_time",
)


# What erasure does to each table that refers to a customer (model label -> policy; a model
# may instead declare a class attribute `ERASURE_POLICY`), applied to the erased card and
# every card merged into it:
#   "keep"    rows stay, attached to the anonymous card: they hold no personal data, and
#             totals (sales, points, campaign figures) must not change
#   "delete"  rows are deleted: they only serve to reach or profile the person
#   "handler" the owning app registered an ErasureHandler for the table
#             (`erasure_handler_register`, from its AppConfig.ready): it blanks the personal
#             data in the rows and returns how many rows it changed; a handler registered for
#             several tables runs once.
# tests/customers/test_policies.py fails when a table referring to Customer has none.
ERASURE_POLICIES: dict[str, str] = {
    # Cards merged into the erased one are erased with it (`_merge_family`).
    "customers.Customer": "keep",
    "customers.Customer_interests": "delete",
    "customers.CustomerSourceId": "delete",
    # Pairs to review or already judged: nothing left to compare on an anonymous card.
    "customers.MatchCandidate": "delete",
    "customers.ErasureRecord": "keep",  # the proof, without personal data
    "sales.Order": "keep",
    "insights.CustomerMetrics": "keep",
    "insights.RfmMonthly": "keep",
    "loyalty.Member": "keep",  # the ledger and the points liability stay right
    "loyalty.Coupon": "keep",
    "loyalty.CouponRedemption": "keep",
    "loyalty.Referral": "keep",
    "segments.SegmentMember": "delete",
    "engagement.ContactDecision": "keep",
    "engagement.TopicPreference": "keep",
    "engagement.ContactBudget": "delete",
    "campaigns.CampaignRecipient": "keep",
}
ERASURE_PLAIN = ("keep", "delete")


class ErasureHandler(Protocol):
    """Blanks the personal data in one table's rows of the erased cards `customer_ids`
    (`values`: every identifying value the cards have or ever had, to find copies) and
    returns how many rows it changed."""

    def __call__(self, customer_ids: list[int], values: set[str], /) -> int: ...


_ERASURE_HANDLERS: dict[str, ErasureHandler] = {}


def erasure_handler_register(model_label: str, handler: ErasureHandler) -> None:
    """The "handler" erasure policy for `model_label`'s rows; call from an AppConfig.ready."""
    _ERASURE_HANDLERS[model_label] = handler


def erasure_handler(model_label: str) -> ErasureHandler:
    return _ERASURE_HANDLERS[model_label]


def erasure_policy(model: type[models.Model]) -> str | None:
    label = model._meta.label
    if label in _ERASURE_HANDLERS:
        return "handler"
    return getattr(model, "ERASURE_POLICY", None) or ERASURE_POLICIES.get(label)


def quotes_any(text: str, values: set[str]) -> bool:
    """Whether `text` contains one of `values`, in any case."""
    lowered = text.lower()
    return any(v.lower() in lowered for v in values)


def scrub_json(value: Any, values: set[str]) -> Any:
    """JSON-like data with every string that quotes one of `values` replaced by ERASED."""
    if isinstance(value, str):
        return ERASED if quotes_any(value, values) else value
    if isinstance(value, list):
        return [scrub_json(v, values) for v in value]
    if isinstance(value, dict):
        return {k: scrub_json(v, values) for k, v in value.items()}
    return value


def scrub_idempotency_responses(customer_ids: list[int], values: set[str]) -> int:
    """Stored API responses (replayed on retries) may contain the card."""
    import json

    from fideliza.core.idempotency import responses_scrub

    def scrub(body: Any) -> Any:
        return scrub_json(body, values) if quotes_any(json.dumps(body, ensure_ascii=False), values) else None

    return responses_scrub(scrub)


def consents_erase(customer_ids: list[int], values: set[str]) -> int:
    """Consent proof keeps channel, status and date; the IP and the free text may identify."""
    return ConsentRecord.objects.filter(customer_id__in=customer_ids).update(ip_address=None, wording="")


def audit_erase(customer_ids: list[int], values: set[str]) -> int:
    """The cards' audit history keeps who changed what and when, not the old values."""
    return audit_scrub(entity="customers.customer", entity_ids=customer_ids, erased=ERASED,
                       context=lambda context: scrub_json(context, values))


def merges_erase(customer_ids: list[int], values: set[str]) -> int:
    """Merge snapshots lose the personal fields; such a merge can no longer be undone."""
    count = 0
    merges = CustomerMerge.objects.filter(survivor_id__in=customer_ids) | CustomerMerge.objects.filter(
        duplicate_id__in=customer_ids)
    for merge in merges:
        merge.survivor_before = _scrub_snapshot(merge.survivor_before)
        merge.duplicate_before = _scrub_snapshot(merge.duplicate_before)
        merge.undone_at = merge.undone_at or timezone.now()  # cannot be undone any more
        merge.save(update_fields=["survivor_before", "duplicate_before", "undone_at"])
        count += 1
    return count


def requests_erase(customer_ids: list[int], values: set[str]) -> int:
    """The requests stay (proof of having answered them, with their dates); what the
    customer or the staff wrote in them loses any personal value it quotes."""
    count = 0
    for request in DataSubjectRequest.objects.filter(customer_id__in=customer_ids):
        details, resolution = scrub_json(request.details, values), scrub_json(request.resolution, values)
        if (details, resolution) != (request.details, request.resolution):
            DataSubjectRequest.objects.filter(pk=request.pk).update(details=details, resolution=resolution)
            count += 1
    return count


IDENTIFYING = ("email", "phone", "tax_id", "address")


def _personal_values(family: list[Customer]) -> set[str]:
    """Every identifying value these cards have or ever had (merge snapshots, audit history),
    so that copies of an old e-mail or phone are found too."""
    ids = [c.pk for c in family]
    records: list[dict[str, Any]] = [{f: getattr(c, f) for f in (*IDENTIFYING, "first_name", "last_name")}
                                     for c in family]
    for merge in CustomerMerge.objects.filter(survivor_id__in=ids) | CustomerMerge.objects.filter(duplicate_id__in=ids):
        records += [merge.survivor_before, merge.duplicate_before]
    for changes in audit_changes(entity="customers.customer", entity_ids=ids):
        for field, pair in (changes or {}).items():
            if field in IDENTIFYING or field in ("first_name", "last_name"):
                records += [{field: v} for v in pair if isinstance(v, str)]
    values: set[str] = set()
    for record in records:
        values.update(str(record[f]) for f in IDENTIFYING if record.get(f))
        full = f"{record.get('first_name') or ''} {record.get('last_name') or ''}".strip()
        values.add(full)
    from .contacts import contact_personal_values

    values |= contact_personal_values(ids)  # a contact's e-mail in a message, an import error
    return {v for v in values if len(v) >= 5 and v != ERASED}


def _due_table() -> dict[str, dict[str, tuple[int, bool]]]:
    table = {k: dict(v) for k, v in DEFAULT_DUE.items()}
    for country, kinds in getattr(settings, "FIDELIZA_DSR_DUE_DAYS", {}).items():
        table.setdefault(country, {}).update({k: tuple(v) for k, v in kinds.items()})
    return table


def add_business_days(start: date, days: int) -> date:
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def due_date_for(*, country: str, kind: str, received: date) -> date:
    table = _due_table()
    rules = table.get(country.upper(), table["*"])
    days, business = rules.get(kind, rules.get("*", table["*"]["*"]))
    return add_business_days(received, days) if business else received + timedelta(days=days)


def customer_is_blocked(customer: Customer) -> bool:
    """Blocked while any data-subject request is open: kept, but not used for marketing."""
    return DataSubjectRequest.objects.filter(customer=customer, status=RequestStatus.OPEN).exists()


def blocked_customer_ids() -> set[int]:
    return set(DataSubjectRequest.objects.filter(status=RequestStatus.OPEN).values_list("customer_id", flat=True))


@transaction.atomic
def dsr_open(*, actor: Actor, customer: Customer, kind: str, country: str = "", channel: str = "",
             details: str = "", received_at: datetime | None = None) -> DataSubjectRequest:
    if kind not in RequestKind.values:
        raise ValidationError({"kind": _("Tipo de solicitud desconocido.")})
    received_at = received_at or timezone.now()
    country = (country or customer.country or getattr(settings, "FIDELIZA_PHONE_REGION", "ES")).upper()
    request = DataSubjectRequest(
        customer=customer, kind=kind, country=country, channel=channel, details=details,
        received_at=received_at,
        due_date=due_date_for(country=country, kind=kind, received=timezone.localtime(received_at).date()),
        created_by=actor.user,
    )
    request.full_clean()
    request.save()
    audit_record(actor=actor, action=AuditAction.UPDATE, entity="customers.datasubjectrequest",
                 entity_id=request.pk, changes={"status": (None, "open")},
                 context={"customer": customer.pk, "kind": kind, "due_date": request.due_date.isoformat()})
    return request


@transaction.atomic
def dsr_close(*, actor: Actor, request: DataSubjectRequest, status: str, resolution: str = "") -> DataSubjectRequest:
    request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != RequestStatus.OPEN:
        raise ValidationError(_("La solicitud ya está cerrada."))
    if status not in (RequestStatus.DONE, RequestStatus.REJECTED):
        raise ValidationError({"status": _("Estado de cierre no válido.")})
    if status == RequestStatus.REJECTED and not resolution.strip():
        raise ValidationError({"resolution": _("Explique al cliente por qué se deniega.")})
    request.status = status
    request.resolution = resolution
    request.closed_at = timezone.now()
    request.closed_by = actor.user
    request.save()
    audit_record(actor=actor, action=AuditAction.UPDATE, entity="customers.datasubjectrequest",
                 entity_id=request.pk, changes={"status": ("open", status)})
    return request


def dsr_overdue():
    return DataSubjectRequest.objects.filter(status=RequestStatus.OPEN, due_date__lt=timezone.localdate())


def _merge_family(customer: Customer) -> list[Customer]:
    """The card and every card merged into it (the same person, possibly several times)."""
    family, frontier = {customer.pk: customer}, [customer.pk]
    while frontier:
        merged = list(Customer.objects.filter(merged_into_id__in=frontier).exclude(pk__in=family))
        frontier = [c.pk for c in merged]
        family.update({c.pk: c for c in merged})
    return list(family.values())


def _scrub_snapshot(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (ERASED if k in PERSONAL_FIELDS and v not in (None, "") else v)
            for k, v in data.items()} | ({"interests": []} if "interests" in data else {})


@transaction.atomic
def customer_erase(*, actor: Actor, customer: Customer,
                   request: DataSubjectRequest | None = None) -> ErasureRecord:
    """Anonymise a customer (and the cards merged into it) everywhere the system keeps a copy.

    Orders, returns and ledger entries stay attached to the anonymous card: sales, margin
    and points totals are unchanged. Irreversible: merges involving these cards can no
    longer be undone (their snapshots are scrubbed).
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.merged_into_id:
        raise ValidationError(_("Esta ficha está fusionada en otra: suprima la ficha que permanece."))
    if hasattr(customer, "erasure"):
        raise ValidationError(_("Los datos de este cliente ya se suprimieron."))
    family = _merge_family(customer)
    ids = [c.pk for c in family]
    values = _personal_values(family)
    summary: dict[str, Any] = {"cards": len(ids)}
    blank = {name: (None if Customer._meta.get_field(name).null else "") for name in PERSONAL_FIELDS}
    for card in family:
        for name, value in blank.items():
            setattr(card, name, value)
        card.first_name = _("Cliente suprimido")
        card.last_name = f"#{card.pk}"
        card.is_active = False
        card.save()
    done: set[ErasureHandler] = set()
    for ref in customer_references():
        policy = erasure_policy(ref.model) or "keep"
        if policy == "keep":
            continue
        if policy == "delete":
            if not ref.indirect:
                deleted = ref.model._default_manager.filter(**{f"{ref.field}__in": ids}).delete()[0]
                summary[ref.label] = summary.get(ref.label, 0) + deleted
            continue
        handler = erasure_handler(ref.label)
        if handler in done:
            continue
        done.add(handler)
        summary[ref.label] = handler(ids, values)
    record = ErasureRecord.objects.create(customer=customer, erased_by=actor.user, request=request,
                                          summary=summary)
    audit_record(actor=actor, action=AuditAction.ERASE, entity="customers.customer", entity_id=customer.pk,
                 context={"cards": ids, **{k: v for k, v in summary.items() if k != "cards"}})
    if request is not None and request.status == RequestStatus.OPEN:
        dsr_close(actor=actor, request=request, status=RequestStatus.DONE,
                  resolution=_("Datos personales suprimidos."))
    return record
