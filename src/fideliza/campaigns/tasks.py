"""Background jobs of campaigns (django-tasks).

A scheduled campaign is launched twice over, on purpose: a task enqueued with `run_after`
at its time (backends that can defer, e.g. the database one), and the periodic
`campaigns_tick` of the scheduler (settings.FIDELIZA_SCHEDULE) as the safety net for
backends that cannot defer or a task lost with its worker. The launch is idempotent, so
whichever runs second finds the campaign launched and does nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django_tasks import task


@task(queue_name="default")
def campaign_launch_scheduled(campaign_id: int) -> dict[str, Any]:
    """Launch one scheduled campaign if its time has come (its date may have moved since)."""
    from .models import Campaign, CampaignStatus
    from .services import campaign_launch

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status != CampaignStatus.SCHEDULED:
        return {"campaign": campaign_id, "launched": False}
    if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        return {"campaign": campaign_id, "launched": False, "not_before": campaign.scheduled_at.isoformat()}
    summary = campaign_launch(campaign)
    return {"campaign": campaign_id, "launched": summary.launched, "recipients": summary.counts}


@task(queue_name="default")
def campaigns_tick() -> dict[str, Any]:
    """Launch due scheduled campaigns; mark as sent those whose messages have all left."""
    from .services import campaigns_finish_sending, campaigns_launch_due

    return {"launched": campaigns_launch_due(), "finished": campaigns_finish_sending()}


def campaign_enqueue_at(campaign_id: int, when: datetime | None) -> bool:
    """Enqueue the launch for `when` if the task backend can defer; True when enqueued."""
    deferred = campaign_launch_scheduled.using(run_after=when)
    if when is None or not deferred.get_backend().supports_defer:
        return False
    deferred.enqueue(campaign_id)
    return True
