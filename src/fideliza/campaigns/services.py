"""Writes for campaigns: templates, create/update, schedule, cancel and the launch.

The launch is one transaction: the segment's members at that moment are split into a
random holdout (seeded by the campaign id, so the split can be reproduced) and the treated
group; each treated customer gets the channel the delivery layer allows (consent, address,
preference), a unique coupon when there is an offer, and a personalised message handed to
the outbox in ONE set-based `messages_queue` call. The recipients and the outbox's decisions
(queued, deferred, skipped with the reason) are stored beside them, so nothing is sent for a
launch that rolled back, and a second launch finds the campaign already launched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction, User
from fideliza.accounts.services import Actor, audit_record
from fideliza.analytics.uplift import holdout_assign
from fideliza.core.bulk import insert_constant
from fideliza.customers.models import Customer
from fideliza.engagement.services import GateFacts, MessageRequest, channel_choose, messages_queue
from fideliza.engagement.templating import (
    TemplateError,
    format_money,
    format_number,
    message_render,
    preview,
    recipients_context,
    template_validate,
)
from fideliza.loyalty.coupons import coupons_deactivate, coupons_issue
from fideliza.loyalty.models import CouponSource
from fideliza.segments.models import Segment
from fideliza.segments.selectors import segment_customers
from fideliza.surveys.models import Survey
from fideliza.surveys.services import (
    invitations_unsent,
    message_with_survey,
    survey_attach,
    survey_content,
    survey_content_sample,
)

from .models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    MessageTemplate,
    OfferKind,
    RecipientGroup,
    RecipientStatus,
    TemplateChannel,
)
from .selectors import campaigns_sending_finished

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

log = logging.getLogger(__name__)
BATCH = 5000
MESSAGE_KIND = "marketing"


@dataclass(frozen=True)
class MessageContent:
    """What one channel's message says (the campaign keeps its own copy as a template)."""

    subject: str = ""
    body_text: str = ""
    body_html: str = ""
    topic: str = ""
    language: str = "es"


# --- templates ---------------------------------------------------------------------------

def _content_errors(channel: str, content: MessageContent, *, prefix: str = "") -> dict[str, list[str]]:
    """Field errors of one channel's content: required parts and template syntax."""
    errors: dict[str, list[str]] = {}

    def check(field: str, source: str, *, html: bool = False, required: bool = False) -> None:
        if not source.strip():
            if required:
                errors.setdefault(prefix + field, []).append(_("Este campo es obligatorio."))
            return
        try:
            problems = template_validate(source, html=html)
        except TemplateError as exc:
            problems = [str(exc)]
        if problems:
            errors.setdefault(prefix + field, []).extend(problems)

    if channel == TemplateChannel.EMAIL:
        check("subject", content.subject, required=True)
        check("body_text", content.body_text, required=True)
        check("body_html", content.body_html, html=True)
    else:
        check("body_text", content.body_text, required=True)
        if len(content.body_text) > 1600:
            errors.setdefault(prefix + "body_text", []).append(
                _("Un SMS no puede superar los 1600 caracteres (10 mensajes)."))
    return errors


@transaction.atomic
def template_save(*, user: User | None, name: str, channel: str, content: MessageContent,
                  template: MessageTemplate | None = None, is_reusable: bool = True) -> MessageTemplate:
    """Create or change a template after checking its syntax and variables."""
    errors = _content_errors(channel, content)
    if not name.strip():
        errors.setdefault("name", []).append(_("Este campo es obligatorio."))
    if errors:
        raise ValidationError(errors)
    creating = template is None
    if template is None:
        template = MessageTemplate(created_by=user)
    template.name = name.strip()
    template.channel = channel
    template.subject = content.subject if channel == TemplateChannel.EMAIL else ""
    template.body_text = content.body_text
    template.body_html = content.body_html if channel == TemplateChannel.EMAIL else ""
    template.topic = content.topic
    template.language = content.language or "es"
    template.is_reusable = is_reusable
    template.updated_by = user
    template.full_clean()
    template.save()
    if is_reusable:
        audit_record(actor=Actor.of(user, via="web"), action=AuditAction.CREATE if creating else AuditAction.UPDATE,
                     entity="campaigns.messagetemplate", entity_id=template.pk,
                     changes={"name": (None, template.name)})
    return template


# --- campaigns ---------------------------------------------------------------------------

FIELDS = ("name", "description", "segment", "channels", "scheduled_at", "offer_kind", "offer_value",
          "offer_valid_days", "offer_min_purchase", "offer_description", "holdout_share", "over_budget",
          "conversion_days")


def _validate_campaign(campaign: Campaign, messages: Mapping[str, MessageContent]) -> None:
    errors: dict[str, list[str]] = {}
    channels = list(dict.fromkeys(campaign.channels or []))
    campaign.channels = channels
    if not channels:
        errors["channels"] = [_("Elija al menos un canal.")]
    for channel in channels:
        if channel not in TemplateChannel.values:
            errors.setdefault("channels", []).append(_("Canal desconocido: %(c)s.") % {"c": channel})
            continue
        content = messages.get(channel)
        if content is None:
            errors.setdefault("channels", []).append(
                _("Falta el mensaje para el canal %(c)s.") % {"c": TemplateChannel(channel).label})
            continue
        errors.update(_content_errors(channel, content, prefix=f"{channel}_"))
    if campaign.offer_kind and campaign.offer_value <= 0:
        errors["offer_value"] = [_("Indique el valor del descuento.")]
    if campaign.offer_kind == OfferKind.PERCENT and campaign.offer_value > 100:
        errors["offer_value"] = [_("Un descuento porcentual no puede superar el 100 %.")]
    if campaign.segment_id and campaign.segment.is_archived:
        errors["segment"] = [_("El segmento está archivado.")]
    try:
        campaign.full_clean()
    except ValidationError as exc:
        for key, messages_ in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages_)
    if errors:
        raise ValidationError(errors)


def _store_messages(campaign: Campaign, messages: Mapping[str, MessageContent], user: User | None) -> None:
    """Write the campaign's own copy of each channel's template (and drop unused channels)."""
    for channel in TemplateChannel.values:
        field = f"{channel}_template"
        current = getattr(campaign, field)
        if channel in campaign.channels:
            saved = template_save(user=user, name=f"{campaign.name} · {TemplateChannel(channel).label}",
                                  channel=channel, content=messages[channel], template=current,
                                  is_reusable=False)
            setattr(campaign, field, saved)
        else:
            setattr(campaign, field, None)


@transaction.atomic
def campaign_create(*, user: User | None, name: str, segment: Segment, channels: Iterable[str],
                    messages: Mapping[str, MessageContent], survey: Survey | None = None, **fields: Any) -> Campaign:
    """A draft campaign. `fields` are the other model fields (offer, holdout share, …);
    `survey`: the survey each recipient is invited to answer (surveys keep the link)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown campaign fields: {sorted(unknown)}")
    campaign = Campaign(name=(name or "").strip(), segment=segment, channels=list(channels), created_by=user,
                        **fields)
    _validate_campaign(campaign, messages)
    _store_messages(campaign, messages, user)
    campaign.save()
    if survey is not None:
        survey_attach(source=f"campaign:{campaign.pk}", survey=survey)
    audit_record(actor=Actor.of(user), action=AuditAction.CREATE, entity="campaigns.campaign",
                 entity_id=campaign.pk, changes={"name": (None, campaign.name)})
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, user: User | None, messages: Mapping[str, MessageContent],
                    survey: Survey | bool | None = False, **fields: Any) -> Campaign:
    """Change a draft or scheduled campaign; a launched one is history and stays as sent.
    `survey`: the survey to carry (None: none; False, the default: leave it as it is)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not campaign.is_editable:
        raise ValidationError(_("Una campaña enviada o cancelada ya no se puede modificar."))
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown campaign fields: {sorted(unknown)}")
    for key, value in fields.items():
        setattr(campaign, key, value.strip() if key == "name" else value)
    _validate_campaign(campaign, messages)
    _store_messages(campaign, messages, user)
    if survey is not False:
        survey_attach(source=f"campaign:{campaign.pk}", survey=survey if isinstance(survey, Survey) else None)
    if campaign.status == CampaignStatus.SCHEDULED and "scheduled_at" in fields:
        if campaign.scheduled_at is None or campaign.scheduled_at <= timezone.now():
            campaign.status = CampaignStatus.DRAFT  # no future date: back to a draft to send by hand
        else:
            from .tasks import campaign_enqueue_at

            pk, when = campaign.pk, campaign.scheduled_at
            transaction.on_commit(lambda: campaign_enqueue_at(pk, when))
    campaign.save()
    audit_record(actor=Actor.of(user), action=AuditAction.UPDATE, entity="campaigns.campaign",
                 entity_id=campaign.pk, changes={k: (None, str(v)) for k, v in fields.items()})
    return campaign


def campaign_messages(campaign: Campaign) -> dict[str, MessageContent]:
    """The campaign's content per channel, as the forms and the API edit it."""
    out = {}
    for channel in TemplateChannel.values:
        template = campaign.template_for(channel)
        if template is not None:
            out[channel] = MessageContent(subject=template.subject, body_text=template.body_text,
                                          body_html=template.body_html, topic=template.topic,
                                          language=template.language)
    return out


def _offer_spec(campaign: Campaign, now: datetime, codes: Mapping[int, str]) -> dict[str, Any] | None:
    if not campaign.has_offer:
        return None
    return {"codes": dict(codes), "description": offer_text(campaign),
            "valid_until": now + timedelta(days=campaign.offer_valid_days)}


def offer_text(campaign: Campaign) -> str:
    """How the offer reads in a message, unless the campaign describes it itself."""
    if campaign.offer_description:
        return campaign.offer_description
    if campaign.offer_kind == OfferKind.PERCENT:
        text = _("%(v)s %% de descuento") % {"v": format_number(campaign.offer_value,
                                                                 0 if campaign.offer_value % 1 == 0 else 2)}
    elif campaign.offer_kind == OfferKind.AMOUNT:
        text = _("%(v)s de descuento") % {"v": format_money(campaign.offer_value)}
    else:
        return ""
    if campaign.offer_min_purchase:
        text += " " + _("en compras desde %(m)s") % {"m": format_money(campaign.offer_min_purchase)}
    return text


def campaign_preview(campaign: Campaign, customer: Customer, *, channel: str | None = None,
                     messages: Mapping[str, MessageContent] | None = None) -> dict[str, Any]:
    """The message `customer` would receive, rendered with their real data.

    `messages` previews unsaved content (the form while editing). The coupon code shown is a
    placeholder (the templating's sample code): real codes are issued per recipient at
    launch. Returns {"channel", "subject", "text", "html", "errors"}; a part whose template
    has errors is empty and its messages are in "errors".
    """
    messages = messages if messages is not None else campaign_messages(campaign)
    channel = channel or next(iter(messages), TemplateChannel.EMAIL)
    content = messages.get(channel) or MessageContent()
    if channel == TemplateChannel.SMS:
        content = MessageContent(body_text=content.body_text)
    offer = _offer_spec(campaign, timezone.now(), {})
    rendered = preview(content.subject, content.body_text, content.body_html, customer.pk, offer=offer)
    sample = survey_content_sample(f"campaign:{campaign.pk}") if campaign.pk else None
    if sample is not None and not rendered["errors"]:
        rendered["text"], rendered["html"] = message_with_survey(rendered["text"], rendered["html"], sample)
    return {"channel": channel, **rendered}


def campaign_reach(campaign: Campaign) -> dict[str, Any]:
    """What a launch now would do: segment size, holdout, and who has an allowed channel.

    The contact budget and quiet hours are applied by the outbox at launch, so this is an
    upper bound on what goes out now; the results page shows the actual decisions.
    """
    ids = list(segment_customers(campaign.segment).order_by("pk").values_list("pk", flat=True))
    holdout: NDArray[np.bool_] | list[bool] = (
        holdout_assign(ids, float(campaign.holdout_share), _seed(campaign)) if ids else [])
    treated = [cid for cid, held in zip(ids, holdout, strict=True) if not held]
    chosen = channel_choose(treated, list(campaign.channels), kind=MESSAGE_KIND) if treated else {}
    by_channel: dict[str, int] = {}
    for channel in chosen.values():
        if channel:
            by_channel[channel] = by_channel.get(channel, 0) + 1
    reachable = sum(by_channel.values())
    return {"segment": len(ids), "holdout": len(ids) - len(treated), "treated": len(treated),
            "reachable": reachable, "no_channel": len(treated) - reachable, "by_channel": by_channel}


def _seed(campaign: Campaign) -> int:
    return int(campaign.pk)


class _Clock:
    """Seconds spent in each phase of a launch, for the log (large campaigns)."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps.append((name, now - self.last))
        self.last = now

    def __str__(self) -> str:
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.laps)
        return f"{parts}; total {time.perf_counter() - self.start:.1f} s"


@dataclass
class LaunchSummary:
    campaign: Campaign
    launched: bool  # False when the campaign had already been launched (nothing done)
    counts: dict[str, int]


def _recipient_counts(campaign: Campaign) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in CampaignRecipient.objects.filter(campaign=campaign).values_list("status", flat=True).iterator():
        counts[status] = counts.get(status, 0) + 1
    return counts


def _render(template: MessageTemplate, context: dict[str, Any]) -> tuple[str, str, str]:
    return message_render(template.subject, template.body_text, template.body_html, context)


@transaction.atomic
def campaign_launch(campaign: Campaign, *, now: datetime | None = None, user: User | None = None) -> LaunchSummary:
    """Send the campaign now to its segment's current members (minus the holdout).

    Idempotent: the campaign row is locked, and a campaign that is no longer a draft or
    scheduled is returned unchanged with `launched=False`. A cancelled one is refused.
    """
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update(of=("self",)).select_related(
        "segment", "email_template", "sms_template").get(pk=campaign.pk)
    if campaign.status == CampaignStatus.CANCELLED:
        raise ValidationError(_("La campaña está cancelada."))
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        return LaunchSummary(campaign, False, _recipient_counts(campaign))
    if not campaign.channels or any(campaign.template_for(c) is None for c in campaign.channels):
        raise ValidationError(_("La campaña no tiene mensaje para todos sus canales."))

    clock = _Clock()
    ids = list(segment_customers(campaign.segment).order_by("pk").values_list("pk", flat=True))
    holdout: NDArray[np.bool_] | list[bool] = (
        holdout_assign(ids, float(campaign.holdout_share), _seed(campaign)) if ids else [])
    treated = [cid for cid, held in zip(ids, holdout, strict=True) if not held]
    held_out = [cid for cid, held in zip(ids, holdout, strict=True) if held]
    clock.lap("members")
    known = GateFacts()  # what channel_choose reads, messages_queue reuses
    chosen = channel_choose(treated, list(campaign.channels), kind=MESSAGE_KIND, known=known) if treated else {}
    reachable = [cid for cid in treated if chosen.get(cid)]
    clock.lap("channels")

    coupons = coupons_issue(
        customer_ids=reachable, name=campaign.name[:120], source=CouponSource.CAMPAIGN, kind=campaign.offer_kind,
        value=campaign.offer_value, valid_from=now, valid_until=now + timedelta(days=campaign.offer_valid_days),
        min_purchase=campaign.offer_min_purchase, now=now) if campaign.has_offer and reachable else {}
    clock.lap("coupons")
    offer = _offer_spec(campaign, now, {cid: c.code for cid, c in coupons.items()})
    source = f"campaign:{campaign.pk}"
    surveys = survey_content(source=source, customer_ids=reachable, now=now)  # {} without a survey
    clock.lap("survey links")
    requests = []
    for start in range(0, len(reachable), BATCH):
        chunk = reachable[start:start + BATCH]
        contexts = recipients_context(chunk, offer=offer, now=now)
        for cid in chunk:
            channel = chosen[cid]
            assert channel is not None  # reachable: chosen a channel
            template = campaign.template_for(channel)
            assert template is not None  # checked above for every channel of the campaign
            survey_block = surveys.get(cid)
            if survey_block is not None:
                contexts[cid]["encuesta_enlace"] = survey_block.url
            subject, text, html = _render(template, contexts[cid])
            if survey_block is not None:
                text, html = message_with_survey(text, html, survey_block)
            requests.append(MessageRequest(
                customer_id=cid, channel=channel, kind=MESSAGE_KIND, source=source,
                dedupe_key=f"{source}:{cid}", subject=subject, body_text=text, body_html=html,
                topic=template.topic, over_budget=campaign.over_budget))
    clock.lap("render")
    decisions = messages_queue(requests, now=now, known=known) if requests else []
    clock.lap("queue")
    by_customer = {d.request.customer_id: d for d in decisions}

    no_channel = RecipientStatus.NO_CHANNEL
    rows: list[tuple] = [(cid, RecipientGroup.HOLDOUT, "", RecipientStatus.HOLDOUT, "", None, None)
                         for cid in held_out]
    unsent_coupons = []
    for cid in treated:
        decision = by_customer.get(cid)
        coupon_id = coupons[cid].pk if cid in coupons else None
        if decision is None:
            rows.append((cid, RecipientGroup.TREATED, "", no_channel, "", None, None))
            continue
        if decision.status in (RecipientStatus.SKIPPED, RecipientStatus.DUPLICATE) and coupon_id is not None:
            unsent_coupons.append(coupon_id)  # a coupon nobody will read must not stay usable
        rows.append((cid, RecipientGroup.TREATED, chosen[cid], decision.status, decision.reason[:200],
                     decision.message_id, coupon_id))
    insert_constant(CampaignRecipient, {"campaign": campaign.pk, "created_at": now},
            ["customer", "group", "channel", "status", "reason", "message_id", "coupon"], rows)
    coupons_deactivate(unsent_coupons)
    if surveys:  # a link nobody received must not count as an invitation
        invitations_unsent(source=source, customer_ids=[
            d.request.customer_id for d in decisions
            if d.status in (RecipientStatus.SKIPPED, RecipientStatus.DUPLICATE)])
    clock.lap("recipients")
    # "Sending" while the outbox holds some of its messages; nothing to wait for: sent.
    waiting = any(d.status in (RecipientStatus.QUEUED, RecipientStatus.DEFERRED) for d in decisions)
    campaign.status = CampaignStatus.SENDING if waiting else CampaignStatus.SENT
    campaign.launched_at = now
    campaign.save(update_fields=["status", "launched_at", "updated_at"])
    counts = _recipient_counts(campaign)
    audit_record(actor=Actor.of(user) if user else Actor(None, "campaign launch"), action=AuditAction.UPDATE,
                 entity="campaigns.campaign", entity_id=campaign.pk,
                 changes={"status": (CampaignStatus.DRAFT, campaign.status)},
                 context={"recipients": counts, "coupons": len(coupons)})
    log.info("campaign %s launched to %s members: %s", campaign.pk, len(ids), clock)
    return LaunchSummary(campaign, True, counts)


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, user: User | None, now: datetime | None = None) -> Campaign:
    """Confirm a draft whose `scheduled_at` is in the future; a task launches it then."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.DRAFT:
        raise ValidationError(_("Solo se programa una campaña en borrador."))
    if campaign.scheduled_at is None or campaign.scheduled_at <= now:
        raise ValidationError({"scheduled_at": _("Indique una fecha futura para programar el envío.")})
    campaign.status = CampaignStatus.SCHEDULED
    campaign.save(update_fields=["status", "updated_at"])
    audit_record(actor=Actor.of(user), action=AuditAction.UPDATE, entity="campaigns.campaign",
                 entity_id=campaign.pk, changes={"status": (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)})
    from .tasks import campaign_enqueue_at

    transaction.on_commit(lambda: campaign_enqueue_at(campaign.pk, campaign.scheduled_at))
    return campaign


def campaign_send(*, campaign: Campaign, user: User | None, now: datetime | None = None) -> LaunchSummary | Campaign:
    """The "send" button: schedule it when it has a future date, otherwise launch it now."""
    now = now or timezone.now()
    if campaign.scheduled_at is not None and campaign.scheduled_at > now:
        return campaign_schedule(campaign=campaign, user=user, now=now)
    return campaign_launch(campaign, now=now, user=user)


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, user: User | None) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not campaign.is_editable:
        raise ValidationError(_("Solo se cancela una campaña que aún no se ha enviado."))
    previous = campaign.status
    campaign.status = CampaignStatus.CANCELLED
    campaign.save(update_fields=["status", "updated_at"])
    audit_record(actor=Actor.of(user), action=AuditAction.UPDATE, entity="campaigns.campaign",
                 entity_id=campaign.pk, changes={"status": (previous, CampaignStatus.CANCELLED)})
    return campaign


def campaigns_launch_due(*, now: datetime | None = None) -> list[int]:
    """Launch every scheduled campaign whose time has come; returns their ids."""
    now = now or timezone.now()
    launched = []
    for pk in Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now) \
            .order_by("scheduled_at", "pk").values_list("pk", flat=True):
        summary = campaign_launch(Campaign(pk=pk), now=now)
        if summary.launched:
            launched.append(pk)
    return launched


def campaigns_finish_sending(*, sources: Iterable[str] | None = None) -> list[int]:
    """Mark as sent the campaigns whose messages have all left the outbox (sent, failed,
    bounced or cancelled: nothing queued, deferred or being sent).

    Run by the outbox worker after each batch, for the campaigns in it (`sources`), and by
    the periodic tick for all of them.
    """
    ids = campaigns_sending_finished(sources=sources)
    Campaign.objects.filter(pk__in=ids, status=CampaignStatus.SENDING).update(status=CampaignStatus.SENT)
    return ids


def campaigns_outbox_batch_done(sources: set[str]) -> list[int]:
    """The outbox worker's hook (registered in CampaignsConfig.ready)."""
    ours = {s for s in sources if s.startswith("campaign:")}
    return campaigns_finish_sending(sources=ours) if ours else []
