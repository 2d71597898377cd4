"""REST endpoints for campaigns: list, create, read, launch and results."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from fideliza.accounts.auth import request_user
from fideliza.api_support import (
    ERRORS_READ,
    ERRORS_WRITE,
    DbId,
    IsoDateTime,
    MoneyIn,
    MoneyOut,
    decimal_input,
)
from fideliza.segments.selectors import segment_get

from .models import Campaign, CampaignStatus
from .permissions import can_edit_campaigns
from .selectors import campaign_results, campaigns_list
from .services import (
    LaunchSummary,
    MessageContent,
    campaign_create,
    campaign_messages,
    campaign_send,
)

router = Router(tags=["campaigns"])

Channel = Literal["email", "sms"]


class CampaignMessageIn(Schema):
    subject: str = Field(default="", max_length=200, description="E-mail only.")
    body_text: str = ""
    body_html: str = Field(default="", description="E-mail only; optional.")
    topic: str = Field(default="", max_length=60)
    language: Literal["es", "en"] = "es"


if TYPE_CHECKING:  # Decimals to the type checker; validated, documented types to pydantic
    HoldoutShare = Decimal
    OfferValue = Decimal
else:
    # 0 to 0.9 with up to three decimals; the pattern spells that range for strings.
    HoldoutShare = decimal_input(max_digits=4, decimal_places=3, ge=0, le=Decimal("0.9"),
                                 pattern=r"^0(\.([0-8][0-9]{0,2}|90{0,2}))?$", examples=["0.1"])
    # More than zero; the offer's value column holds 12 digits (10 whole), fewer than other money.
    OfferValue = decimal_input(max_digits=12, decimal_places=2, gt=0, examples=["10"])


class CampaignOfferIn(Schema):
    kind: Literal["amount", "percent"]
    value: OfferValue
    valid_days: int = Field(default=30, ge=1, le=3650)
    min_purchase: MoneyIn = Decimal(0)
    description: str = Field(default="", max_length=200)


class CampaignIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    segment_id: DbId
    channels: list[Channel] = Field(min_length=1)
    messages: dict[Channel, CampaignMessageIn] = Field(description=(
        'One message per channel, e.g. {"email": {"subject": "Hola {{ first_name }}", "body_text": "…"}}. '
        "Variables: see the campaign editor's help panel."))
    scheduled_at: IsoDateTime | None = Field(default=None, description="Empty: sent when launched.")
    offer: CampaignOfferIn | None = Field(default=None, description="A unique single-use coupon per recipient.")
    holdout_share: HoldoutShare = Decimal("0.1")
    over_budget: Literal["skip", "defer"] = "skip"
    conversion_days: int = Field(default=14, ge=1, le=365)


class CampaignMessageOut(Schema):
    subject: str
    body_text: str
    body_html: str
    topic: str


class CampaignOfferOut(Schema):
    kind: str
    value: MoneyOut
    valid_days: int
    min_purchase: MoneyOut
    description: str


class CampaignOut(Schema):
    id: int
    name: str
    description: str
    segment_id: int
    channels: list[str]
    messages: dict[str, CampaignMessageOut]
    scheduled_at: datetime | None
    offer: CampaignOfferOut | None
    holdout_share: str
    over_budget: str
    conversion_days: int
    status: str
    launched_at: datetime | None
    created_at: datetime


class CampaignLaunchOut(Schema):
    status: str
    launched: bool = Field(description="False when it had already been launched (nothing was sent again).")
    recipients: dict[str, int] = Field(description="Recipients per decision: queued, deferred, skipped, "
                                                   "no_channel, holdout, duplicate.")


class CampaignGroupOut(Schema):
    size: int
    converted: int
    revenue: MoneyOut


class CampaignUpliftOut(Schema):
    status: str
    confidence: float
    conversion_diff: float | None = Field(description="Treated rate minus holdout rate (0.011 = 1.1 points).")
    conversion_diff_ci: list[float] | None
    incremental_conversions: float | None
    incremental_revenue: MoneyOut | None
    incremental_revenue_ci: list[MoneyOut] | None
    p_value: float | None
    significant: bool
    explanation: str


class CampaignResultsOut(Schema):
    status: str
    launched_at: datetime | None
    segment_size: int
    treated: int
    holdout: int
    queued: int
    deferred: int
    skipped: int
    no_channel: int
    pending: int
    sent: int
    delivered: int
    bounced: int
    opened: int
    clicked: int
    unsubscribed: int
    converted: int = Field(description="Recipients sent the message who bought within the window after it.")
    revenue: MoneyOut
    window_days: int
    window_ends: datetime | None
    treated_outcome: CampaignGroupOut = Field(description="The whole treated group, from launch (for the uplift).")
    holdout_outcome: CampaignGroupOut
    uplift: CampaignUpliftOut | None
    coupons_issued: int
    coupons_redeemed: int
    coupon_discount: MoneyOut


def _editor(request: HttpRequest):
    user = request_user(request)
    if not can_edit_campaigns(user):
        raise HttpError(403, _("Su rol no permite esta operación."))
    return user


def _out(campaign: Campaign) -> dict[str, Any]:
    messages = {channel: {"subject": m.subject, "body_text": m.body_text, "body_html": m.body_html,
                          "topic": m.topic} for channel, m in campaign_messages(campaign).items()}
    offer = None
    if campaign.has_offer:
        offer = {"kind": campaign.offer_kind, "value": campaign.offer_value, "valid_days": campaign.offer_valid_days,
                 "min_purchase": campaign.offer_min_purchase, "description": campaign.offer_description}
    return {"id": campaign.pk, "name": campaign.name, "description": campaign.description,
            "segment_id": campaign.segment_id, "channels": campaign.channels, "messages": messages,
            "scheduled_at": campaign.scheduled_at, "offer": offer,
            "holdout_share": str(campaign.holdout_share), "over_budget": campaign.over_budget,
            "conversion_days": campaign.conversion_days, "status": campaign.status,
            "launched_at": campaign.launched_at, "created_at": campaign.created_at}


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(round(value, 2)))


@router.get("", response={200: list[CampaignOut], **ERRORS_READ}, summary="List campaigns")
def list_campaigns(request: HttpRequest, status: CampaignStatus | None = None) -> list[dict[str, Any]]:
    qs = campaigns_list(status=status).select_related("email_template", "sms_template")
    return [_out(c) for c in qs]


@router.post("", response={201: CampaignOut, **ERRORS_WRITE}, summary="Create a draft campaign")
def create_campaign(request: HttpRequest, payload: CampaignIn) -> Status:
    user = _editor(request)
    segment = segment_get(payload.segment_id)
    if segment is None:
        raise Http404
    offer = payload.offer
    fields: dict[str, Any] = {
        "description": payload.description, "scheduled_at": payload.scheduled_at,
        "holdout_share": payload.holdout_share, "over_budget": payload.over_budget,
        "conversion_days": payload.conversion_days,
    }
    if offer is not None:
        fields.update(offer_kind=offer.kind, offer_value=offer.value, offer_valid_days=offer.valid_days,
                      offer_min_purchase=offer.min_purchase, offer_description=offer.description)
    messages: dict[str, MessageContent] = {channel: MessageContent(**m.dict()) for channel, m in payload.messages.items()}
    campaign = campaign_create(user=user, name=payload.name, segment=segment, channels=payload.channels,
                               messages=messages, **fields)
    return Status(201, _out(campaign))


@router.get("/{campaign_id}", response={200: CampaignOut, **ERRORS_READ}, url_name="campaign_get")
def get_campaign(request: HttpRequest, campaign_id: DbId) -> dict[str, Any]:
    return _out(get_object_or_404(Campaign, pk=campaign_id))


@router.post("/{campaign_id}/launch", response={200: CampaignLaunchOut, **ERRORS_WRITE},
             summary="Send now (or schedule, when scheduled_at is in the future); repeating it sends nothing twice")
def launch(request: HttpRequest, campaign_id: DbId) -> dict[str, Any]:
    user = _editor(request)
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if campaign.status in (CampaignStatus.SENDING, CampaignStatus.SENT, CampaignStatus.SCHEDULED):
        from .services import campaign_launch

        if campaign.status == CampaignStatus.SCHEDULED:
            return {"status": campaign.status, "launched": False, "recipients": {}}
        summary = campaign_launch(campaign, user=user)
        return {"status": summary.campaign.status, "launched": False, "recipients": summary.counts}
    outcome = campaign_send(campaign=campaign, user=user)
    if isinstance(outcome, LaunchSummary):
        return {"status": outcome.campaign.status, "launched": outcome.launched, "recipients": outcome.counts}
    return {"status": outcome.status, "launched": False, "recipients": {}}


@router.get("/{campaign_id}/results", response={200: CampaignResultsOut, **ERRORS_READ},
            summary="Delivery, conversions, revenue and the incremental effect versus the holdout")
def results(request: HttpRequest, campaign_id: DbId) -> dict[str, Any]:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    r = campaign_results(campaign)
    out = {k: v for k, v in r.items() if k not in ("treated_outcome", "holdout_outcome", "uplift", "skip_reasons",
                                                   "window_open")}
    for key in ("treated_outcome", "holdout_outcome"):
        g = r[key]
        out[key] = {"size": g.size, "converted": g.converted, "revenue": g.revenue}
    u = r["uplift"]
    out["uplift"] = None if u is None else {
        "status": u.status, "confidence": u.confidence, "conversion_diff": u.conversion_diff,
        "conversion_diff_ci": list(u.conversion_diff_ci) if u.conversion_diff_ci else None,
        "incremental_conversions": u.incremental_conversions,
        "incremental_revenue": _money(u.incremental_revenue),
        "incremental_revenue_ci": [_money(v) for v in u.incremental_revenue_ci] if u.incremental_revenue_ci else None,
        "p_value": u.p_value, "significant": u.significant, "explanation": u.explanation,
    }
    return out
