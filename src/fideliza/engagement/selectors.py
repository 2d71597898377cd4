"""Reads for messaging: the outbox, a message's history, suppressions, preferences, and
the figures of one source's messages (a campaign's or an automation's) for their results."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from fideliza.customers.models import Customer
from fideliza.customers.selectors import customers_visible_to

from .models import (
    ContactDecision,
    DeliveryEvent,
    Message,
    MessageChannel,
    MessageStatus,
    Suppression,
    TopicPreference,
)


def topic_choices() -> list[tuple[str, str]]:
    """The topics offered on the preference page, from FIDELIZA_MESSAGE_TOPICS ("key:Label")."""
    result = []
    for item in settings.FIDELIZA_MESSAGE_TOPICS:
        key, _sep, label = item.partition(":")
        result.append((key.strip(), (label or key).strip()))
    return result


def topics_subscribed(customer: Customer) -> dict[str, bool]:
    return dict(TopicPreference.objects.filter(customer=customer).values_list("topic", "subscribed"))


def outbox_list(*, status: str = "", channel: str = "", source: str = "") -> QuerySet[Message]:
    qs = Message.objects.select_related("customer").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    if source:
        qs = qs.filter(source=source)
    return qs


def outbox_status_counts() -> dict[str, int]:
    return dict(Message.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))


def message_history(message: Message) -> dict:
    return {
        "attempts": list(message.delivery_attempts.order_by("number", "id")),
        "events": list(message.events.order_by("at", "id")),
        "decisions": list(message.decisions.order_by("decided_at", "id")),
    }


def suppressions_visible_to(user: Any) -> QuerySet[Suppression]:
    """Suppressions `user` may see. An address is personal data of the customers who have it,
    so a sales representative sees only the suppressed addresses of their own customers: an
    e-mail suppression whose address is one of their customers' e-mails, an SMS one whose
    number is one of their phones, a webhook one matching either (the webhook address is the
    phone, else the e-mail; see `services._address`). An address no card has any more (the
    customer changed it, or it was added by hand) belongs to nobody a representative sees.
    Every other role sees the whole list."""
    qs = Suppression.objects.all()
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if not user.is_sales_rep:
        return qs
    visible = customers_visible_to(user)
    # Card e-mails are stored lower case (customers.normalize), as suppressions are.
    emails = visible.exclude(email="").values("email")
    phones = visible.exclude(phone="").values("phone")
    return qs.filter(
        Q(channel=MessageChannel.EMAIL, address__in=emails)
        | Q(channel=MessageChannel.SMS, address__in=phones)
        | Q(channel=MessageChannel.WEBHOOK, address__in=phones)
        | Q(channel=MessageChannel.WEBHOOK, address__in=emails)
    )


def suppressions_list(*, user: Any, q: str = "", channel: str = "") -> QuerySet[Suppression]:
    """The suppression list as `user` may see it (`suppressions_visible_to`), newest first,
    optionally narrowed to one channel and to addresses containing `q`."""
    qs = suppressions_visible_to(user).order_by("-created_at", "-id")
    if channel:
        qs = qs.filter(channel=channel)
    if q.strip():
        qs = qs.filter(address__icontains=q.strip())
    return qs


def decisions_for_source(source: str) -> QuerySet[ContactDecision]:
    """Skips, deferrals and cancellations of one campaign or automation (its report shows them)."""
    return ContactDecision.objects.filter(source=source)


def events_for_source(source: str) -> QuerySet[DeliveryEvent]:
    """Delivery events (sent, opened, clicked, …) of one campaign's or automation's messages."""
    return DeliveryEvent.objects.filter(message__source=source)


def message_counts_by_source(source: str) -> dict[str, int]:
    """{status: count} of one source's messages."""
    return dict(Message.objects.filter(source=source).values_list("status")
                .annotate(n=Count("id")).values_list("status", "n"))


def customers_personalised() -> QuerySet:
    """Ids of customers who were sent at least one personalised (marketing) message — the
    «personalizados» stage of the loyalty funnel (segments.funnel)."""
    return (Message.objects.filter(kind="marketing", status=MessageStatus.SENT)
            .values("customer_id").distinct())


def customer_messages(customer: Customer, *, limit: int = 50) -> list[Message]:
    """The customer's latest messages with their events, for the customer's timeline."""
    return list(Message.objects.filter(customer=customer).prefetch_related("events")
                .order_by("-created_at", "-id")[:limit])


def message_sent_at(source: str) -> dict[int, datetime]:
    """{customer id: when its message of `source` was sent}, for the messages already sent."""
    return {cid: at for cid, at in Message.objects.filter(source=source, sent_at__isnull=False)
            .values_list("customer_id", "sent_at") if at is not None}


def message_event_counts(source: str, kinds: Iterable[str]) -> dict[str, int]:
    """{event kind: how many messages of `source` had one} among `kinds`."""
    return dict(DeliveryEvent.objects.filter(message__source=source, kind__in=list(kinds))
                .values_list("kind").annotate(n=Count("message_id", distinct=True)).values_list("kind", "n"))


PENDING_STATUSES = (MessageStatus.QUEUED, MessageStatus.DEFERRED, MessageStatus.SENDING)


def messages_pending_count(source: str) -> int:
    """How many messages of `source` are still in the outbox (queued, deferred, sending)."""
    return Message.objects.filter(source=source, status__in=PENDING_STATUSES).count()


def sources_pending(sources: Iterable[str]) -> set[str]:
    """The `sources` that still have messages in the outbox."""
    return set(Message.objects.filter(source__in=list(sources), status__in=PENDING_STATUSES)
               .values_list("source", flat=True).distinct())
