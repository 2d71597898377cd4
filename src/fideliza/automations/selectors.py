"""Reads: the dry run (who would receive what today), the list's figures, the uplift report."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    OuterRef,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.customers.selectors import customer_names
from fideliza.sales.selectors import order_revenue, orders_in_window

from .models import (
    Automation,
    AutomationStep,
    Enrollment,
    EnrollmentState,
    Group,
    Occurrence,
    OccurrenceOutcome,
    RunStatus,
    StepKind,
    StepRun,
)
from .services import _delay, _tier_changes_for, enrolment_plan, steps_decide
from .triggers import trigger_hits


@dataclass(frozen=True)
class DryRunRow:
    automation_id: int
    automation: str
    customer_id: int
    customer: str
    position: int
    due_at: datetime
    group: str  # "treated", "holdout" or "" (new enrolment: drawn when it is enrolled)
    action: str  # "send", "holdout", "stop"
    reason: str
    channel: str | None
    new: bool
    subject: str


def _end_of_day(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return timezone.make_aware(datetime.combine(local.date() + timedelta(days=1), time.min), local.tzinfo)


def automations_dry_run(*, now: datetime | None = None, automation_ids: list[int] | None = None,
                        include_inactive: bool = False) -> list[DryRunRow]:
    """Who would receive which step of which automation from `now` to the end of today.

    Writes nothing: no enrolment, no coupon, no message, no remembered tier. New
    enrolments' holdout draw happens when they are enrolled, so they show as undrawn; the
    contact budget and quiet hours are decided by the delivery layer at send time.
    """
    from fideliza.engagement.services import channel_choose

    now = now or timezone.now()
    until = _end_of_day(now)
    qs = Automation.objects.all() if include_inactive else Automation.objects.filter(is_active=True)
    if automation_ids is not None:
        qs = qs.filter(pk__in=automation_ids)
    automations = list(qs.order_by("pk").prefetch_related("steps"))
    changes = _tier_changes_for(automations, now)
    rows: list[tuple[Automation, int, AutomationStep, datetime, str, str, str, bool]] = []
    for automation in automations:
        steps = {s.position: s for s in automation.steps.all()}
        if not steps:
            continue
        first = steps[min(steps)]
        due = now + _delay(first)
        # One row per customer: their other new occurrences are folded, not sent.
        for hit in enrolment_plan(automation, trigger_hits(automation, now, tier_changes_now=changes)).enrol:
            if due < until:
                group = Group.TREATED if automation.holdout_share <= 0 else ""
                action = "send" if group else "draw"
                rows.append((automation, hit.customer_id, first, due, group, action, "", True))
        due_rows = list(Enrollment.objects.filter(automation=automation, state=EnrollmentState.ACTIVE,
                                                  next_due_at__lt=until).order_by("pk"))
        for d in steps_decide(automation, steps, due_rows):
            rows.append((automation, d.enrollment.customer_id, d.step, d.enrollment.next_due_at or now,
                         d.enrollment.group, d.action, d.reason, False))
    names = customer_names({r[1] for r in rows})
    out: list[DryRunRow] = []
    by_automation: dict[int, list] = defaultdict(list)
    for r in rows:
        by_automation[r[0].pk].append(r)
    for items in by_automation.values():
        automation = items[0][0]
        reach = [r[1] for r in items if r[5] in ("send", "draw") and r[2].kind != StepKind.FOLLOWUP]
        channels = channel_choose(reach, list(automation.channels), kind="marketing") if reach else {}
        for a, cid, step, due, group, action, reason, new in items:
            if step.kind == StepKind.FOLLOWUP:  # a hand-over to a person: no channel involved
                out.append(DryRunRow(a.pk, a.name, cid, names.get(cid, str(cid)), step.position, due, group,
                                     action, reason, None, new, step.followup_title[:80]))
                continue
            channel = channels.get(cid) if action in ("send", "draw") else None
            if action in ("send", "draw") and channel is None:
                reason = "no_channel"
            out.append(DryRunRow(a.pk, a.name, cid, names.get(cid, str(cid)), step.position, due, group,
                                 action, reason, channel, new,
                                 step.email_subject if channel == "email" else step.sms_text[:80]))
    return out


def dry_run_visible_to(rows: list[DryRunRow], user: Any) -> list[DryRunRow]:
    """The rows about customers `user` may see (a sales representative: only theirs)."""
    from fideliza.customers.selectors import customers_visible_to

    if not getattr(user, "is_sales_rep", False):
        return rows
    visible = set(customers_visible_to(user).filter(pk__in={r.customer_id for r in rows})
                  .values_list("pk", flat=True))
    return [r for r in rows if r.customer_id in visible]


def automations_overview() -> list[dict[str, Any]]:
    """Each automation with its enrolment counts by group and its step results."""
    automations = list(Automation.objects.order_by("name", "pk"))
    groups: dict[int, Counter] = defaultdict(Counter)
    for aid, group, n in (Enrollment.objects.values_list("automation_id", "group")
                          .annotate(n=Count("pk")).order_by()):
        groups[aid][group] = n
    statuses: dict[int, Counter] = defaultdict(Counter)
    for aid, status, n in StepRun.objects.values_list("automation_id", "status").annotate(n=Count("pk")).order_by():
        statuses[aid][status] = n
    return [{"automation": a, "treated": groups[a.pk][Group.TREATED], "holdout": groups[a.pk][Group.HOLDOUT],
             "statuses": dict(statuses[a.pk]), "last": a.last_run_stats or {}} for a in automations]


def _outcomes(automation: Automation, now: datetime) -> list[tuple[str, bool, Decimal]]:
    """(group, converted, revenue) of every enrolment whose conversion window has closed.

    Converted = any order within `conversion_days` after enrolling; revenue = those orders'
    totals. Windows still open are left out, or recent enrolments would read as failures.
    """
    window = timedelta(days=automation.conversion_days)
    end = ExpressionWrapper(OuterRef("enrolled_at") + window, output_field=DateTimeField())
    orders = orders_in_window(customer=OuterRef("customer_id"), after=OuterRef("enrolled_at"), until=end)
    rows = (Enrollment.objects.filter(automation=automation, enrolled_at__lte=now - window)
            .annotate(converted=Exists(orders),
                      revenue=Coalesce(order_revenue(orders), Decimal(0),
                                       output_field=DecimalField(max_digits=14, decimal_places=2)))
            .values_list("group", "converted", "revenue"))
    return [(g, bool(c), Decimal(str(r or 0))) for g, c, r in rows]


def reason_label(code: str) -> str:
    """A step log reason in words (the delivery layer's reasons, and the automation's own)."""
    from fideliza.engagement.models import DecisionReason

    own = {"no_channel": _("Sin canal con consentimiento"), "purchased": _("Ha comprado desde la inscripción"),
           "active_again": _("Vuelve a estar activo"),
           "merged": _("La ficha se fusionó con otra"),
           "folded": _("Sumada a otra inscripción en curso del mismo cliente")}
    if code in own:
        return str(own[code])
    if code in DecisionReason.values:
        return str(DecisionReason(code).label)
    return code or "—"


def automation_report(automation: Automation, *, now: datetime | None = None) -> dict[str, Any]:
    """Step results, and conversion and revenue of the treated versus the holdout with
    confidence intervals (fideliza.analytics.uplift)."""
    from fideliza.analytics.uplift import uplift

    now = now or timezone.now()
    outcomes = _outcomes(automation, now)
    treated = [o for o in outcomes if o[0] == Group.TREATED]
    holdout = [o for o in outcomes if o[0] == Group.HOLDOUT]
    statuses = Counter(dict(StepRun.objects.filter(automation=automation).values_list("status")
                            .annotate(n=Count("pk")).order_by()))
    reasons = list(StepRun.objects.filter(automation=automation, status__in=["skipped", "deferred", "stopped"])
                   .values("status", "reason").annotate(n=Count("pk")).order_by("-n")[:20])
    open_windows = Enrollment.objects.filter(automation=automation,
                                             enrolled_at__gt=now - timedelta(days=automation.conversion_days)).count()
    occurrences = Counter(dict(Occurrence.objects.filter(automation=automation).values_list("outcome")
                               .annotate(n=Count("pk")).order_by()))
    result = None
    if outcomes:
        result = uplift([o[0] == Group.TREATED for o in outcomes], [o[1] for o in outcomes],
                        [float(o[2]) for o in outcomes])
    return {
        "automation": automation, "statuses": dict(statuses), "reasons": reasons,
        "status_rows": [(RunStatus(k).label if k in RunStatus.values else k, n) for k, n in statuses.items()],
        "reason_rows": [(RunStatus(r["status"]).label if r["status"] in RunStatus.values else r["status"],
                         reason_label(r["reason"]), r["n"]) for r in reasons],
        "treated": len(treated), "holdout": len(holdout), "open_windows": open_windows,
        "treated_conversions": sum(o[1] for o in treated), "holdout_conversions": sum(o[1] for o in holdout),
        "treated_revenue": sum((o[2] for o in treated), Decimal(0)),
        "holdout_revenue": sum((o[2] for o in holdout), Decimal(0)),
        "uplift": result,
        "folded": occurrences[OccurrenceOutcome.FOLDED], "existing": occurrences[OccurrenceOutcome.EXISTING],
    }


_STEP_SOURCE = re.compile(r"^automation:(?P<id>\d+)(?::step:(?P<step>\d+))?$")


def automation_sources_name(sources: list[str]) -> dict[str, str]:
    """Outbox origins ``automation:<id>:step:<n>`` in words: «Automatización «Bienvenida», paso 1»."""
    parsed = {s: m for s in sources if (m := _STEP_SOURCE.match(s))}
    names = dict(Automation.objects.filter(pk__in={int(m["id"]) for m in parsed.values()})
                 .values_list("pk", "name"))
    out = {}
    for source, m in parsed.items():
        name = names.get(int(m["id"]))
        what = (_("Automatización «%(name)s»") % {"name": name} if name is not None
                else _("Automatización %(id)s (borrada)") % {"id": m["id"]})
        out[source] = _("%(what)s, paso %(step)s") % {"what": what, "step": m["step"]} if m["step"] else what
    return out
