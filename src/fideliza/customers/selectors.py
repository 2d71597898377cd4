"""Reads for customers, with the visibility rules of each role applied."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from fideliza.accounts.models import User

from .models import ConsentRecord, ConsentStatus, Customer, CustomerSourceId

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
