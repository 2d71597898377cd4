"""Loyalty's reactions to recorded orders and returns (registered in `LoyaltyConfig.ready`).

Both run inside the recording transaction and are set-based: an import passes thousands
of ids at once, handled in chunks that keep IN (…) lists under SQLite's variable limit.
"""

from __future__ import annotations

from collections.abc import Sequence


def on_orders_recorded(order_ids: Sequence[int]) -> None:
    from .referrals import affiliates_on_orders, referrals_on_orders
    from .services import _chunks, orders_accrue

    orders_accrue(order_ids)
    ids = sorted(set(order_ids))
    pending_referrals, affiliates = _referral_work()
    if pending_referrals:
        for chunk in _chunks(ids):
            referrals_on_orders(chunk)
    if affiliates:
        for chunk in _chunks(ids):
            affiliates_on_orders(chunk)


def _referral_work() -> tuple[bool, bool]:
    """(any pending referral, any active affiliate) in one query: this runs on every order."""
    from django.db import connection

    from .models import Affiliate, Referral, ReferralStatus

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS(SELECT 1 FROM {Referral._meta.db_table} WHERE status = %s), "
            f"EXISTS(SELECT 1 FROM {Affiliate._meta.db_table} WHERE is_active = %s)",
            [ReferralStatus.PENDING, True])
        pending, active = cursor.fetchone()
    return bool(pending), bool(active)


def on_returns_recorded(return_ids: Sequence[int]) -> None:
    from .referrals import affiliates_on_returns, referrals_on_returns
    from .services import _chunks, returns_clawback

    returns_clawback(return_ids)
    for chunk in _chunks(sorted(set(return_ids))):
        referrals_on_returns(chunk)
        affiliates_on_returns(chunk)
