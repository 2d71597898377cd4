"""Reads for customers, with the visibility rules of each role applied."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from fideliza.accounts.models import User
from fideliza.core.sql import ids_filter, sql_cents, sql_epoch_seconds

from .models import (
    ConsentRecord,
    ConsentStatus,
    Contact,
    ContactConsentRecord,
    Customer,
    CustomerKind,
    CustomerSourceId,
    DataSubjectRequest,
    RequestStatus,
    Tag,
)

SOURCE_ID_CHUNK = 5000  # ids per IN (…) list, under SQLite's bound-parameter limit


def customers_visible_to(user: User) -> QuerySet[Customer]:
    """Customers `user` may see: a sales representative sees only those assigned to them."""
    qs = Customer.objects.filter(merged_into__isnull=True)
    if not user.is_authenticated:
        return qs.none()
    if user.is_sales_rep:
        return qs.filter(account_executive=user)
    return qs


def consent_current(customer: Customer) -> dict[str, bool]:
    """The latest consent per channel: {channel: granted}. Channels never asked are absent."""
    current: dict[str, bool] = {}
    for channel, status in (
        ConsentRecord.objects.filter(customer=customer)
        .order_by("channel", "-recorded_at", "-id")
        .values_list("channel", "status")
    ):
        current.setdefault(channel, status == ConsentStatus.GRANTED)
    return current


def customer_ids_by_source(source: str, external_ids: Iterable[str]) -> dict[str, int]:
    """{external id: customer id} for the ids that the system `source` gave its customers
    (the till's card number, the web shop's account id); ids not known are absent. A merged
    card's source ids belong to the card it was merged into. Set-based, in chunks."""
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), SOURCE_ID_CHUNK):
        found.update(CustomerSourceId.objects.filter(
            source=source, external_id__in=wanted[start:start + SOURCE_ID_CHUNK]).values_list("external_id",
                                                                                             "customer_id"))
    return found


def customer_id_by_source(source: str, external_id: str) -> int | None:
    """The customer `source` knows as `external_id`, or None."""
    return customer_ids_by_source(source, [external_id]).get(external_id)


def customers_merged_into() -> dict[int, int]:
    """{merged card: the card it was merged into}, following chains to the survivor."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, merged_into_id FROM {Customer._meta.db_table} "
                       "WHERE merged_into_id IS NOT NULL")
        pairs = {int(a): int(b) for a, b in cursor.fetchall()}
    resolved = {}
    for start in pairs:
        target, seen = pairs[start], {start}
        while target in pairs and target not in seen:
            seen.add(target)
            target = pairs[target]
        resolved[start] = target
    return resolved


def customer_columns_sql() -> str:
    """SQL for the cards as the analytics adapter reads them: ``customer_id, acquired``
    (acquisition date) ``, created`` (both Unix seconds) ``, acquisition_cost`` (integer
    cents). Cards merged into another are not customers of their own."""
    return f"""
        SELECT c.id AS customer_id, {sql_epoch_seconds("c.acquisition_date")} AS acquired,
               {sql_epoch_seconds("c.created_at")} AS created,
               {sql_cents("c.acquisition_cost")} AS acquisition_cost
        FROM {Customer._meta.db_table} c WHERE c.merged_into_id IS NULL
    """


CardRow = tuple[int, str, str, str, str, str, str, str, str, str]


def card_rows(customer_ids: Sequence[int]) -> list[CardRow]:
    """(id, kind, first name, last name, company, e-mail, phone, city, region, country) of
    the cards among `customer_ids` (at most a few thousand) that exist: what a message may
    say about its recipient."""
    wanted = set(customer_ids)
    return [row for row in Customer.objects.filter(ids_filter("pk", customer_ids)).values_list(
        "pk", "kind", "first_name", "last_name", "company_name", "email", "phone", "city", "region", "country")
        if row[0] in wanted]


def contact_cards(customer_ids: Sequence[int]) -> list[tuple[int, str, str, str, str, bool]]:
    """(id, e-mail, phone, time zone, preferred channel, marketable) of the cards among
    `customer_ids` (at most a few thousand) that exist; a card is marketable while active
    and not merged into another."""
    wanted = set(customer_ids)
    return [(cid, email, phone, tz, preferred, bool(active and merged is None))
            for cid, email, phone, tz, preferred, active, merged in Customer.objects.filter(
                ids_filter("pk", customer_ids)).values_list(
                "id", "email", "phone", "timezone", "preferred_channel", "is_active", "merged_into")
            if cid in wanted]


def customers_with_open_request(customer_ids: Sequence[int]) -> set[int]:
    """The customers among `customer_ids` with an open data-subject request."""
    wanted = set(customer_ids)
    return {cid for cid in DataSubjectRequest.objects.filter(
        ids_filter("customer_id", customer_ids), status=RequestStatus.OPEN).values_list("customer_id", flat=True)
        if cid in wanted}


def consents_latest(customer_ids: Sequence[int], channels: Iterable[str]) -> dict[tuple[int, str], tuple[bool, datetime]]:
    """{(customer, channel): (granted, recorded at)} of the latest consent record of each
    customer among `customer_ids` (at most a few thousand) on each of `channels`."""
    wanted = set(customer_ids)
    latest: dict[tuple[int, str], tuple[bool, datetime]] = {}
    for cid, channel, status, recorded_at in (
        ConsentRecord.objects.filter(ids_filter("customer_id", customer_ids), channel__in=list(channels))
        .order_by("customer_id", "channel", "-recorded_at", "-id")
        .values_list("customer_id", "channel", "status", "recorded_at")
    ):
        if cid in wanted:
            latest.setdefault((cid, channel), (status == ConsentStatus.GRANTED, recorded_at))
    return latest


def customer_get(pk: int) -> Customer | None:
    """The card `pk`, or None."""
    return Customer.objects.filter(pk=pk).first()


def customers_with_phone(phone: str) -> QuerySet[Customer]:
    """The cards whose (normalised) phone is `phone`."""
    return Customer.objects.filter(phone=phone)


def customers_with_email(email: str) -> QuerySet[Customer]:
    """The cards whose e-mail is `email`, ignoring case."""
    return Customer.objects.filter(email__iexact=email)


def customers_reachable() -> QuerySet[Customer]:
    """Cards that may enter an automation or receive a message: active and not merged into
    another card."""
    return Customer.objects.filter(is_active=True, merged_into__isnull=True)


def customer_names(customer_ids: Iterable[int]) -> dict[int, str]:
    """{customer: the name the screens show} for the cards among `customer_ids`."""
    return {c.pk: str(c) for c in Customer.objects.filter(pk__in=set(customer_ids))}


def customers_count_without_source(sources: Iterable[str]) -> int:
    """How many cards have no id of any of `sources` (made by hand, through the API, …)."""
    return Customer.objects.exclude(source_ids__source__in=list(sources)).count()


def customers_current() -> QuerySet[Customer]:
    """Every card not merged into another (the consolidated base)."""
    return Customer.objects.filter(merged_into__isnull=True)


def customer_ids_current(customer_ids: Iterable[int]) -> set[int]:
    """The ids among `customer_ids` of cards not merged into another."""
    return set(customers_current().filter(pk__in=list(customer_ids)).values_list("pk", flat=True))


def customer_id_by_email(email: str) -> int | None:
    """The card (not merged into another) with this normalised e-mail, or None."""
    return customers_current().filter(email=email).values_list("pk", flat=True).first()


def consent_granted_ever() -> Exists:
    """Whether the customer `OuterRef("pk")` has a granted consent record (the funnel)."""
    return Exists(ConsentRecord.objects.filter(customer=OuterRef("pk"), status=ConsentStatus.GRANTED))


def tag_names() -> list[str]:
    """The names of every interest tag."""
    return list(Tag.objects.values_list("name", flat=True))


def consent_latest_status(channel: str) -> Subquery:
    """The status of the latest consent record of the customer `OuterRef("pk")` for
    `channel`, as a subquery (null without a record)."""
    return Subquery(ConsentRecord.objects.filter(customer=OuterRef("pk"), channel=channel)
                    .order_by("-recorded_at", "-id").values("status")[:1])


def customers_count() -> int:
    """How many cards there are (merged ones included)."""
    return Customer.objects.count()


def customers_by_id(customer_ids: Iterable[int]) -> dict[int, Customer]:
    """{id: card} for the cards among `customer_ids`."""
    return Customer.objects.in_bulk(list(customer_ids))


def customer_ids_by_email(emails: Sequence[str]) -> dict[str, int]:
    """{e-mail: the oldest card (not merged) with it} for `emails` (one IN list)."""
    found: dict[str, int] = {}
    for addr, pk in (customers_current().filter(email__in=list(emails)).order_by("-pk")
                     .values_list("email", "pk")):
        found[addr] = pk  # descending, so the oldest card is written last and wins
    return found


def customer_names_of_source(source: str) -> Iterable[tuple[int, str, str, str, str]]:
    """(id, kind, first name, last name, company) of the cards (not merged) with an id of
    `source`, streamed."""
    return (customers_current().filter(source_ids__source=source)
            .values_list("pk", "kind", "first_name", "last_name", "company_name").distinct()
            .iterator(chunk_size=5000))


def customers_newest(limit: int) -> list[tuple[int, int | None]]:
    """(customer, account executive) of the newest current, active cards."""
    return list(Customer.objects.filter(merged_into__isnull=True, is_active=True).order_by("-pk")
                .values_list("pk", "account_executive_id")[:limit])


# --- contact persons ------------------------------------------------------------------------

def contacts_visible_to(user: User) -> QuerySet[Contact]:
    """Contact persons of the cards `user` may see."""
    return Contact.objects.filter(customer__in=customers_visible_to(user))


def contacts_of(customer_id: int, *, active_only: bool = False) -> QuerySet[Contact]:
    """The card's contact persons: primary first, then active ones, by name."""
    qs = Contact.objects.filter(customer_id=customer_id)
    return qs.filter(is_active=True) if active_only else qs


def contact_consents_current(contact_ids: Iterable[int]) -> dict[int, dict[str, bool]]:
    """{contact: {channel: granted}} from each contact's latest record per channel."""
    current: dict[int, dict[str, bool]] = {}
    for contact_id, channel, status in (
        ContactConsentRecord.objects.filter(contact_id__in=list(contact_ids))
        .order_by("contact_id", "channel", "-recorded_at", "-id")
        .values_list("contact_id", "channel", "status")
    ):
        current.setdefault(contact_id, {}).setdefault(channel, status == ConsentStatus.GRANTED)
    return current


def contact_consent_history(contact_ids: Iterable[int]) -> QuerySet[ContactConsentRecord]:
    """The consent records of these contacts, newest first."""
    return (ContactConsentRecord.objects.filter(contact_id__in=list(contact_ids))
            .select_related("recorded_by", "contact").order_by("-recorded_at", "-id"))


ContactFacts = tuple[int, str, str, bool, dict[str, tuple[bool, datetime]]]


def company_contacts(customer_ids: Sequence[int], channels: Iterable[str]) -> dict[int, list[ContactFacts]]:
    """For the company cards among `customer_ids` (at most a few thousand): their active
    contacts as (id, e-mail, phone, primary, {channel: (granted, recorded at)}) with the
    latest consent on each of `channels`; a company without contacts maps to []. Person
    cards are absent. What the engagement gate addresses a company's message to."""
    wanted = set(customer_ids)
    found: dict[int, list[ContactFacts]] = {
        cid: [] for cid in Customer.objects.filter(ids_filter("pk", customer_ids), kind=CustomerKind.COMPANY)
        .values_list("pk", flat=True) if cid in wanted}
    if not found:
        return found
    rows = list(Contact.objects.filter(ids_filter("customer_id", list(found)), is_active=True)
                .order_by("customer_id", "-is_primary", "pk")
                .values_list("pk", "customer_id", "email", "phone", "is_primary"))
    consent: dict[int, dict[str, tuple[bool, datetime]]] = {}
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), SOURCE_ID_CHUNK):
        for contact_id, channel, status, recorded_at in (
            ContactConsentRecord.objects.filter(contact_id__in=ids[start:start + SOURCE_ID_CHUNK],
                                                channel__in=list(channels))
            .order_by("contact_id", "channel", "-recorded_at", "-id")
            .values_list("contact_id", "channel", "status", "recorded_at")
        ):
            consent.setdefault(contact_id, {}).setdefault(channel, (status == ConsentStatus.GRANTED, recorded_at))
    for pk, cid, email, phone, primary in rows:
        if cid in found:
            found[cid].append((pk, email, phone, primary, consent.get(pk, {})))
    return found


def contact_ids_at_address(customer_id: int, channel: str, address: str) -> list[int]:
    """The card's contacts reached at `address` on `channel` (e-mail: any case; else the phone)."""
    lookup = {"email__iexact": address} if channel == "email" else {"phone": address}
    return list(Contact.objects.filter(customer_id=customer_id, **lookup).values_list("pk", flat=True))


def company_ids_among(customer_ids: Iterable[int]) -> set[int]:
    """The company cards among `customer_ids` (a few thousand at most)."""
    wanted = list(set(customer_ids))
    return set(Customer.objects.filter(ids_filter("pk", wanted), kind=CustomerKind.COMPANY)
               .values_list("pk", flat=True)) & set(wanted)


def contact_ids_by_customer(customer_ids: Iterable[int]) -> dict[int, list[int]]:
    """{card: its active contact persons, primary first} for the cards among `customer_ids`."""
    found: dict[int, list[int]] = {}
    for pk, cid in (Contact.objects.filter(customer_id__in=list(set(customer_ids)), is_active=True)
                    .order_by("customer_id", "-is_primary", "pk").values_list("pk", "customer_id")):
        found.setdefault(cid, []).append(pk)
    return found


def contacts_for_cards(customer_ids: Sequence[int]) -> list[Contact]:
    """Every contact person (active or not) of the cards among `customer_ids`, in chunks."""
    found: list[Contact] = []
    ids = list(customer_ids)
    for start in range(0, len(ids), SOURCE_ID_CHUNK):
        found += list(Contact.objects.filter(customer_id__in=ids[start:start + SOURCE_ID_CHUNK]).order_by("pk"))
    return found
