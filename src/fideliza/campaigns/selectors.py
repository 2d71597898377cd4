"""Reads for campaigns: the results, measured against the holdout group.

Two conversion figures, on purpose:
* **converted** — recipients whose message was sent and who bought within N days after it
  was sent (what the campaign's team wants to see: "it worked for these people");
* **incremental** — the whole treated group (sent or not: skipped and unreachable ones
  included) against the holdout, both counted from the launch for N days. Only this
  comparison is fair, because the holdout was drawn at random from the same members;
  comparing just the people reached with the holdout would credit the campaign with the
  habits of the customers who happen to be reachable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from fideliza.analytics.uplift import GroupStats, uplift_from_stats
from fideliza.core.money import quantize_money
from fideliza.engagement.models import EventKind
from fideliza.engagement.selectors import (
    message_event_counts,
    message_sent_at,
    messages_pending_count,
    sources_pending,
)
from fideliza.loyalty.selectors import coupon_redemption_totals
from fideliza.sales.selectors import orders_placed_by

from .models import Campaign, CampaignRecipient, CampaignStatus, RecipientGroup, RecipientStatus

EVENT_KINDS = (EventKind.SENT, EventKind.DELIVERED, EventKind.BOUNCED, EventKind.OPENED,
               EventKind.CLICKED, EventKind.UNSUBSCRIBED)


def currency_symbol() -> str:
    code = settings.FIDELIZA_DEFAULT_CURRENCY
    return {"EUR": "€", "USD": "$", "GBP": "£"}.get(code, code)


def campaign_source(campaign: Campaign) -> str:
    return f"campaign:{campaign.pk}"


@dataclass(frozen=True)
class GroupOutcome:
    size: int
    converted: int
    revenue: Decimal

    @property
    def rate(self) -> float | None:
        return self.converted / self.size if self.size else None

    @property
    def revenue_per_customer(self) -> Decimal | None:
        return quantize_money(self.revenue / self.size) if self.size else None


def campaign_results(campaign: Campaign, *, now: datetime | None = None) -> dict[str, Any]:
    """Every figure of the results page and the API, for a launched campaign."""
    now = now or timezone.now()
    recipients = CampaignRecipient.objects.filter(campaign=campaign)
    status_counts = dict(recipients.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    group_counts = dict(recipients.values_list("group").annotate(n=Count("pk")).values_list("group", "n"))
    events = message_event_counts(campaign_source(campaign), EVENT_KINDS)
    pending = messages_pending_count(campaign_source(campaign))
    out: dict[str, Any] = {
        "status": campaign.status,
        "launched_at": campaign.launched_at,
        "segment_size": sum(group_counts.values()),
        "treated": group_counts.get(RecipientGroup.TREATED, 0),
        "holdout": group_counts.get(RecipientGroup.HOLDOUT, 0),
        "queued": status_counts.get(RecipientStatus.QUEUED, 0),
        "deferred": status_counts.get(RecipientStatus.DEFERRED, 0),
        "skipped": status_counts.get(RecipientStatus.SKIPPED, 0) + status_counts.get(RecipientStatus.DUPLICATE, 0),
        "no_channel": status_counts.get(RecipientStatus.NO_CHANNEL, 0),
        "pending": pending,
        **{kind: events.get(kind, 0) for kind in EVENT_KINDS},
        "skip_reasons": list(recipients.filter(status__in=(RecipientStatus.SKIPPED, RecipientStatus.DEFERRED,
                                                            RecipientStatus.NO_CHANNEL))
                             .values("status", "reason").annotate(n=Count("pk")).order_by("-n")),
    }
    out.update(_conversions(campaign, now))
    out.update(_coupons(campaign))
    return out


def _conversions(campaign: Campaign, now: datetime) -> dict[str, Any]:
    empty = GroupOutcome(0, 0, Decimal(0))
    result: dict[str, Any] = {"converted": 0, "revenue": Decimal("0.00"), "window_days": campaign.conversion_days,
                              "window_ends": None, "window_open": False, "treated_outcome": empty,
                              "holdout_outcome": empty, "uplift": None}
    if campaign.launched_at is None:
        return result
    days = timedelta(days=campaign.conversion_days)
    start = campaign.launched_at
    itt_end = start + days
    sent_at = message_sent_at(campaign_source(campaign))
    last_send = max(sent_at.values(), default=start)
    end = max(itt_end, last_send + days)
    groups = dict(CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", "group"))
    recipients = CampaignRecipient.objects.filter(campaign=campaign).values("customer_id")
    orders = orders_placed_by(recipients, since=start, until=end)
    itt_revenue: dict[int, Decimal] = defaultdict(Decimal)
    attributed_revenue: dict[int, Decimal] = defaultdict(Decimal)
    for customer_id, placed_at, total in orders.iterator():
        if placed_at < itt_end:
            itt_revenue[customer_id] += total
        sent = sent_at.get(customer_id)
        if sent is not None and sent <= placed_at < sent + days:
            attributed_revenue[customer_id] += total
    outcomes = {}
    for group in (RecipientGroup.TREATED, RecipientGroup.HOLDOUT):
        ids = [cid for cid, g in groups.items() if g == group]
        outcomes[group] = GroupOutcome(
            size=len(ids), converted=sum(1 for cid in ids if cid in itt_revenue),
            revenue=quantize_money(sum((itt_revenue.get(cid, Decimal(0)) for cid in ids), Decimal(0))))
    result.update({
        "converted": len(attributed_revenue),
        "revenue": quantize_money(sum(attributed_revenue.values(), Decimal(0))),
        "window_ends": end, "window_open": now < end,
        "treated_outcome": outcomes[RecipientGroup.TREATED],
        "holdout_outcome": outcomes[RecipientGroup.HOLDOUT],
    })
    treated_ids = [cid for cid, g in groups.items() if g == RecipientGroup.TREATED]
    holdout_ids = [cid for cid, g in groups.items() if g == RecipientGroup.HOLDOUT]
    if treated_ids or holdout_ids:
        def stats(ids: list[int]) -> GroupStats:
            return GroupStats.from_arrays(np.array([cid in itt_revenue for cid in ids], dtype=bool),
                                          np.array([float(itt_revenue.get(cid, 0)) for cid in ids]))

        result["uplift"] = uplift_from_stats(stats(treated_ids), stats(holdout_ids),
                                             currency_symbol=currency_symbol())
    return result


def _coupons(campaign: Campaign) -> dict[str, Any]:
    coupon_ids = CampaignRecipient.objects.filter(campaign=campaign, coupon__isnull=False).values("coupon_id")
    issued = CampaignRecipient.objects.filter(campaign=campaign, coupon__isnull=False,
                                              coupon__is_active=True).count()
    used = coupon_redemption_totals(coupon_ids)
    return {"coupons_issued": issued, "coupons_redeemed": used["n"] or 0,
            "coupon_discount": quantize_money(used["discount"] or 0)}


def campaigns_list(*, status: str | None = None):  # -> QuerySet[Campaign]
    qs = Campaign.objects.select_related("segment").annotate(
        recipients_count=Count("recipients", filter=Q(recipients__group=RecipientGroup.TREATED)))
    if status:
        qs = qs.filter(status=status)
    return qs


def campaigns_sending_finished(*, sources: Iterable[str] | None = None) -> list[int]:
    """Ids of campaigns still marked as sending whose messages have all left the outbox
    (only those named in `sources`, ``campaign:<id>``, when given)."""
    qs = Campaign.objects.filter(status=CampaignStatus.SENDING)
    if sources is not None:
        qs = qs.filter(pk__in=[int(s.split(":")[1]) for s in sources
                               if s.count(":") == 1 and s.split(":")[1].isdigit()])
    sending = list(qs.values_list("pk", flat=True))
    busy = sources_pending(f"campaign:{pk}" for pk in sending)
    return [pk for pk in sending if f"campaign:{pk}" not in busy]



def campaign_sources_name(sources: list[str]) -> dict[str, str]:
    """Outbox origins ``campaign:<id>`` in words: «Campaña «Vuelta al cole»» (engagement.wording)."""
    from django.utils.translation import gettext as _

    ids = {s: s.split(":")[1] for s in sources if s.count(":") == 1 and s.split(":")[1].isdigit()}
    names = dict(Campaign.objects.filter(pk__in={int(v) for v in ids.values()}).values_list("pk", "name"))
    out = {}
    for source, pk in ids.items():
        name = names.get(int(pk))
        out[source] = (_("Campaña «%(name)s»") % {"name": name} if name is not None
                       else _("Campaña %(id)s (borrada)") % {"id": pk})
    return out
