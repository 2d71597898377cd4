"""Background jobs of loyalty (django-tasks). The daily one is meant for the scheduler
(settings.FIDELIZA_SCHEDULE); `fideliza expire_points` runs the expiry by hand."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task(queue_name="default")
def loyalty_daily() -> dict[str, Any]:
    """Expire lots, note upcoming expiries, birthday bonuses, release referrals, review tiers."""
    from .expiry import birthdays_award, expiry_notices_create, points_expire
    from .referrals import referrals_release
    from .tiers import tiers_review

    run = points_expire()
    return {
        "expired_points": run.points_expired,
        "expired_lots": run.lots_expired,
        "members_affected": run.members_affected,
        "expiry_notices": len(expiry_notices_create()),
        "birthday_bonuses": birthdays_award(),
        "referrals_rewarded": referrals_release(),
        "tier_changes": tiers_review(),
    }


@task(queue_name="default")
def loyalty_expire() -> dict[str, Any]:
    from .expiry import points_expire

    run = points_expire()
    return {"run": run.pk, "expired_points": run.points_expired, "expired_lots": run.lots_expired}
