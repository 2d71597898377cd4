"""Writes of contact cadences: saving rules, and the daily run that hands due customers to
people as follow-ups.

Concurrency (`cadences_run`): each rule is evaluated and its follow-ups inserted in one
transaction that first locks the rule's row (SELECT … FOR UPDATE). A second worker running
the same rule at the same moment waits for that lock; when it gets it, the first worker's
follow-ups are committed, and its evaluation — a new statement under READ COMMITTED — sees
them pending and finds nobody due. The partial unique index
`followup_one_open_per_cadence` (followups) is the backstop for any other writer: a second
pending follow-up of one cadence for one customer cannot exist, and the bulk insert skips
such a row instead of failing. On SQLite every write transaction starts IMMEDIATE
(settings), so two runs are serialised by the database's write lock the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fideliza.accounts.models import AuditAction, Role
from fideliza.accounts.selectors import users_active
from fideliza.accounts.services import Actor, audit_record
from fideliza.engagement.templating import (
    TemplateError,
    recipients_context,
    template_render,
    template_validate,
    template_variables,
)
from fideliza.followups.models import FollowUpOrigin
from fideliza.followups.services import (
    NewFollowUp,
    business_zone,
    followups_create_many,
    local_moment,
)
from fideliza.interactions.models import InteractionKind

from .models import AssignTo, Audience, CadenceRule
from .selectors import days_between, rule_clocks, rule_due

logger = logging.getLogger(__name__)

# The variables a cadence's title may use besides those of the messages' templates.
CADENCE_VARIABLES = (
    ("cadencia", gettext_lazy("Nombre de la cadencia")),
    ("cada_dias", gettext_lazy("Cada cuántos días")),
    ("dias_sin_contacto", gettext_lazy("Días desde el último contacto (o desde el inicio de la cadencia)")),
    ("ultimo_contacto", gettext_lazy("Fecha del último contacto que cuenta (vacía si nunca)")),
)
RULE_FIELDS = ("name", "audience", "tier", "segment", "every_days", "kinds", "assign_to", "role", "priority",
               "title_template", "due_time", "starts_on", "is_active")
CHUNK = 5000


def _validate(rule: CadenceRule) -> None:
    errors: dict[str, list[str]] = {}
    kinds = list(dict.fromkeys(rule.kinds or []))
    if not kinds or any(k not in InteractionKind.values for k in kinds):
        errors["kinds"] = [_("Elija al menos un tipo de interacción que cuente como contacto.")]
    rule.kinds = kinds
    if rule.audience == Audience.TIER:
        rule.segment = None
        if rule.tier_id is None:
            errors["tier"] = [_("Elija el nivel.")]
    elif rule.audience == Audience.SEGMENT:
        rule.tier = None
        if rule.segment_id is None:
            errors["segment"] = [_("Elija el segmento.")]
    if rule.role not in Role.values:
        errors["role"] = [_("Elija un rol.")]
    problems = template_validate(rule.title_template or "", extra=[name for name, _d in CADENCE_VARIABLES])
    if problems:
        errors["title_template"] = problems
    try:
        rule.full_clean(exclude=list(errors))
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def cadence_rule_save(*, actor: Actor, data: Mapping[str, Any], rule: CadenceRule | None = None) -> CadenceRule:
    """Create or update a rule (every field validated at once, the title as a template)."""
    creating = rule is None or rule.pk is None
    rule = rule or CadenceRule(created_by=actor.user)
    before = {name: str(getattr(rule, name)) for name in RULE_FIELDS} if not creating else {}
    for name in RULE_FIELDS:
        if name in data:
            setattr(rule, name, data[name])
    if rule.starts_on is None:
        rule.starts_on = timezone.localdate()
    _validate(rule)
    rule.save()
    after = {name: str(getattr(rule, name)) for name in RULE_FIELDS}
    audit_record(actor=actor, action=AuditAction.CREATE if creating else AuditAction.UPDATE,
                 entity="cadences.cadencerule", entity_id=rule.pk,
                 changes={k: (before.get(k), v) for k, v in after.items() if before.get(k) != v} or None,
                 context={"name": rule.name})
    return rule


@transaction.atomic
def cadence_rule_set_active(*, actor: Actor, rule: CadenceRule, active: bool) -> CadenceRule:
    """Switch a rule on or off. Off: no new follow-ups; the pending ones stay with their people."""
    CadenceRule.objects.filter(pk=rule.pk).update(is_active=active, updated_at=timezone.now())
    rule.is_active = active
    audit_record(actor=actor, action=AuditAction.UPDATE, entity="cadences.cadencerule", entity_id=rule.pk,
                 changes={"is_active": (str(not active), str(active))}, context={"name": rule.name})
    return rule


def _titles(rule: CadenceRule, due: list[tuple[int, datetime | None, datetime]], now: datetime) -> dict[int, str]:
    """{customer: the follow-up's title}, rendered with the messages' variables plus the
    cadence's own; a title that fails for one customer falls back to the rule's name."""
    today = now.astimezone(business_zone()).date()
    titles: dict[int, str] = {}
    needs = template_variables(rule.title_template)
    for start in range(0, len(due), CHUNK):
        part = due[start:start + CHUNK]
        contexts = recipients_context([cid for cid, _lc, _clock in part], now=now, needs=needs)
        for cid, last_contact, clock in part:
            context = {**contexts.get(cid, {}), "cadencia": rule.name, "cada_dias": rule.every_days,
                       "dias_sin_contacto": days_between(clock, today),
                       "ultimo_contacto": last_contact.astimezone(business_zone()).date() if last_contact else None}
            try:
                title = " ".join(template_render(rule.title_template, context).split())
            except TemplateError:
                title = ""
            titles[cid] = (title or rule.name)[:200]
    return titles


def _rule_run(rule: CadenceRule, now: datetime, active_people: set[int]) -> int:
    """Create the follow-ups of the customers `rule` finds due; call inside a transaction
    holding the rule's row lock (module docstring). Returns how many were created."""
    today = now.astimezone(business_zone()).date()
    executives = dict(rule_due(rule, today).order_by().values_list("pk", "account_executive_id"))
    if not executives:
        return 0
    clocks = sorted(rule_clocks(rule, sorted(executives)))
    titles = _titles(rule, clocks, now)
    due_at = local_moment(today, rule.due_time)
    rows = []
    for cid, _lc, _clock in clocks:
        executive_id = executives[cid]
        person = executive_id if (rule.assign_to == AssignTo.EXECUTIVE and executive_id in active_people) else None
        rows.append(NewFollowUp(customer_id=cid, title=titles[cid], due_at=due_at, assignee_id=person,
                                assignee_role="" if person else rule.role))
    return followups_create_many(actor=Actor.system(f"cadence:{rule.pk}"), rows=rows,
                                 origin_kind=FollowUpOrigin.CADENCE, origin_id=rule.pk, priority=rule.priority)


def cadences_run(*, now: datetime | None = None, rule_ids: Iterable[int] | None = None) -> dict[int, int]:
    """The daily job: for every active rule, one follow-up per customer who falls due and has
    none pending. Returns {rule id: follow-ups created}. Safe to run twice, or in two
    workers at once (module docstring)."""
    now = now or timezone.now()
    ids = list(CadenceRule.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    if rule_ids is not None:
        wanted = set(rule_ids)
        ids = [pk for pk in ids if pk in wanted]
    active_people = set(users_active().values_list("pk", flat=True))
    results: dict[int, int] = {}
    for pk in ids:
        with transaction.atomic():
            rule = (CadenceRule.objects.select_for_update()
                    .filter(pk=pk, is_active=True).first())
            if rule is None:  # switched off meanwhile
                continue
            created = _rule_run(rule, now, active_people)
            CadenceRule.objects.filter(pk=pk).update(last_run_at=now, last_run_created=created)
        results[pk] = created
        logger.info("cadence %s: %s follow-ups", pk, created)
    return results
