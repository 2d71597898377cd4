"""Writes for messaging: queue messages (consent + budget gating), unsubscribe, preferences,
suppression and inbound events. Campaigns, automations and loyalty call `messages_queue`.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.core.sql import ids_filter
from fideliza.customers.contacts import (
    contact_consents_withdraw_at_address,
    contact_consents_withdraw_by_address,
)
from fideliza.customers.models import Customer, CustomerKind
from fideliza.customers.selectors import (
    company_contacts,
    consents_latest,
    contact_cards,
    contact_consents_current,
    contact_ids_at_address,
    customers_with_email,
    customers_with_open_request,
    customers_with_phone,
)
from fideliza.customers.services import consent_record, customer_lock

from .budget import Budget, budgets_resolve, customer_zone, slot_find
from .models import (
    COUNTED,
    ContactDecision,
    DecisionReason,
    DecisionStatus,
    DeliveryEvent,
    EventKind,
    Message,
    MessageChannel,
    MessageKind,
    MessageStatus,
    OverBudget,
    Suppression,
    SuppressionReason,
    TopicPreference,
)

CHUNK = 2000          # customers per round of queries (keeps IN lists well below SQLite limits)
SEND_BATCH = 500      # message ids per worker task
LOCK_STRIPES = 512    # PostgreSQL advisory-lock stripes guarding the budget (see _budget_lock)
LOCK_NAMESPACE = 0x6664  # "fd": first key of the two-int advisory lock, engagement budget


@dataclass(frozen=True)
class MessageRequest:
    customer_id: int
    channel: str              # "email" | "sms" | "webhook"
    kind: str                 # "marketing" | "transactional"
    source: str               # who decided: "campaign:12", "automation:3:step:1", "loyalty:coupon"
    dedupe_key: str           # unique per intended message; a repeat returns status "duplicate"
    subject: str = ""
    body_text: str = ""
    body_html: str = ""
    topic: str = ""           # preference topic ("ofertas", "novedades", "fidelizacion", ...)
    over_budget: str = "skip"  # or "defer"
    not_before: datetime | None = None
    tracking: bool = True     # e-mail: tracked links + open pixel
    contact_id: int | None = None  # a company's message: to this contact person, not the primary


@dataclass(frozen=True)
class QueueDecision:
    request: MessageRequest
    status: str               # "queued" | "deferred" | "skipped" | "duplicate"
    reason: str               # "" or a DecisionReason value
    message_id: int | None
    send_at: datetime | None


def consent_channel(channel: str) -> str:
    """The customers.Channel whose consent a message channel needs."""
    if channel == MessageChannel.WEBHOOK:
        return settings.FIDELIZA_WEBHOOK_CONSENT_CHANNEL
    return channel


def normalize_address(channel: str, address: str) -> str:
    address = (address or "").strip()
    return address.lower() if channel == MessageChannel.EMAIL else address


def _address(channel: str, email: str, phone: str) -> str:
    if channel == MessageChannel.EMAIL:
        return normalize_address(channel, email)
    if channel == MessageChannel.SMS:
        return phone
    return phone or normalize_address(MessageChannel.EMAIL, email)  # webhook: whatever the receiver can use


def _validate(requests: Sequence[MessageRequest]) -> None:
    channels, kinds, policies = set(MessageChannel.values), set(MessageKind.values), set(OverBudget.values)
    for i, r in enumerate(requests):
        if (r.channel in channels and r.kind in kinds and r.over_budget in policies and r.dedupe_key
                and len(r.dedupe_key) <= 200 and r.source and len(r.source) <= 100
                and len(r.topic) <= 40 and len(r.subject) <= 300):
            continue
        errors = {}
        if r.channel not in channels:
            errors["channel"] = _("Canal desconocido: «%(v)s».") % {"v": r.channel}
        if r.kind not in kinds:
            errors["kind"] = _("Tipo desconocido: «%(v)s».") % {"v": r.kind}
        if r.over_budget not in policies:
            errors["over_budget"] = _("Política desconocida: «%(v)s».") % {"v": r.over_budget}
        if not r.dedupe_key or len(r.dedupe_key) > 200:
            errors["dedupe_key"] = _("La clave única es obligatoria (máximo 200 caracteres).")
        if not r.source or len(r.source) > 100:
            errors["source"] = _("El origen es obligatorio (máximo 100 caracteres).")
        if len(r.topic) > 40 or len(r.subject) > 300:
            errors["subject"] = _("Asunto o tema demasiado largos.")
        raise ValidationError({f"{i}.{k}": v for k, v in errors.items()})


def _budget_lock(customer_ids: Iterable[int]) -> None:
    """Serialise budget decisions per customer until the transaction ends.

    PostgreSQL: transaction-level advisory locks on stripes of the customer id, taken in
    ascending order in one statement (no deadlock between two campaigns; at most
    LOCK_STRIPES locks, so a 100 000-recipient campaign does not exhaust the lock table).
    Held until commit, so a concurrent `messages_queue` waits and then counts our rows.
    SQLite: writers are already serialised (BEGIN IMMEDIATE in settings), nothing to do.
    """
    if connection.vendor != "postgresql":
        return
    stripes = sorted({cid % LOCK_STRIPES for cid in customer_ids})
    if not stripes:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, s)) FROM unnest(%s::int[]) AS s",
            [LOCK_NAMESPACE, stripes],
        )


@dataclass
class _CustomerFacts:
    email: str
    phone: str
    zone_name: str
    preferred: str
    marketable: bool          # active, not merged, no open data-subject request
    consent: dict[str, bool] = field(default_factory=dict)
    consent_at: dict[str, datetime] = field(default_factory=dict)  # when the current state was recorded
    topics_out: set[str] = field(default_factory=set)
    times: list[datetime] = field(default_factory=list)  # counted marketing send times, sorted
    # A company card: its active contact persons {id: (e-mail, phone, consent, consent_at)};
    # None for a person. email/phone/consent above are then the primary contact's.
    contacts: dict[int, tuple[str, str, dict[str, bool], dict[str, datetime]]] | None = None

    def without_times(self) -> _CustomerFacts:
        # Positional: dataclasses.replace costs ~10 µs a call, 1 s for a 100,000 campaign.
        return _CustomerFacts(self.email, self.phone, self.zone_name, self.preferred, self.marketable,
                              self.consent, self.consent_at, self.topics_out, [], self.contacts)

    def to_contact(self, contact_id: int) -> _CustomerFacts:
        """The facts of a message to one contact person of this company: that person's
        address and consent; the company's budget (the same `times`), zone and topics. A
        contact not among its active ones has no address."""
        email, phone, consent, consent_at = (self.contacts or {}).get(contact_id, ("", "", {}, {}))
        return _CustomerFacts(email, phone, self.zone_name, self.preferred, self.marketable, consent, consent_at,
                              self.topics_out, self.times, self.contacts)


def message_facts(f: _CustomerFacts | None, channel: str, address: str) -> _CustomerFacts | None:
    """The facts a queued message is re-checked on at send time: for a company, those of
    the contact person it was addressed to (none left at that address: no consent)."""
    if f is None or f.contacts is None:
        return f
    for contact_id, (email, phone, _consent, _at) in f.contacts.items():
        if _address(channel, email, phone) == address:
            return f.to_contact(contact_id)
    return f.to_contact(0)


def _request_facts(r: MessageRequest, f: _CustomerFacts | None) -> _CustomerFacts | None:
    """The facts a request is gated on: the card's, or the named contact person's."""
    if f is None or r.contact_id is None or f.contacts is None:
        return f
    return f.to_contact(r.contact_id)


def _facts(customer_ids: list[int], channels: set[str], since: datetime) -> dict[int, _CustomerFacts]:
    """Everything the gate needs for a chunk of customers, in a fixed number of queries."""
    facts = _card_facts(customer_ids, channels)
    _times_load(facts, customer_ids, since)
    return facts


def _card_facts(customer_ids: list[int], channels: set[str]) -> dict[int, _CustomerFacts]:
    """The facts of `_facts` except the budget's send times."""
    facts: dict[int, _CustomerFacts] = {}
    if not customer_ids:
        return facts
    for cid, email, phone, tz, preferred, marketable in contact_cards(customer_ids):
        facts[cid] = _CustomerFacts(email=email, phone=phone, zone_name=tz, preferred=preferred,
                                    marketable=marketable)
    for cid in customers_with_open_request(customer_ids):
        if cid in facts:
            facts[cid].marketable = False
    consent_channels = {consent_channel(c) for c in channels}
    for (cid, channel), (granted, recorded_at) in consents_latest(customer_ids, consent_channels).items():
        if cid in facts:
            facts[cid].consent[channel] = granted
            facts[cid].consent_at[channel] = recorded_at
    for cid, topic in TopicPreference.objects.filter(ids_filter("customer_id", customer_ids), subscribed=False
                                                     ).values_list("customer_id", "topic"):
        if cid in facts:
            facts[cid].topics_out.add(topic)
    _company_facts(facts, customer_ids, consent_channels)
    return facts


def _company_facts(facts: dict[int, _CustomerFacts], customer_ids: list[int], consent_channels: set[str]) -> None:
    """A company is reached through a contact person: its messages are addressed to the
    primary contact and need that person's consent, not the company's. A company with
    contacts but no primary one has no address. One with no contacts at all is its own
    contact: its card's address and the consent recorded on the card, as before contacts
    existed (a shop's imported company cards keep receiving what they agreed to)."""
    for cid, contacts in company_contacts(customer_ids, consent_channels).items():
        f = facts.get(cid)
        if f is None or not contacts:
            continue
        f.contacts = {}
        for contact_id, email, phone, _primary, consent in contacts:
            f.contacts[contact_id] = (email, phone, {ch: g for ch, (g, _at) in consent.items()},
                                      {ch: at for ch, (_g, at) in consent.items()})
        primary = next((c for c in contacts if c[3]), None)
        if primary is not None:
            f.email, f.phone, f.consent, f.consent_at = f.contacts[primary[0]]
        else:
            f.email, f.phone, f.consent, f.consent_at = "", "", {}, {}


def _times_load(facts: dict[int, _CustomerFacts], customer_ids: list[int], since: datetime) -> None:
    """Append each customer's counted marketing send times after `since` (sorted)."""
    if not facts:
        return
    for cid, at in (Message.objects.filter(ids_filter("customer_id", customer_ids), kind=MessageKind.MARKETING,
                                           status__in=COUNTED, send_at__gt=since)
                    .order_by("send_at").values_list("customer_id", "send_at")):
        if cid in facts:
            facts[cid].times.append(at)


_Suppressions = dict[tuple[str, str], tuple[str, datetime]]


@dataclass
class GateFacts:
    """What `channel_choose` read about its customers (cards, consent, topics,
    suppressions of every allowed channel's address), for a `messages_queue` call in the
    same transaction to reuse instead of reading it all again. The budget's send times are
    not kept: `messages_queue` reads them after taking the budget lock, as always."""

    ids: set[int] = field(default_factory=set)
    channels: frozenset[str] = frozenset()
    customers: dict[int, _CustomerFacts] = field(default_factory=dict)
    suppressed: _Suppressions = field(default_factory=dict)

    def covers(self, customer_ids: Iterable[int], channels: set[str]) -> bool:
        return channels <= self.channels and self.ids.issuperset(customer_ids)
# Suppressions the customer caused by opting out: a later explicit opt-in (a newer consent
# record, from the shop's till, a form or the preference page) overrides them. Bounces and
# complaints are never overridden by consent.
_OWN_OPT_OUTS = frozenset({SuppressionReason.UNSUBSCRIBED, SuppressionReason.SMS_STOP})


def _suppressed(pairs: set[tuple[str, str]]) -> _Suppressions:
    """{(channel, address): (reason, since)} for the suppressed pairs among `pairs`."""
    by_channel: dict[str, list[str]] = defaultdict(list)
    for channel, address in pairs:
        by_channel[channel].append(address)
    found: _Suppressions = {}
    if connection.vendor == "postgresql":
        # One array parameter instead of an IN list: compiling and converting thousands of
        # placeholders cost more than the query itself (~2 s per 100,000 recipients).
        table = connection.ops.quote_name(Suppression._meta.db_table)
        with connection.cursor() as cursor:
            for channel, addresses in by_channel.items():
                cursor.execute(f"SELECT address, reason, created_at FROM {table} "
                               f"WHERE channel = %s AND address = ANY(%s)", [channel, addresses])
                for address, reason, since in cursor.fetchall():
                    found[(channel, address)] = (reason, since)
        return found
    for channel, addresses in by_channel.items():
        for i in range(0, len(addresses), CHUNK):
            for address, reason, since in Suppression.objects.filter(
                channel=channel, address__in=addresses[i:i + CHUNK]
            ).values_list("address", "reason", "created_at"):
                found[(channel, address)] = (reason, since)
    return found


def _suppression_reason(suppressed: _Suppressions, channel: str, address: str,
                        f: _CustomerFacts | None) -> str:
    """The suppression that applies to this customer's address, or ""."""
    entry = suppressed.get((channel, address))
    if entry is None:
        return ""
    reason, since = entry
    if reason in _OWN_OPT_OUTS and f is not None:
        cc = consent_channel(channel)
        granted_at = f.consent_at.get(cc)
        if f.consent.get(cc) and granted_at is not None and granted_at > since:
            return ""
    return reason


def _max_window(budgets: dict[int, Budget]) -> timedelta:
    return max((b.window for b in budgets.values()), default=timedelta(days=1))


def messages_queue(requests: Sequence[MessageRequest], *, now: datetime | None = None,
                   known: GateFacts | None = None) -> list[QueueDecision]:
    """Gate and queue messages; returns one decision per request, in the same order.

    `known`: what a `channel_choose(..., known=...)` call earlier in the same transaction
    read about these customers; chunks it covers are not read again (a campaign launch).

    Set-based and atomic: for each chunk of customers a fixed number of queries (cards,
    consent, topics, budget counts, suppressions, existing dedupe keys), then bulk inserts.
    Every skip or deferral is also written as a ContactDecision row. Sending is enqueued
    (queue "outbox", one task per SEND_BATCH ids) only once the transaction commits, so a
    worker never looks for a row that does not exist yet. May be called inside an outer
    transaction: then the rows and the enqueue follow that transaction's fate.
    """
    requests = list(requests)
    _validate(requests)
    now = now or timezone.now()
    if not requests:
        return []
    horizon = timedelta(days=settings.FIDELIZA_BUDGET_MAX_DEFER_DAYS)
    decisions: list[QueueDecision | None] = [None] * len(requests)

    with transaction.atomic():
        by_customer: dict[int, list[int]] = defaultdict(list)
        for i, r in enumerate(requests):
            by_customer[r.customer_id].append(i)
        customer_ids = sorted(by_customer)
        _budget_lock(customer_ids)
        seen_keys: set[str] = set()
        due_ids: list[int] = []

        for start in range(0, len(customer_ids), CHUNK):
            chunk = customer_ids[start:start + CHUNK]
            indices = [i for cid in chunk for i in by_customer[cid]]
            budgets = budgets_resolve(chunk)
            since = now - _max_window(budgets)
            chunk_channels = {requests[i].channel for i in indices}
            if (known is not None and known.covers(chunk, chunk_channels)
                    and not any(requests[i].contact_id for i in indices)):
                # Fresh copies: the gate appends to `times`, read now, under the lock.
                facts = {cid: known.customers[cid].without_times() for cid in chunk if cid in known.customers}
                _times_load(facts, chunk, since)
                suppressed = known.suppressed
            else:
                facts = _facts(chunk, chunk_channels, since)
                pairs = set()
                for i in indices:
                    f = _request_facts(requests[i], facts.get(requests[i].customer_id))
                    if f is not None:
                        address = _address(requests[i].channel, f.email, f.phone)
                        if address:
                            pairs.add((requests[i].channel, address))
                suppressed = _suppressed(pairs)
            keys = [requests[i].dedupe_key for i in indices]
            existing = _existing_keys(keys)

            new_rows: list[tuple[int, datetime, str, str]] = []  # (index, send_at, defer reason, address)
            skip_rows: list[tuple[int, str]] = []
            for i in sorted(indices):  # request order decides who gets a budget slot first
                r = requests[i]
                if r.dedupe_key in existing or r.dedupe_key in seen_keys:
                    decisions[i] = QueueDecision(r, "duplicate", "", None, None)
                    continue
                seen_keys.add(r.dedupe_key)
                outcome = _gate(r, _request_facts(r, facts.get(r.customer_id)), suppressed,
                                budgets.get(r.customer_id), now=now, horizon=horizon)
                if isinstance(outcome, str):
                    skip_rows.append((i, outcome))
                    decisions[i] = QueueDecision(r, "skipped", outcome, None, None)
                    continue
                send_at, defer_reason, address = outcome
                new_rows.append((i, send_at, defer_reason, address))

            ids = _messages_insert(requests, new_rows, now)
            decision_rows: list[_DecisionRow] = [(requests[i], DecisionStatus.SKIPPED, reason, None, None)
                                                 for i, reason in skip_rows]
            for i, send_at, defer_reason, _addr in new_rows:
                message_id = ids[requests[i].dedupe_key]
                status = "deferred" if defer_reason else "queued"
                decisions[i] = QueueDecision(requests[i], status, defer_reason, message_id, send_at)
                if defer_reason:
                    decision_rows.append((requests[i], DecisionStatus.DEFERRED, defer_reason, message_id,
                                          send_at))
                elif send_at <= now:
                    due_ids.append(message_id)
            _decisions_insert(decision_rows, now)

        if due_ids:
            transaction.on_commit(lambda: outbox_enqueue(due_ids))
    return [d for d in decisions if d is not None]


def _existing_keys(keys: list[str]) -> set[str]:
    """The dedupe keys among `keys` that the outbox already has."""
    if connection.vendor == "postgresql":  # one array parameter (see _suppressed)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT dedupe_key FROM {connection.ops.quote_name(Message._meta.db_table)} "
                           f"WHERE dedupe_key = ANY(%s)", [keys])
            return {k for (k,) in cursor.fetchall()}
    return {k for j in range(0, len(keys), CHUNK)
            for k in Message.objects.filter(dedupe_key__in=keys[j:j + CHUNK]).values_list("dedupe_key", flat=True)}


# Plain multi-row INSERTs: a 100 000-recipient campaign spends most of its time building
# model instances and preparing 20+ values per row through the ORM; these write the same
# rows (all columns, defaults included) at a fraction of the cost. RETURNING works on
# PostgreSQL and SQLite ≥ 3.35 (what Django's own bulk_create relies on).
_MESSAGE_COLUMNS = (
    "customer_id", "channel", "kind", "topic", "source", "dedupe_key", "address", "subject",
    "body_text", "body_html", "tracking", "over_budget", "status", "send_at", "attempts",
    "next_attempt_at", "claim_id", "claimed_at", "last_error", "sent_at", "provider_id", "token",
    "created_at",
)
_DECISION_COLUMNS = (
    "customer_id", "channel", "kind", "topic", "source", "dedupe_key", "status", "reason",
    "message_id", "send_at", "decided_at",
)
# Rows per INSERT: SQLite allows 32 766 parameters per statement, PostgreSQL 65 535.
_INSERT_BATCH = {"sqlite": 1400, "postgresql": 2800}
# (request, decision status, reason, message id, deferred until)
_DecisionRow = tuple[MessageRequest, str, str, int | None, datetime | None]


def _messages_insert(requests: Sequence[MessageRequest], rows: list[tuple[int, datetime, str, str]],
                     now: datetime) -> dict[str, int]:
    """Insert the queued/deferred messages; returns {dedupe_key: id}."""
    from .models import new_token

    adapt = connection.ops.adapt_datetimefield_value
    # created_at is the decision time: the sweep compares it with send_at to tell rows that
    # got a task at commit (due then) from scheduled ones.
    created = adapt(now)
    values = []
    for i, send_at, defer_reason, address in rows:
        r = requests[i]
        status = MessageStatus.DEFERRED if defer_reason else MessageStatus.QUEUED
        values.append((r.customer_id, r.channel, r.kind, r.topic, r.source, r.dedupe_key, address,
                       r.subject, r.body_text, r.body_html, bool(r.tracking), r.over_budget, str(status),
                       adapt(send_at), 0, None, "", None, "", None, "", new_token(), created))
    table = connection.ops.quote_name(Message._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _MESSAGE_COLUMNS)
    one = "(" + ", ".join(["%s"] * len(_MESSAGE_COLUMNS)) + ")"
    ids: dict[str, int] = {}
    if connection.vendor == "postgresql" and len(values) > 1000:
        return _messages_copy(table, columns, values)
    with connection.cursor() as cursor:
        size = _INSERT_BATCH.get(connection.vendor, 500)
        for start in range(0, len(values), size):
            batch = values[start:start + size]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(batch))} "
                f"RETURNING id, dedupe_key",
                [v for row in batch for v in row],
            )
            ids.update((key, pk) for pk, key in cursor.fetchall())
    return ids


def _messages_copy(table: str, columns: str, values: list[tuple]) -> dict[str, int]:
    """PostgreSQL: COPY the rows (several times faster than INSERT for big campaigns) with
    ids taken from the table's sequence beforehand (COPY returns nothing; reading the ids
    back by dedupe key cost ~0.7 s per 100,000 rows)."""
    key_index = _MESSAGE_COLUMNS.index("dedupe_key")
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [Message._meta.db_table, len(values)])
        new_ids = [pk for (pk,) in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {table} (id, {columns}) FROM STDIN") as copy:
            for pk, row in zip(new_ids, values, strict=True):
                copy.write_row((pk, *row))
    return {row[key_index]: pk for pk, row in zip(new_ids, values, strict=True)}


def _decisions_insert(rows: Sequence[_DecisionRow], now: datetime) -> None:
    if not rows:
        return
    adapt = connection.ops.adapt_datetimefield_value
    decided = adapt(now)
    table = connection.ops.quote_name(ContactDecision._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _DECISION_COLUMNS)
    placeholders = ", ".join(["%s"] * len(_DECISION_COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
            [(r.customer_id, r.channel, r.kind, r.topic, r.source, r.dedupe_key, str(status), str(reason),
              message_id, adapt(send_at) if send_at else None, decided)
             for r, status, reason, message_id, send_at in rows],
        )


def _gate(r: MessageRequest, f: _CustomerFacts | None, suppressed: _Suppressions,
          budget: Budget | None, *, now: datetime, horizon: timedelta) -> str | tuple[datetime, str, str]:
    """A skip reason, or (send_at, deferral reason or "", address). Appends to f.times."""
    if f is None:
        return DecisionReason.NO_ADDRESS
    address = _address(r.channel, f.email, f.phone)
    if not address:
        return DecisionReason.NO_ADDRESS
    start = max(now, r.not_before) if r.not_before else now
    suppression = _suppression_reason(suppressed, r.channel, address, f)
    if r.kind == MessageKind.TRANSACTIONAL:
        # Only an address that cannot receive anything stops a transactional message.
        if suppression == SuppressionReason.HARD_BOUNCE:
            return DecisionReason.SUPPRESSED
        return start, "", address
    if not f.marketable:
        return DecisionReason.BLOCKED
    if not f.consent.get(consent_channel(r.channel), False):
        return DecisionReason.NO_CONSENT
    if suppression:
        return DecisionReason.SUPPRESSED
    if r.topic and r.topic in f.topics_out:
        return DecisionReason.TOPIC_OPT_OUT
    assert budget is not None
    zone = customer_zone(f.zone_name)
    slot = slot_find(f.times, start, budget, zone, horizon=horizon)
    if slot.at is None or (slot.over_budget and r.over_budget == OverBudget.SKIP):
        return DecisionReason.OVER_BUDGET
    bisect.insort(f.times, slot.at)
    reason = ""
    if slot.over_budget:
        reason = DecisionReason.OVER_BUDGET
    elif slot.quiet_hours:
        reason = DecisionReason.QUIET_HOURS
    return slot.at, reason, address


def outbox_enqueue(message_ids: Sequence[int]) -> None:
    """Hand due message ids to the worker, SEND_BATCH ids per task."""
    from .tasks import message_send_batch

    ids = list(message_ids)
    for i in range(0, len(ids), SEND_BATCH):
        message_send_batch.enqueue(ids[i:i + SEND_BATCH])


def channel_choose(customer_ids: Sequence[int], allowed: Sequence[str], *,
                   kind: str = "marketing", known: GateFacts | None = None) -> dict[int, str | None]:
    """Per customer: the first allowed channel it can receive, its preferred channel first.

    "Can receive": an address for the channel, and for marketing also consent, no
    suppression and a card usable for marketing. The budget is not considered here: it is
    shared by all channels, so it never makes one channel better than another.
    `known`, an empty GateFacts, receives what was read, for `messages_queue` to reuse.
    """
    allowed = [c for c in allowed if c in MessageChannel.values]
    result: dict[int, str | None] = {}
    ids = list(dict.fromkeys(customer_ids))
    if known is not None:
        known.channels = frozenset(allowed)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        facts = _card_facts(chunk, set(allowed))
        pairs = {(c, _address(c, f.email, f.phone)) for f in facts.values() for c in allowed}
        suppressed = _suppressed({p for p in pairs if p[1]})
        if known is not None:
            known.ids.update(chunk)
            known.customers.update(facts)
            known.suppressed.update(suppressed)
        for cid in chunk:
            f = facts.get(cid)
            result[cid] = None
            if f is None:
                continue
            preferred = f.preferred
            order = sorted(allowed, key=lambda c: 0 if c == preferred else 1)
            for channel in order:
                address = _address(channel, f.email, f.phone)
                if not address:
                    continue
                reason = _suppression_reason(suppressed, channel, address, f)
                if kind == MessageKind.TRANSACTIONAL:
                    if reason == SuppressionReason.HARD_BOUNCE:
                        continue
                elif (reason or not f.marketable
                      or not f.consent.get(consent_channel(channel), False)):
                    continue
                result[cid] = channel
                break
    return result


# --- public links ------------------------------------------------------------------------

PREFERENCES_SALT = "fideliza.engagement.preferences"
CLICK_SALT = "fideliza.engagement.click"


def public_url(path: str) -> str:
    return settings.FIDELIZA_PUBLIC_URL.rstrip("/") + path


def unsubscribe_url(message_id: int) -> str:
    token = Message.objects.values_list("token", flat=True).get(pk=message_id)
    return _unsubscribe_url_for_token(token)


def _unsubscribe_url_for_token(token: str) -> str:
    from django.urls import reverse

    return public_url(reverse("messages_public:unsubscribe", kwargs={"token": token}))


def preferences_token(customer_id: int) -> str:
    """A signed, non-expiring token naming one customer (the preference page needs no login)."""
    return signing.dumps(customer_id, salt=PREFERENCES_SALT)


def preferences_customer_id(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=PREFERENCES_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def preferences_url(customer_id: int) -> str:
    from django.urls import reverse

    return public_url(reverse("messages_public:preferences",
                              kwargs={"token": preferences_token(customer_id)}))


def click_signature(token: str, target: str) -> str:
    return signing.Signer(salt=CLICK_SALT).signature(f"{token}\n{target}")


def click_url(token: str, target: str) -> str:
    from urllib.parse import urlencode

    from django.urls import reverse

    query = urlencode({"u": target, "s": click_signature(token, target)})
    return public_url(reverse("messages_public:click", kwargs={"token": token})) + "?" + query


def open_pixel_url(token: str) -> str:
    from django.urls import reverse

    return public_url(reverse("messages_public:open", kwargs={"token": token}))


# --- events, suppression, consent ---------------------------------------------------------

def event_record(*, message: Message, kind: str, at: datetime | None = None,
                 detail: dict | None = None) -> DeliveryEvent:
    return DeliveryEvent.objects.create(message=message, customer_id=message.customer_id, kind=kind,
                                        at=at or timezone.now(), detail=detail or {})


def suppression_add(*, channel: str, address: str, reason: str, note: str = "") -> Suppression:
    """Add (or escalate) a suppression. A hard bounce outranks any other reason."""
    address = normalize_address(channel, address)
    row, created = Suppression.objects.get_or_create(
        channel=channel, address=address, defaults={"reason": reason, "note": note[:300]})
    if not created and reason == SuppressionReason.HARD_BOUNCE and row.reason != reason:
        row.reason = reason
        row.save(update_fields=["reason"])
    return row


def suppression_remove(*, suppression: Suppression) -> None:
    suppression.delete()


def _withdraw(customer: Customer, channel: str, source: str, ip: str | None = None) -> None:
    consent_record(customer=customer, channel=channel, granted=False, source=source, ip_address=ip)


def _cancel_pending_marketing(customer_id: int, channel: str, address: str, reason: str) -> int:
    """Cancel this address's not-yet-sent marketing messages, recording why."""
    now = timezone.now()
    pending = list(Message.objects.filter(customer_id=customer_id, channel=channel, address=address,
                                          kind=MessageKind.MARKETING,
                                          status__in=(MessageStatus.QUEUED, MessageStatus.DEFERRED)))
    for m in pending:
        updated = Message.objects.filter(pk=m.pk, status=m.status).update(status=MessageStatus.CANCELLED)
        if updated:
            ContactDecision.objects.create(
                customer_id=m.customer_id, channel=m.channel, kind=m.kind, topic=m.topic, source=m.source,
                dedupe_key=m.dedupe_key, status=DecisionStatus.CANCELLED, reason=reason, message=m,
                decided_at=now)
    return len(pending)


@transaction.atomic
def message_unsubscribe(*, message: Message, ip: str | None = None, via: str = "link") -> bool:
    """One-click unsubscribe from the link or header of `message`.

    Withdraws marketing consent for the message's channel, suppresses the address for
    marketing, cancels what is still pending and records an event. Idempotent: while the
    customer stays unsubscribed a repeat changes nothing and returns False; after they
    opted in again (preference page), the old link unsubscribes them again.
    """
    from fideliza.customers.selectors import consent_current

    customer = customer_lock(message.customer_id)
    channel = consent_channel(message.channel)
    address = normalize_address(message.channel, message.address)
    if customer.kind == CustomerKind.COMPANY:
        # A company's message went to a contact person: theirs is the consent withdrawn.
        consents = contact_consents_current(contact_ids_at_address(customer.pk, channel, address))
        granted = any(c.get(channel, False) for c in consents.values())
    else:
        granted = consent_current(customer).get(channel, False)
    suppressed = Suppression.objects.filter(channel=message.channel, address=address).exists()
    if not granted and suppressed:
        return False
    if granted and customer.kind == CustomerKind.COMPANY:
        contact_consents_withdraw_by_address(customer_id=customer.pk, channel=channel, address=address,
                                             source="enlace de baja", ip_address=ip)
    elif granted:
        _withdraw(customer, channel, source="enlace de baja", ip=ip)
    suppression_add(channel=message.channel, address=address, reason=SuppressionReason.UNSUBSCRIBED,
                    note=f"message {message.pk}")
    _cancel_pending_marketing(customer.pk, message.channel, message.address, DecisionReason.NO_CONSENT)
    event_record(message=message, kind=EventKind.UNSUBSCRIBED, detail={"via": via})
    return True


@transaction.atomic
def preferences_update(*, customer: Customer, channels: dict[str, bool], topics: dict[str, bool],
                       ip: str | None = None) -> None:
    """Apply the preference page: consent per channel (only changes are recorded) and topics."""
    from fideliza.customers.selectors import consent_current

    current = consent_current(customer)
    for channel, wanted in channels.items():
        if current.get(channel, False) != wanted:
            consent_record(customer=customer, channel=channel, granted=wanted,
                           source="página de preferencias", ip_address=ip)
        if wanted:
            # Opting in again lifts the customer's own unsubscribe (never a hard bounce).
            for mchannel in MessageChannel.values:
                if consent_channel(mchannel) == channel:
                    address = _address(mchannel, customer.email, customer.phone)
                    Suppression.objects.filter(
                        channel=mchannel, address=address,
                        reason__in=(SuppressionReason.UNSUBSCRIBED, SuppressionReason.SMS_STOP),
                    ).delete()
        else:
            for mchannel in MessageChannel.values:
                if consent_channel(mchannel) == channel:
                    address = _address(mchannel, customer.email, customer.phone)
                    if address:
                        _cancel_pending_marketing(customer.pk, mchannel, address, DecisionReason.NO_CONSENT)
    for topic, subscribed in topics.items():
        TopicPreference.objects.update_or_create(customer=customer, topic=topic,
                                                 defaults={"subscribed": subscribed})


STOP_WORDS = frozenset({"stop", "baja", "parar", "alta baja", "unsubscribe", "cancelar"})
_WORD = re.compile(r"[^\wáéíóúñü ]+", re.IGNORECASE)


def is_stop_reply(text: str) -> bool:
    """"STOP", "Baja", "parar." … : the whole reply (ignoring punctuation, case) is a stop word."""
    cleaned = " ".join(_WORD.sub(" ", text or "").lower().split())
    return cleaned in STOP_WORDS


@transaction.atomic
def sms_inbound(*, phone: str, text: str) -> list[int]:
    """An SMS reply. A stop word withdraws SMS consent of every card with that phone, and of
    every company contact person with it.

    Returns the ids of the customers whose own (card) consent was withdrawn.
    """
    from fideliza.customers.normalize import normalize_phone

    if not is_stop_reply(text):
        return []
    number = normalize_phone(phone, settings.FIDELIZA_PHONE_REGION) or phone.strip()
    suppression_add(channel=MessageChannel.SMS, address=number, reason=SuppressionReason.SMS_STOP,
                    note=text[:100])
    withdrawn = []
    for customer in customers_with_phone(number):
        _withdraw(customer, MessageChannel.SMS, source=f"respuesta SMS «{text.strip()[:40]}»")
        _cancel_pending_marketing(customer.pk, MessageChannel.SMS, number, DecisionReason.NO_CONSENT)
        withdrawn.append(customer.pk)
    # A company's contact person with that phone: their own consent goes too.
    for customer_id in contact_consents_withdraw_at_address(
            channel=MessageChannel.SMS, address=number, source=f"respuesta SMS «{text.strip()[:40]}»"):
        _cancel_pending_marketing(customer_id, MessageChannel.SMS, number, DecisionReason.NO_CONSENT)
    for message in Message.objects.filter(channel=MessageChannel.SMS, address=number,
                                          status=MessageStatus.SENT).order_by("-sent_at")[:1]:
        event_record(message=message, kind=EventKind.UNSUBSCRIBED, detail={"via": "sms", "text": text[:160]})
    return withdrawn


@transaction.atomic
def bounce_record(*, address: str, hard: bool, message_token: str = "", provider_id: str = "",
                  diagnostic: str = "", complaint: bool = False) -> Message | None:
    """A bounce or spam complaint reported by the mail provider.

    Hard bounce: suppress the address for everything, withdraw e-mail consent of the cards
    using it, mark the message bounced. Complaint: suppress for marketing and withdraw
    consent. Soft bounce: only an event (the provider retries).
    """
    address = normalize_address(MessageChannel.EMAIL, address)
    message = None
    if message_token:
        message = Message.objects.filter(token=message_token).first()
    if message is None and provider_id:
        message = Message.objects.filter(provider_id=provider_id).first()
    if message is None and address:
        message = (Message.objects.filter(channel=MessageChannel.EMAIL, address=address,
                                          status=MessageStatus.SENT).order_by("-sent_at").first())
    if message is not None and not address:
        address = message.address
    if not address:
        raise ValidationError({"address": _("Falta la dirección o el mensaje del rebote.")})
    if hard or complaint:
        suppression_add(channel=MessageChannel.EMAIL, address=address,
                        reason=SuppressionReason.HARD_BOUNCE if hard else SuppressionReason.COMPLAINT,
                        note=diagnostic)
        for customer in customers_with_email(address):
            _withdraw(customer, MessageChannel.EMAIL,
                      source="rebote permanente" if hard else "queja por spam")
            _cancel_pending_marketing(customer.pk, MessageChannel.EMAIL, address, DecisionReason.SUPPRESSED)
        for customer_id in contact_consents_withdraw_at_address(
                channel=MessageChannel.EMAIL, address=address,
                source="rebote permanente" if hard else "queja por spam"):
            _cancel_pending_marketing(customer_id, MessageChannel.EMAIL, address, DecisionReason.SUPPRESSED)
    if message is not None:
        kind = EventKind.COMPLAINED if complaint else EventKind.BOUNCED
        event_record(message=message, kind=kind, detail={"hard": hard, "diagnostic": diagnostic[:500]})
        if hard and message.status == MessageStatus.SENT:
            Message.objects.filter(pk=message.pk).update(status=MessageStatus.BOUNCED)
    return message


def delivery_report(*, message_token: str = "", provider_id: str = "", detail: dict | None = None
                    ) -> Message | None:
    """A provider's delivery receipt (SMS gateway, mail provider webhook): a "delivered" event."""
    message = None
    if message_token:
        message = Message.objects.filter(token=message_token).first()
    if message is None and provider_id:
        message = Message.objects.filter(provider_id=provider_id).first()
    if message is not None:
        event_record(message=message, kind=EventKind.DELIVERED, detail=detail or {})
    return message


def tracking_event(*, message: Message, kind: str, detail: dict | None = None) -> DeliveryEvent:
    """Opens and clicks (each one is recorded; reports count distinct messages)."""
    return event_record(message=message, kind=kind, detail=detail)


# --- contact budget settings (staff pages) ---------------------------------------------------

BUDGET_AUDIT_ENTITY = "engagement.contact_budget"


@transaction.atomic
def budget_save(*, actor, scope: str, max_messages: int, window_days: int,
                quiet_start=None, quiet_end=None, segment=None, customer=None):
    """Create or change the global budget, or a segment's or a customer's override."""
    from fideliza.accounts.models import AuditAction
    from fideliza.accounts.services import audit_record

    from .models import BudgetScope, ContactBudget

    lookup = {"scope": scope}
    if scope == BudgetScope.SEGMENT:
        lookup["segment"] = segment
    elif scope == BudgetScope.CUSTOMER:
        lookup["customer"] = customer
    row = ContactBudget.objects.select_for_update().filter(**lookup).first()
    before = None if row is None else (row.max_messages, row.window_days, row.quiet_start, row.quiet_end)
    row = row or ContactBudget(**lookup)
    row.max_messages, row.window_days = max_messages, window_days
    row.quiet_start, row.quiet_end = quiet_start, quiet_end
    row.full_clean()
    row.save()
    after = (row.max_messages, row.window_days, row.quiet_start, row.quiet_end)
    if before != after:
        names = ("max_messages", "window_days", "quiet_start", "quiet_end")
        audit_record(actor=actor, action=AuditAction.CREATE if before is None else AuditAction.UPDATE,
                     entity=BUDGET_AUDIT_ENTITY, entity_id=row.pk,
                     changes={n: (before[i] if before else None, after[i]) for i, n in enumerate(names)
                              if (before[i] if before else None) != after[i]},
                     context={"scope": scope})
    return row


@transaction.atomic
def budget_delete(*, actor, budget) -> None:
    """Remove a segment or customer override (its members fall back to the next level)."""
    from fideliza.accounts.models import AuditAction
    from fideliza.accounts.services import audit_record

    audit_record(actor=actor, action=AuditAction.DELETE, entity=BUDGET_AUDIT_ENTITY, entity_id=budget.pk,
                 context={"scope": budget.scope})
    budget.delete()


# --- customer merges and erasure (called by fideliza.customers) ----------------------------

def topic_preferences_merge(survivor: Customer, duplicate: Customer, colliding: list[int]) -> dict:
    """Merge handler for TopicPreference: an opt-out on either card wins.

    `colliding` are the duplicate's rows for topics the survivor also has a row for; they
    stay on the duplicate (for undo). Returns what `undo` needs.
    """
    changed, stamps = [], {}
    for topic in TopicPreference.objects.filter(pk__in=colliding, subscribed=False).values_list("topic", flat=True):
        row = TopicPreference.objects.get(customer=survivor, topic=topic)
        if row.subscribed:
            stamps[str(row.pk)] = row.updated_at.isoformat()
            row.subscribed = False
            row.save(update_fields=["subscribed", "updated_at"])
            changed.append(row.pk)
    return {"opted_out": changed, "updated_at": stamps}


def _topic_preferences_unmerge(payload: dict) -> None:
    TopicPreference.objects.filter(pk__in=payload.get("opted_out", [])).update(subscribed=True)
    for pk, stamp in payload.get("updated_at", {}).items():  # exactly as before the merge
        TopicPreference.objects.filter(pk=int(pk)).update(updated_at=datetime.fromisoformat(stamp))


topic_preferences_merge.undo = _topic_preferences_unmerge  # type: ignore[attr-defined]  # a function attribute (MergeHandler)


def messages_erase(customer_ids: list[int], values: set[str]) -> int:
    """Erasure handler: the outbox keeps that messages were sent, not to whom or what they said.

    Addresses, subjects and bodies of the customers' messages are blanked and event details
    (clicked URLs, user agents) dropped. Suppressions stay: they exist so that the address
    is never contacted again.
    """
    erased = Message.objects.filter(customer_id__in=customer_ids).update(
        address="[suprimido]", subject="", body_text="", body_html="", last_error="")
    DeliveryEvent.objects.filter(customer_id__in=customer_ids).update(detail={})
    return erased
