"""Erasure handlers of the loyalty app (registered in `LoyaltyConfig.ready`)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from .models import Affiliate


def affiliates_erase(customer_ids: list[int], values: set[str]) -> int:
    """An affiliate that is one of these customers loses its name and e-mail and stops
    earning; its code, referrals, commissions and payouts stay (accounting)."""
    count = 0
    for affiliate in Affiliate.objects.filter(customer_id__in=customer_ids):
        Affiliate.objects.filter(pk=affiliate.pk).update(
            name=_("Afiliado suprimido #%(id)s") % {"id": affiliate.pk}, email="", is_active=False)
        count += 1
    return count
