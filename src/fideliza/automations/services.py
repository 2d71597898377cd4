"""Writing automations and running them.

`automations_run` (every 15 minutes, settings.FIDELIZA_SCHEDULE) enrols the new
occurrences of every active automation's trigger and runs the steps that are due, in
batches, through the engagement layer's `messages_queue` (consent, the one contact
budget across channels, quiet hours). Running it twice never enrols or sends twice:
enrolments are unique per (automation, customer, trigger key), a step runs once per
enrolment (`StepRun` unique), and each message's dedupe key is the enrolment and step.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record
from fideliza.engagement.models import MessageChannel as Channel
from fideliza.insights.selectors import customers_active
from fideliza.loyalty.coupons import IssuedCoupon, coupons_deactivate, coupons_issue
from fideliza.loyalty.models import CouponSource
from fideliza.sales.selectors import last_order_at

from .models import (
    ActivationScope,
    Automation,
    AutomationStep,
    Enrollment,
    EnrollmentState,
    FollowUpAssignTo,
    Group,
    Occurrence,
    OccurrenceOutcome,
    OfferKind,
    RunStatus,
    StepCondition,
    StepKind,
    StepRun,
    TriggerKind,
)
from .triggers import (
    Hit,
    TierChange,
    pending_expiry_hits,
    tier_changes,
    tier_seen_update,
    trigger_hits,
    trigger_params_clean,
)

BATCH = 500
SUBJECT_MAX = 300  # engagement's Message.subject
logger = logging.getLogger(__name__)
CHANNELS = tuple(Channel.values)
AUTOMATION_FIELDS = ("name", "description", "trigger_kind", "trigger_params", "channels", "topic",
                     "holdout_share", "over_budget", "conversion_days", "is_active")
STEP_FIELDS = ("position", "delay_days", "delay_hours", "condition", "kind", "email_subject", "email_text",
               "email_html", "sms_text", "offer_kind", "offer_value", "offer_valid_days", "offer_min_purchase",
               "followup_title", "followup_text", "followup_due_days", "followup_assign_to", "followup_role",
               "followup_priority")


# --- editing -----------------------------------------------------------------------------

def _template_errors(step: AutomationStep) -> list[str]:
    from fideliza.engagement.templating import template_validate

    errors = []
    names = (("followup_title", "followup_text") if step.kind == StepKind.FOLLOWUP
             else ("email_subject", "email_text", "sms_text", "email_html"))
    for name in names:
        source = getattr(step, name)
        if source:
            label = getattr(AutomationStep._meta.get_field(name), "verbose_name", name)
            errors += [f"{label}: {e}" for e in template_validate(source, html=name == "email_html")]
    return errors


def _validate(automation: Automation, steps: Sequence[AutomationStep]) -> None:
    """All the problems at once (parameters, channels, fields, each step's templates)."""
    errors: dict[str, list[str]] = defaultdict(list)
    try:
        automation.trigger_params = trigger_params_clean(automation.trigger_kind, automation.trigger_params)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors[field] += messages
    channels = list(dict.fromkeys(automation.channels or []))
    if not channels or any(c not in CHANNELS for c in channels):
        errors["channels"].append(_("Elija al menos un canal: e-mail, SMS o webhook."))
    automation.channels = channels
    try:
        automation.full_clean(exclude=list(errors))
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors[field] += messages
    positions = [s.position for s in steps]
    if len(set(positions)) != len(positions):
        errors["steps"].append(_("Dos pasos no pueden tener el mismo número."))
    if automation.is_active and not steps:
        errors["steps"].append(_("Una automatización activa necesita al menos un paso."))
    for step in steps:
        label = _("Paso %(n)s") % {"n": step.position}
        try:
            step.full_clean(exclude=["automation"], validate_unique=False)
        except ValidationError as exc:
            errors["steps"] += [f"{label}: {m}" for m in exc.messages]
        if step.kind == StepKind.FOLLOWUP:
            if not step.followup_title.strip():
                errors["steps"].append(_("%(step)s: escriba qué debe hacer la persona que recibe el seguimiento.")
                                       % {"step": label})
            if step.offer_kind:
                errors["steps"].append(_("%(step)s: un seguimiento no lleva oferta; póngala en un paso de mensaje.")
                                       % {"step": label})
            errors["steps"] += [f"{label}: {e}" for e in _template_errors(step)]
            continue
        if Channel.EMAIL in channels and not (step.email_subject and (step.email_text or step.email_html)):
            errors["steps"].append(_("%(step)s: falta el asunto o el texto del e-mail.") % {"step": label})
        if any(c != Channel.EMAIL for c in channels) and not step.sms_text:
            errors["steps"].append(_("%(step)s: falta el texto corto (SMS o webhook).") % {"step": label})
        if step.offer_kind == OfferKind.PERCENT and step.offer_value > 100:
            errors["steps"].append(_("%(step)s: un descuento porcentual no puede superar el 100 %%.")
                                   % {"step": label})
        if step.offer_kind and step.offer_value <= 0:
            errors["steps"].append(_("%(step)s: indique el valor de la oferta.") % {"step": label})
        errors["steps"] += [f"{label}: {e}" for e in _template_errors(step)]
    if any(errors.values()):
        raise ValidationError({k: v for k, v in errors.items() if v})


@transaction.atomic
def automation_save(*, actor: Actor, data: dict[str, Any], steps: Sequence[dict[str, Any]],
                    automation: Automation | None = None, include_existing: bool = False) -> Automation:
    """Create or update an automation and replace its steps.

    Steps already run keep their log (`StepRun` stores the position, not the row), and
    active enrolments continue at the position they were due for. Saving it active when it
    was not switches it on as `automation_set_active` does (`include_existing`: whether the
    customers who already match enter too; by default only new causes).
    """
    creating = automation is None
    was_active = bool(automation and automation.pk
                      and Automation.objects.filter(pk=automation.pk, is_active=True).exists())
    automation = automation or Automation(created_by=actor.user)
    for name in AUTOMATION_FIELDS:
        if name in data:
            setattr(automation, name, data[name])
    new_steps = [AutomationStep(**{k: v for k, v in s.items() if k in STEP_FIELDS}) for s in steps]
    new_steps.sort(key=lambda s: s.position)
    _validate(automation, new_steps)
    automation.save()
    automation.steps.all().delete()
    for step in new_steps:
        step.automation = automation
    AutomationStep.objects.bulk_create(new_steps)
    # The survey each step carries (kept by the surveys app under the step's source name),
    # when the caller says (the web form does for every step; the API leaves them as they are).
    if any("survey" in s for s in steps):
        from fideliza.surveys.services import survey_sends_replace

        survey_sends_replace(prefix=f"automation:{automation.pk}:step:", sends={
            step_source(automation, int(s["position"])): s["survey"] for s in steps if s.get("survey") is not None})
    context: dict[str, Any] = {"name": automation.name, "active": automation.is_active, "steps": len(new_steps)}
    if automation.is_active and not was_active:
        left_out = _activate(automation, include_existing=include_existing, now=timezone.now())
        context |= {"include_existing": include_existing, "existing_left_out": left_out}
    audit_record(actor=actor, action=AuditAction.CREATE if creating else AuditAction.UPDATE,
                 entity="automations.automation", entity_id=automation.pk, context=context)
    return automation


@transaction.atomic
def automation_set_active(*, actor: Actor, automation: Automation, active: bool, include_existing: bool = False,
                          now: datetime | None = None) -> Automation:
    """Switch an automation on or off.

    Switching on asks who may enter: by default only causes from this moment on (a first
    purchase, a birthday, a lapse, points entering the notice period after now);
    `include_existing` also enrols, at the next run, every customer who already matches
    (see `automation_activation_preview` for how many). Switching on an active automation
    changes nothing.
    """
    if active and not automation.steps.exists():
        raise ValidationError({"steps": _("Una automatización activa necesita al menos un paso.")})
    current = Automation.objects.select_for_update().get(pk=automation.pk)
    context: dict[str, Any] = {"active": active}
    if active and not current.is_active:
        left_out = _activate(automation, include_existing=include_existing, now=now or timezone.now())
        context |= {"include_existing": include_existing, "existing_left_out": left_out}
    automation.is_active = active
    automation.save(update_fields=["is_active", "updated_at"])
    audit_record(actor=actor, action=AuditAction.UPDATE, entity="automations.automation",
                 entity_id=automation.pk, context=context)
    return automation


# --- enrolment ---------------------------------------------------------------------------

def _delay(step: AutomationStep) -> timedelta:
    return timedelta(days=step.delay_days, hours=step.delay_hours)


def holdout_draw(automation: Automation, hits: Sequence[Hit]) -> np.ndarray:
    """Holdout membership of new enrolments, decided one by one.

    Each occurrence (customer and trigger key) is hashed with the automation as the key
    (`holdout_member`): the share holds on average even when a run enrols one customer
    (an exact split of each run's batch would round a batch of one to nobody), the draw is
    the same if the run is repeated, and one customer's birthdays are drawn independently
    year by year.
    """
    from fideliza.analytics.uplift import holdout_member

    share = float(automation.holdout_share)
    if not hits or share <= 0:
        return np.zeros(len(hits), dtype=bool)
    keys = [f"{h.customer_id}:{h.trigger_key}" for h in hits]
    return np.asarray(holdout_member(keys, share, automation.pk), dtype=bool)


def _taken_keys(automation: Automation, customer_ids: Iterable[int], *,
                include_existing: bool = False) -> set[tuple[int, str]]:
    """(customer, key) of the occurrences already dealt with: enrolled, folded into an
    enrolment, or holding when the automation was switched on (unless `include_existing`:
    switching on again forgets those). Looked up in chunks."""
    ids = sorted(set(customer_ids))
    taken: set[tuple[int, str]] = set()
    for start in range(0, len(ids), 5000):
        # By customer only: the keys of one customer's enrolments are few (one per birthday,
        # per lapse …), while a list of every hit's key could outgrow SQLite's parameters.
        chunk = ids[start:start + 5000]
        taken |= set(Enrollment.objects.filter(automation=automation, customer_id__in=chunk)
                     .values_list("customer_id", "trigger_key"))
        occurrences = Occurrence.objects.filter(automation=automation, customer_id__in=chunk)
        if include_existing:
            occurrences = occurrences.exclude(outcome=OccurrenceOutcome.EXISTING)
        taken |= set(occurrences.values_list("customer_id", "trigger_key"))
    return taken


def _new_hits(automation: Automation, hits: Sequence[Hit], *, include_existing: bool = False) -> list[Hit]:
    """Hits whose occurrence has not been dealt with yet."""
    if not hits:
        return []
    taken = _taken_keys(automation, {h.customer_id for h in hits}, include_existing=include_existing)
    return [h for h in hits if (h.customer_id, h.trigger_key) not in taken]


@dataclass(frozen=True)
class ActiveEnrollment:
    pk: int
    trigger_key: str
    group: str
    enrolled_at: datetime


def _active_enrollments(automation: Automation, customer_ids: Iterable[int]) -> dict[int, ActiveEnrollment]:
    """{customer id: their active enrolment in `automation`} (at most one: a constraint)."""
    ids = sorted(set(customer_ids))
    out: dict[int, ActiveEnrollment] = {}
    for start in range(0, len(ids), 5000):
        for pk, cid, key, group, at in (Enrollment.objects.filter(
                automation=automation, state=EnrollmentState.ACTIVE, customer_id__in=ids[start:start + 5000])
                .values_list("pk", "customer_id", "trigger_key", "group", "enrolled_at")):
            out[cid] = ActiveEnrollment(pk, key, group, at)
    return out


@dataclass(frozen=True)
class EnrolmentPlan:
    """What the new occurrences of a run become (customers in id order)."""

    enrol: list[Hit]  # the first new occurrence of each customer with no active enrolment
    fold: list[Hit]  # the others: folded into the customer's active (or new) enrolment


def enrolment_plan(automation: Automation, hits: Sequence[Hit], *, include_existing: bool = False) -> EnrolmentPlan:
    """Split new hits into one enrolment per customer and occurrences to fold (reads only).

    A customer's occurrences are taken in key order, so of several lots of points about to
    expire the earliest date starts the enrolment ("expiry:2026-12-01" < "expiry:2027-01-05").
    """
    new = sorted(_new_hits(automation, hits, include_existing=include_existing),
                 key=lambda h: (h.customer_id, h.trigger_key))
    active = _active_enrollments(automation, {h.customer_id for h in new})
    enrol: list[Hit] = []
    fold: list[Hit] = []
    for hit in new:
        if hit.customer_id in active or (enrol and enrol[-1].customer_id == hit.customer_id):
            fold.append(hit)
        else:
            enrol.append(hit)
    return EnrolmentPlan(enrol, fold)


def enrollments_create(*, automation: Automation, hits: Sequence[Hit], now: datetime) -> dict[str, int]:
    """Enrol the hits not dealt with yet: per customer, the first new occurrence starts an
    enrolment unless one is active; every other one is folded into the active enrolment (an
    `Occurrence`, nothing sent). Returns {"treated": n, "holdout": n, "folded": n}.

    Call inside a transaction. Safe against a concurrent run: the insert skips rows that
    break the once-per-key or the one-active constraint (on PostgreSQL it waits for the
    other transaction and then skips), and the occurrences are folded into whichever
    enrolment is active once the insert is done.
    """
    steps = list(automation.steps.order_by("position"))
    if not steps:
        return {"treated": 0, "holdout": 0, "folded": 0}
    plan = enrolment_plan(automation, hits)
    if not plan.enrol and not plan.fold:
        return {"treated": 0, "holdout": 0, "folded": 0}
    first = steps[0]
    holdout = holdout_draw(automation, plan.enrol)
    rows = [Enrollment(automation=automation, customer_id=h.customer_id, trigger_key=h.trigger_key,
                       context=h.context, group=Group.HOLDOUT if out else Group.TREATED, enrolled_at=now,
                       next_step=first.position, next_due_at=now + _delay(first))
            for h, out in zip(plan.enrol, holdout, strict=True)]
    # Customer order on both sides: two runs inserting the same customers lock the same
    # index entries in the same order, so they wait for each other instead of deadlocking.
    Enrollment.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    everyone = sorted([*plan.enrol, *plan.fold], key=lambda h: (h.customer_id, h.trigger_key))
    active = _active_enrollments(automation, {h.customer_id for h in everyone})
    mine = {(h.customer_id, h.trigger_key) for h in plan.enrol}
    enrolled = [a for cid, a in active.items() if (cid, a.trigger_key) in mine and a.enrolled_at == now]
    folded = [Occurrence(automation=automation, customer_id=h.customer_id, trigger_key=h.trigger_key,
                         context=h.context, outcome=OccurrenceOutcome.FOLDED,
                         enrollment_id=active[h.customer_id].pk, recorded_at=now)
              for h in everyone
              # No active enrolment any more (a concurrent run's one just ended): left for the
              # next run, which enrols it as a new journey.
              if h.customer_id in active and active[h.customer_id].trigger_key != h.trigger_key]
    Occurrence.objects.bulk_create(folded, batch_size=1000, ignore_conflicts=True)
    n_holdout = sum(1 for a in enrolled if a.group == Group.HOLDOUT)
    return {"treated": len(enrolled) - n_holdout, "holdout": n_holdout, "folded": len(folded)}


# --- switching on ------------------------------------------------------------------------

def existing_hits(automation: Automation, now: datetime) -> list[Hit]:
    """The occurrences that hold at `now` (the customers who "already match")."""
    hits = trigger_hits(automation, now, tier_changes_now=_tier_changes_for([automation], now))
    if automation.trigger_kind == TriggerKind.POINTS_EXPIRING:
        # Points already inside the notice period whose notice loyalty has not written yet
        # (its daily job runs at night): they are as old as the ones already noticed.
        seen = {(h.customer_id, h.trigger_key) for h in hits}
        hits += [h for h in pending_expiry_hits(automation, now) if (h.customer_id, h.trigger_key) not in seen]
    return hits


def automation_activation_preview(*, automation: Automation, now: datetime | None = None) -> int:
    """How many customers already match: those switching on "including who already
    matches" would enrol at the next run (writes nothing)."""
    plan = enrolment_plan(automation, existing_hits(automation, now or timezone.now()), include_existing=True)
    return len({h.customer_id for h in plan.enrol})


def _activate(automation: Automation, *, include_existing: bool, now: datetime) -> int:
    """Mark `automation` switched on at `now`; unless `include_existing`, record every
    occurrence holding now as existing, so only causes from now on enrol. Returns how many
    customers were left out (0 when they are included). Call inside the transaction that
    saves `is_active`, so no run sees the automation active without that record.

    What was left out at an earlier activation is forgotten: it is this activation's choice
    that counts (switching on again "including who already matches" lets them in).
    """
    Occurrence.objects.filter(automation=automation, outcome=OccurrenceOutcome.EXISTING).delete()
    left_out = 0
    if not include_existing:
        new = sorted(_new_hits(automation, existing_hits(automation, now)),
                     key=lambda h: (h.customer_id, h.trigger_key))
        Occurrence.objects.bulk_create(
            [Occurrence(automation=automation, customer_id=h.customer_id, trigger_key=h.trigger_key,
                        context=h.context, outcome=OccurrenceOutcome.EXISTING, recorded_at=now) for h in new],
            batch_size=2000, ignore_conflicts=True)
        left_out = len({h.customer_id for h in new})
    automation.activated_at = now
    automation.activation_scope = ActivationScope.EXISTING if include_existing else ActivationScope.NEW
    Automation.objects.filter(pk=automation.pk).update(activated_at=now, activation_scope=automation.activation_scope)
    return left_out


def occurrences_erase(customer_ids: list[int], values: set[str]) -> int:
    """Erasure handler of `Occurrence` (customers.privacy): the erased customers' occurrences
    keep their keys (so nothing is enrolled again for them) but lose their trigger data,
    and folded referral thanks lose the erased friend's name. Returns the rows changed."""
    from fideliza.customers.privacy import ERASED
    from fideliza.loyalty.selectors import referral_ids_of_referred

    count = Occurrence.objects.filter(customer_id__in=customer_ids).exclude(context={}).update(context={})
    keys = [f"referral:{pk}" for pk in referral_ids_of_referred(customer_ids)]
    for start in range(0, len(keys), 500):
        for pk, context in (Occurrence.objects.filter(trigger_key__in=keys[start:start + 500])
                            .values_list("pk", "context")):
            if context.get("friend"):
                Occurrence.objects.filter(pk=pk).update(context={**context, "friend": ERASED})
                count += 1
    return count


# --- running due steps -------------------------------------------------------------------

def _purchased_since(enrollments: Sequence[Enrollment]) -> set[int]:
    """Ids of the enrolments whose customer bought after enrolling."""
    if not enrollments:
        return set()
    first = min(e.enrolled_at for e in enrollments)
    latest = last_order_at({e.customer_id for e in enrollments}, after=first)
    return {e.pk for e in enrollments if e.customer_id in latest and latest[e.customer_id] > e.enrolled_at}


def _active_again(enrollments: Sequence[Enrollment]) -> set[int]:
    """Customers the current snapshot says are active (inactivity no longer holds)."""
    return customers_active({e.customer_id for e in enrollments})


@dataclass
class Decision:
    """What a due step does for one enrolment (before the delivery layer is asked)."""

    enrollment: Enrollment
    step: AutomationStep
    action: str  # "send", "holdout", "stop"
    reason: str = ""
    channel: str | None = None


def steps_decide(automation: Automation, steps: dict[int, AutomationStep],
                 enrollments: Sequence[Enrollment]) -> list[Decision]:
    """Evaluate each due step's condition and the enrolment's group (reads only)."""
    purchased = _purchased_since(enrollments)
    needs_activity = [e for e in enrollments
                      if getattr(steps.get(e.next_step or -1), "condition", "") == StepCondition.ONLY_IF_INACTIVE]
    active_again = _active_again(needs_activity) if needs_activity else set()
    decisions = []
    for e in enrollments:
        step = steps.get(e.next_step or -1) or _next_step(steps, (e.next_step or 0) - 1)
        if step is None:
            continue
        stop = ""
        if step.condition in (StepCondition.STOP_IF_PURCHASED, StepCondition.ONLY_IF_INACTIVE) and e.pk in purchased:
            stop = "purchased"
        elif step.condition == StepCondition.ONLY_IF_INACTIVE and e.customer_id in active_again:
            stop = "active_again"
        if stop:
            decisions.append(Decision(e, step, "stop", stop))
        elif e.group == Group.HOLDOUT:
            decisions.append(Decision(e, step, "holdout", "holdout"))
        else:
            decisions.append(Decision(e, step, "send"))
    return decisions


def _next_step(steps: dict[int, AutomationStep], after: int) -> AutomationStep | None:
    later = [p for p in steps if p > after]
    return steps[min(later)] if later else None


def _offer_description(step: AutomationStep) -> str:
    if step.offer_kind == OfferKind.PERCENT:
        return _("%(v)s %% de descuento") % {"v": step.offer_value.normalize()}
    return _("%(v)s € de descuento") % {"v": step.offer_value}


def _coupons_issue(automation: Automation, step: AutomationStep, customer_ids: Sequence[int],
                   now: datetime) -> dict[int, IssuedCoupon]:
    """One single-use coupon per recipient, through loyalty's coupon service."""
    sources: dict[str, str] = {
        TriggerKind.WELCOME: CouponSource.WELCOME, TriggerKind.REFERRAL_THANKS: CouponSource.REFERRAL,
        TriggerKind.INACTIVITY: CouponSource.RECOVERY, TriggerKind.WINBACK: CouponSource.RECOVERY,
    }
    return coupons_issue(
        customer_ids=customer_ids, name=f"{automation.name} · {_('paso')} {step.position}"[:120],
        source=sources.get(automation.trigger_kind, CouponSource.CAMPAIGN), kind=step.offer_kind,
        value=step.offer_value, valid_from=now, valid_until=now + timedelta(days=step.offer_valid_days),
        min_purchase=step.offer_min_purchase, audit_actor=Actor.system(f"automation:{automation.pk}"), now=now)


def _render(step: AutomationStep, channel: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of the step for one recipient on `channel`."""
    from fideliza.engagement.templating import template_render

    if channel == Channel.EMAIL:
        subject = " ".join(template_render(step.email_subject, context).split())  # one line
        return (subject[:SUBJECT_MAX],
                template_render(step.email_text, context) if step.email_text else "",
                template_render(step.email_html, context, html=True) if step.email_html else "")
    return "", template_render(step.sms_text, context), ""


def step_source(automation: Automation, position: int) -> str:
    return f"automation:{automation.pk}:step:{position}"


def step_dedupe_key(enrollment: Enrollment, position: int) -> str:
    return f"automation:{enrollment.automation_id}:enrollment:{enrollment.pk}:step:{position}"


def _send(automation: Automation, decisions: Sequence[Decision], now: datetime) -> list[StepRun]:
    """Queue the messages of the treated decisions through the delivery layer."""
    from fideliza.engagement.services import MessageRequest, channel_choose, messages_queue
    from fideliza.engagement.templating import recipients_context
    from fideliza.surveys.services import invitations_unsent, message_with_survey, survey_content

    runs: list[StepRun] = []
    chosen = channel_choose([d.enrollment.customer_id for d in decisions], list(automation.channels),
                            kind="marketing")
    by_step: dict[int, list[Decision]] = defaultdict(list)
    for d in decisions:
        d.channel = chosen.get(d.enrollment.customer_id)
        if d.channel is None:
            runs.append(_run(d, now, RunStatus.SKIPPED, "no_channel"))
        else:
            by_step[d.step.position].append(d)
    for group in by_step.values():
        step = group[0].step
        ids = [d.enrollment.customer_id for d in group]
        coupons = _coupons_issue(automation, step, ids, now) if step.offer_kind else {}
        offer = ({"codes": {cid: c.code for cid, c in coupons.items()}, "description": _offer_description(step),
                  "valid_until": now + timedelta(days=step.offer_valid_days)} if coupons else None)
        contexts = recipients_context(ids, offer=offer, now=now)
        source = step_source(automation, step.position)
        surveys = survey_content(source=source, customer_ids=ids, now=now)  # {} when the step carries none
        requests, pending = [], []
        for d in group:
            channel = d.channel or ""
            context = contexts.get(d.enrollment.customer_id, {})
            survey_block = surveys.get(d.enrollment.customer_id)
            if survey_block is not None:
                context["encuesta_enlace"] = survey_block.url
            try:
                subject, text, html = _render(step, channel, context)
            except Exception as exc:  # a template that fails for this customer only: log it, go on
                runs.append(_run(d, now, RunStatus.SKIPPED, f"render_error: {exc}"[:120]))
                continue
            if survey_block is not None:
                text, html = message_with_survey(text, html, survey_block)
            requests.append(MessageRequest(
                customer_id=d.enrollment.customer_id, channel=channel, kind="marketing",
                source=step_source(automation, step.position), dedupe_key=step_dedupe_key(d.enrollment, step.position),
                subject=subject, body_text=text, body_html=html, topic=automation.topic,
                over_budget=automation.over_budget))
            pending.append(d)
        decisions_out = messages_queue(requests, now=now) if requests else []
        unused = []
        for d, out in zip(pending, decisions_out, strict=True):
            coupon = coupons.get(d.enrollment.customer_id)
            if out.status in ("skipped", "duplicate") and coupon is not None:
                unused.append(coupon.pk)
                coupon = None
            runs.append(_run(d, now, out.status, out.reason or "", message_id=out.message_id,
                             send_at=out.send_at, coupon_id=coupon.pk if coupon else None))
        if unused:  # nobody will receive these codes
            coupons_deactivate(unused)
        if surveys:  # nor these links (a recipient whose template failed included)
            sent = {d.enrollment.customer_id for d, out in zip(pending, decisions_out, strict=True)
                    if out.status not in ("skipped", "duplicate")}
            invitations_unsent(source=source, customer_ids=[cid for cid in ids if cid not in sent])
    return runs


def _followups_create(automation: Automation, decisions: Sequence[Decision], now: datetime) -> list[StepRun]:
    """«Crear seguimiento» steps: one follow-up per treated enrolment, through the
    follow-ups' service, for the customer's account executive (if active) or the step's
    role, due `followup_due_days` calendar days from now at the same local time. Title and
    notes are rendered with the messages' variables; a template that fails for one customer
    skips that customer only (logged, as for messages)."""
    from fideliza.accounts.selectors import users_active
    from fideliza.customers.selectors import customers_by_id
    from fideliza.engagement.templating import recipients_context, template_render
    from fideliza.followups.models import FollowUpOrigin
    from fideliza.followups.services import NewFollowUp, followups_create_many, later_same_time

    runs: list[StepRun] = []
    by_step: dict[int, list[Decision]] = defaultdict(list)
    for d in decisions:
        by_step[d.step.position].append(d)
    people = set(users_active().values_list("pk", flat=True))
    for group in by_step.values():
        step = group[0].step
        ids = [d.enrollment.customer_id for d in group]
        contexts = recipients_context(ids, now=now)
        cards = customers_by_id(ids)
        due_at = later_same_time(now, step.followup_due_days)
        rows, made = [], []
        for d in group:
            cid = d.enrollment.customer_id
            try:
                title = " ".join(template_render(step.followup_title, contexts.get(cid, {})).split())
                notes = template_render(step.followup_text, contexts.get(cid, {})) if step.followup_text else ""
            except Exception as exc:  # a template that fails for this customer only: log it, go on
                runs.append(_run(d, now, RunStatus.SKIPPED, f"render_error: {exc}"[:120]))
                continue
            card = cards.get(cid)
            if card is None or card.merged_into_id is not None:
                runs.append(_run(d, now, RunStatus.SKIPPED, "merged"))
                continue
            executive = card.account_executive_id
            person = executive if (step.followup_assign_to == FollowUpAssignTo.EXECUTIVE and executive in people) \
                else None
            rows.append(NewFollowUp(customer_id=cid, title=title or automation.name, notes=notes, due_at=due_at,
                                    assignee_id=person, assignee_role="" if person else step.followup_role))
            made.append(d)
        followups_create_many(actor=Actor.system(f"automation:{automation.pk}"), rows=rows,
                              origin_kind=FollowUpOrigin.AUTOMATION, origin_id=automation.pk,
                              priority=step.followup_priority)
        runs += [_run(d, now, RunStatus.FOLLOWUP, "") for d in made]
    return runs


def _run(d: Decision, now: datetime, status: str, reason: str, **extra: Any) -> StepRun:
    return StepRun(enrollment=d.enrollment, automation_id=d.enrollment.automation_id, position=d.step.position,
                   channel=d.channel or "", status=status, reason=reason[:120], created_at=now, **extra)


def _advance(e: Enrollment, step: AutomationStep, steps: dict[int, AutomationStep], stop: str = "") -> None:
    if stop:
        e.state, e.stop_reason, e.next_step, e.next_due_at = EnrollmentState.STOPPED, stop, None, None
        return
    following = _next_step(steps, step.position)
    if following is None:
        e.state, e.next_step, e.next_due_at = EnrollmentState.COMPLETED, None, None
    else:
        # From the due time, not the run time: a late run does not push later steps back.
        e.next_step, e.next_due_at = following.position, (e.next_due_at or e.enrolled_at) + _delay(following)


def steps_run_due(*, automation: Automation, now: datetime) -> dict[str, int]:
    """Run every step of `automation` due at `now`, BATCH enrolments per transaction.

    Passes over the due enrolments until none is left, so a step due right after the one
    just run (no delay) goes out in the same run; at most one pass per step.
    """
    steps = {s.position: s for s in automation.steps.all()}
    counts: dict[str, int] = defaultdict(int)
    for _pass in range(len(steps)):
        if not _steps_pass(automation, steps, now, counts):
            break
    return dict(counts)


def _enrollments_save(batch: Sequence[Enrollment]) -> None:
    """Write the advanced enrolments: one UPDATE per distinct new state (a batch enrolled
    together moves together, so a handful), not bulk_update's CASE per row and column."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for e in batch:
        groups[(e.state, e.stop_reason, e.next_step, e.next_due_at)].append(e.pk)
    for (state, reason, step, due), ids in groups.items():
        Enrollment.objects.filter(pk__in=ids).update(state=state, stop_reason=reason, next_step=step, next_due_at=due)


def _steps_pass(automation: Automation, steps: dict[int, AutomationStep], now: datetime,
                counts: dict[str, int]) -> int:
    processed = 0
    last_id = 0
    while True:
        with transaction.atomic():
            qs = (Enrollment.objects.filter(automation=automation, state=EnrollmentState.ACTIVE,
                                            next_due_at__lte=now, pk__gt=last_id).order_by("pk"))
            if connection.features.has_select_for_update_skip_locked:
                # Another run holding some of these rows is sending them: skip, don't wait.
                qs = qs.select_for_update(skip_locked=True, of=("self",))
            batch = list(qs[:BATCH])
            if not batch:
                return processed
            last_id = batch[-1].pk
            processed += len(batch)
            decisions = steps_decide(automation, steps, batch)
            decided = {d.enrollment.pk for d in decisions}
            for e in batch:
                if e.pk not in decided:  # its step and every later one were deleted
                    e.state, e.next_step, e.next_due_at = EnrollmentState.COMPLETED, None, None
            runs = [_run(d, now, RunStatus.STOPPED, d.reason) for d in decisions if d.action == "stop"]
            runs += [_run(d, now, RunStatus.HOLDOUT, "") for d in decisions if d.action == "holdout"]
            sends = [d for d in decisions if d.action == "send" and d.step.kind != StepKind.FOLLOWUP]
            if sends:
                runs += _send(automation, sends, now)
            handovers = [d for d in decisions if d.action == "send" and d.step.kind == StepKind.FOLLOWUP]
            if handovers:
                runs += _followups_create(automation, handovers, now)
            StepRun.objects.bulk_create(runs)
            for d in decisions:
                _advance(d.enrollment, d.step, steps, stop=d.reason if d.action == "stop" else "")
            _enrollments_save(batch)
            for r in runs:
                counts[str(r.status)] += 1


# --- the periodic job --------------------------------------------------------------------

def automations_run(*, now: datetime | None = None, automation_ids: Iterable[int] | None = None) -> dict[int, dict]:
    """Enrol new trigger occurrences and run due steps for every active automation.

    Returns {automation id: counts}. Safe to run again at once or concurrently: nothing is
    enrolled or sent twice (module docstring).
    """
    now = now or timezone.now()
    automations = list(Automation.objects.filter(is_active=True).order_by("pk"))
    if automation_ids is not None:
        wanted = set(automation_ids)
        automations = [a for a in automations if a.pk in wanted]
    changes = _tier_changes_for(automations, now)
    results: dict[int, dict] = {}
    for automation in automations:
        try:
            with transaction.atomic():
                enrolled = enrollments_create(automation=automation,
                                              hits=trigger_hits(automation, now, tier_changes_now=changes),
                                              now=now)
            counts = steps_run_due(automation=automation, now=now)
            stats: dict[str, Any] = {"enrolled": enrolled["treated"] + enrolled["holdout"],
                                     "holdout_enrolled": enrolled["holdout"], "folded": enrolled["folded"],
                                     **counts}
        except DatabaseError:
            raise  # the connection is unusable: stop the run, the next one retries
        except Exception as exc:
            # One broken automation must not stop the others; its batches rolled back and
            # are retried by the next run. The error is shown on the list page.
            logger.exception("automation %s failed", automation.pk)
            stats = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        Automation.objects.filter(pk=automation.pk).update(last_run_at=now, last_run_stats=stats)
        results[automation.pk] = stats
    if changes is not None and automation_ids is None:
        tier_seen_update(changes, now)
    return results


def _tier_changes_for(automations: Sequence[Automation], now: datetime) -> list[TierChange] | None:
    tiered = [a for a in automations if a.trigger_kind == TriggerKind.TIER_CHANGE]
    if not tiered:
        return None
    lookback = max(trigger_params_clean(a.trigger_kind, a.trigger_params)["lookback_days"] for a in tiered)
    return tier_changes(now, lookback)
