"""Reads for customers, with the visibility rules of each role applied."""

from __future__ import annotations

from django.db.models import QuerySet

from fideliza.accounts.models import User

from .models import ConsentRecord, ConsentStatus, Customer


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
