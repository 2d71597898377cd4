"""Reads of the interaction log, with each role's visibility applied."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from fideliza.accounts.models import User
from fideliza.customers.selectors import customers_visible_to

from .models import Document, Interaction


def interactions_visible_to(user: User) -> QuerySet[Interaction]:
    """Interactions with the customers `user` may see (a sales representative: their own).

    A correlated EXISTS, as `followups.selectors.followups_visible_to` (and for the same
    reason): the pages read in time order, which has an index of its own.
    """
    return Interaction.objects.filter(Exists(customers_visible_to(user).filter(pk=OuterRef("customer_id"))))


def customer_interactions(*, customer_id: int, kinds: Iterable[str] | None = None,
                          limit: int = 100) -> list[Interaction]:
    """A card's latest interactions, newest first, for its timeline."""
    qs = (Interaction.objects.filter(customer_id=customer_id).select_related("user", "next_followup", "contact")
          .prefetch_related("documents"))
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    return list(qs.order_by("-occurred_at", "-id")[:limit])


def customer_documents(*, customer_id: int, limit: int = 50) -> list[Document]:
    """The documents kept on the card itself (not those of an interaction), newest first."""
    return list(Document.objects.filter(customer_id=customer_id, interaction__isnull=True)
                .select_related("uploaded_by").order_by("-uploaded_at", "-id")[:limit])


def interactions_exist() -> bool:
    return Interaction.objects.exists()


def customers_contacted_since(*, since: datetime) -> QuerySet[Any]:
    """Ids of the customers with an interaction logged at or after `since` (any kind), as a
    subquery: who has been in touch lately (the relationship move's lists)."""
    return Interaction.objects.filter(occurred_at__gte=since).order_by().values("customer_id")


def interactions_of_kinds(kinds: Iterable[str]) -> QuerySet[Interaction]:
    """Every logged interaction of `kinds`: what resets a contact cadence's clock. A caller
    narrows it (by customer, since a moment) or correlates it with its own query; the
    (customer, occurred_at) index answers «any since …» and «the latest» per customer."""
    return Interaction.objects.filter(kind__in=list(kinds))
