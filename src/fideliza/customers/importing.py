"""Cards in bulk, for the importer (`imports.importers`): the reads it matches a file
against and the one write of a file's new and changed cards, with their source ids,
interests, consents and audit rows.

The importer validates and decides; this module owns how cards, source ids, tags and
consent records are read and written, in a fixed number of queries per chunk (an import
brings hundreds of thousands of rows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record_bulk
from fideliza.core.bulk import insert_objects

from .models import ConsentRecord, ConsentStatus, Customer, CustomerSourceId, Tag

CHUNK = 5000  # ids per IN (…) list, under SQLite's bound-parameter limit


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def card_new(**fields: Any) -> Customer:
    """An unsaved card with these fields, for `cards_import_write` (the importer validates
    it first)."""
    return Customer(**fields)


def card_ids_of_source_by_email(source: str, emails: Sequence[str]) -> dict[str, int]:
    """{e-mail: the oldest card with that e-mail among those `source` knows}."""
    found: dict[str, int] = {}
    for part in _chunks(sorted(set(emails))):
        for addr, pk in (Customer.objects.filter(source_ids__source=source, email__in=part)
                         .order_by("pk").values_list("email", "pk")):
            found.setdefault(addr, pk)
    return found


def cards_by_id(customer_ids: Iterable[int]) -> dict[int, Customer]:
    """{id: card} for the cards among `customer_ids`."""
    found: dict[int, Customer] = {}
    for part in _chunks(sorted(set(customer_ids))):
        found.update((c.pk, c) for c in Customer.objects.filter(pk__in=part))
    return found


def interests_of(customer_ids: Iterable[int]) -> dict[int, list[str]]:
    """{card: the names of its interests}."""
    found: dict[int, list[str]] = defaultdict(list)
    through = Customer.interests.through
    for part in _chunks(sorted(set(customer_ids))):
        for cid, name in through.objects.filter(customer_id__in=part).values_list("customer_id", "tag__name"):
            found[cid].append(name)
    return found


def consents_now(customer_ids: Iterable[int]) -> dict[tuple[int, str], bool]:
    """{(card, channel): granted} from the latest consent record of each card and channel."""
    found: dict[tuple[int, str], bool] = {}
    for part in _chunks(sorted(set(customer_ids))):
        for cid, channel, status in (ConsentRecord.objects.filter(customer_id__in=part)
                                     .order_by("customer_id", "channel", "-recorded_at", "-id")
                                     .values_list("customer_id", "channel", "status")):
            found.setdefault((cid, channel), status == ConsentStatus.GRANTED)
    return found


def names_in_use() -> Iterator[tuple[str, str]]:
    """(first name, last name) of every active card not merged into another, streamed."""
    return (Customer.objects.filter(merged_into__isnull=True, is_active=True)
            .values_list("first_name", "last_name").iterator(chunk_size=5000))


# (key in the source, external id or None, the new card, its interests, its consents)
Create = tuple[str, str | None, Customer, list[str], dict[str, bool]]
# (the card, {field: (old, new)}, its interests (None: unchanged), its consents)
Update = tuple[Customer, dict[str, tuple[Any, Any]], list[str] | None, dict[str, bool]]


def cards_import_write(*, actor: Actor, source: str, creates: Sequence[Create], updates: Sequence[Update],
                       card_fields: Iterable[str], consent_source: str, consent_wording: str,
                       audit_entity: str, audit_context: Mapping[str, Any], now: datetime) -> None:
    """Write a file's new cards (with their id in `source`) and its changes to existing ones
    (`card_fields` only), their interests and consents, and one audit row per card. Call
    inside the import's transaction; the new cards get their primary keys."""
    fields = list(card_fields)
    card_fields = set(fields)
    cards = [c for _k, _x, c, _t, _co in creates]
    insert_objects(Customer, cards)
    insert_objects(CustomerSourceId, [CustomerSourceId(customer_id=c.pk, source=source, external_id=k)
                                      for k, _x, c, _t, _co in creates])
    tag_rows: list[tuple[Customer, list[str]]] = [(c, t) for _k, _x, c, t, _co in creates if t]
    tag_rows += [(c, t) for c, _ch, t, _co in updates if t is not None]
    _interests_set(tag_rows, replace_ids=[c.pk for c, _ch, t, _co in updates if t is not None])
    consents = [
        ConsentRecord(customer=c, channel=ch, status=ConsentStatus.GRANTED if g else ConsentStatus.WITHDRAWN,
                      recorded_at=now, source=consent_source, wording=consent_wording, recorded_by=actor.user)
        for c, consent in ([(c, co) for _k, _x, c, _t, co in creates] + [(c, co) for c, _ch, _t, co in updates])
        for ch, g in consent.items()
    ]
    insert_objects(ConsentRecord, consents)
    updated_fields = sorted({f for _c, ch, _t, _co in updates for f in ch if f in card_fields})
    for c, ch, _t, _co in updates:
        for f in ch:
            if f in card_fields:
                setattr(c, f, ch[f][1])
        c.updated_at = now
    if updated_fields:
        Customer.objects.bulk_update([c for c, ch, _t, _co in updates if any(f in card_fields for f in ch)],
                                     [*updated_fields, "updated_at"], batch_size=500)
    audit_record_bulk(
        actor=actor, action=AuditAction.BULK_CREATE, entity=audit_entity,
        rows=[(c.pk, {**{f: (None, getattr(c, f)) for f in fields if getattr(c, f) not in ("", None)},
                      **({"interests": (None, ", ".join(t))} if t else {}),
                      **{f"consent_{ch}": (None, g) for ch, g in co.items()}})
              for _k, _x, c, t, co in creates],
        context=audit_context)
    audit_record_bulk(actor=actor, action=AuditAction.BULK_UPDATE, entity=audit_entity,
                      rows=[(c.pk, ch) for c, ch, _t, _co in updates], context=audit_context)


def cards_minimal_write(*, actor: Actor, source: str, cards: Sequence[Customer], keys: Sequence[str],
                        audit_entity: str, audit_context: Mapping[str, Any]) -> None:
    """Write minimal new cards (an order file names customers the base does not have), each
    with its key as its id in `source`, and one audit row per card."""
    insert_objects(Customer, cards)
    insert_objects(CustomerSourceId, [CustomerSourceId(customer_id=c.pk, source=source, external_id=k)
                                      for k, c in zip(keys, cards, strict=True)])
    audit_record_bulk(
        actor=actor, action=AuditAction.BULK_CREATE, entity=audit_entity,
        rows=[(c.pk, {f: (None, getattr(c, f)) for f in ("first_name", "last_name", "email", "acquisition_date")
                      if getattr(c, f)} | {"source_id": (None, k)})
              for k, c in zip(keys, cards, strict=True)],
        context=audit_context)


def _interests_set(rows: list[tuple[Customer, list[str]]], replace_ids: list[int]) -> None:
    if not rows:
        return
    names = sorted({name for _c, names in rows for name in names})
    tags = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
    missing = [Tag(name=name) for name in names if name not in tags]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        tags = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
    through = Customer.interests.through
    for part in _chunks(replace_ids):
        through.objects.filter(customer_id__in=part).delete()
    insert_objects(through, [through(customer_id=c.pk, tag_id=tags[name]) for c, names in rows for name in names])
