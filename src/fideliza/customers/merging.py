"""Merging duplicate cards into one, and undoing a merge exactly.

Every table that refers to a customer has a *merge policy* saying what happens to the
duplicate's rows (`MERGE_POLICIES` below, or a `MERGE_POLICY` attribute on the model):
re-pointed to the survivor, combined with the survivor's by the owning app's handler,
kept with the merged card as its history, or the merge refused. The tables are found
from Django's model metadata (`references.customer_references`), and
tests/customers/test_policies.py fails when one has no policy (nor an erasure policy in
`privacy.ERASURE_POLICIES`), so a new app cannot forget.

The name is taken as a whole group from one card (`names.choose_group`), never from
parts of two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Protocol, cast

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record
from fideliza.core.serialization import jsonable

from .models import Customer, CustomerMerge, MatchCandidate, MatchStatus
from .names import NAME_GROUPS, LazyNameCounts, NameCounts, choose_group, rewrite
from .references import customer_keys

AUDIT_ENTITY = "customers.customer"

# Card fields the survivorship rules decide. Relations (interests, source ids) are unions.
MERGED_FIELDS = (
    "kind", "first_name", "last_name", "company_name", "employees", "gender", "birth_date",
    "tax_id", "email", "phone", "address", "postal_code", "city", "region", "country",
    "timezone", "preferred_channel", "preferred_contact_time", "acquisition_date",
    "acquisition_channel", "acquisition_cost", "wallet_potential", "account_executive",
    "notes",
)
SNAPSHOT_FIELDS = (*MERGED_FIELDS, "is_active", "merged_into")

# Default survivorship rule per field (overridable with settings.FIDELIZA_SURVIVORSHIP):
#   survivor      keep the surviving card's value; take the duplicate's only if empty
#   most_recent   the value of the card updated last (contact data goes stale)
#   most_complete the longer value
#   earliest      acquisition: the customer was acquired when the first card was made
#   preferred_source  the card whose best source ranks first in FIDELIZA_SOURCE_PRIORITY
#   concatenate   keep both (notes)
#   best_written  name groups only (`names.choose_group`): the whole name from the card
#                 with the right field order, more complete, spelt and written better
# A name group ("name" = first name + surnames, "company_name") is decided as one: its rule
# is the group's, or the one set for its first field, and it never takes parts of two cards.
DEFAULT_RULES: dict[str, str] = {
    "name": "best_written", "company_name": "best_written",
    "email": "most_recent", "phone": "most_recent", "address": "most_recent",
    "postal_code": "most_recent", "city": "most_recent", "region": "most_recent",
    "country": "most_recent", "timezone": "most_recent", "preferred_channel": "most_recent",
    "preferred_contact_time": "most_recent", "acquisition_date": "earliest",
    "acquisition_channel": "earliest", "acquisition_cost": "earliest", "notes": "concatenate",
}
RULES = ("survivor", "most_recent", "most_complete", "earliest", "preferred_source", "concatenate",
         "best_written")

# What a merge does with the rows of each table that refers to the duplicate card (model
# label -> policy; a model may instead declare a class attribute `MERGE_POLICY`):
#   "move"      every row is re-pointed to the survivor; a row whose unique key the survivor
#               already holds refuses the merge (none is expected: no unique key has the card)
#   "move_unless_taken"  rows are re-pointed, except those whose unique key the survivor
#               already holds (both cards got the same campaign): they stay with the merged
#               card, as the record of what happened to it
#   "keep"      rows stay with the merged card: its own history (audit, merges, match pairs)
#   "union"     many-to-many: the survivor gains the duplicate's links (interests)
#   "refuse"    a card with rows here cannot be merged, nor merged into (an erased card)
#   "derived"   the duplicate's colliding rows are deleted (a serialised copy is kept so
#               that undo restores them exactly); the others re-pointed: snapshots,
#               segment memberships — recomputed anyway
#   "handler"   the owning app registered a MergeHandler for the table (`merge_handler_register`,
#               from its AppConfig.ready): handler(survivor, duplicate, colliding_ids) -> JSON
#               payload combines the colliding rows (two loyalty members' ledgers), the others
#               are re-pointed; `handler.undo(payload)` reverses it. A handler with the
#               attribute `moves_rows = True` re-points every row itself (enrolments: one
#               active per automation).
# Indirect references (`references.INDIRECT_REFERENCES`) can only be "keep".
MERGE_POLICIES: dict[str, str] = {
    # Cards merged into the duplicate earlier keep pointing at it (`dedup._final` follows
    # the chain; undo needs it).
    "customers.Customer": "keep",
    "customers.Customer_interests": "union",
    "customers.CustomerSourceId": "move",
    "customers.ConsentRecord": "move",
    "customers.CustomerMerge": "keep",
    "customers.MatchCandidate": "keep",
    # The person's open request follows the person (and blocks the surviving card).
    "customers.DataSubjectRequest": "move",
    "customers.ErasureRecord": "refuse",
    "sales.Order": "move",
    "loyalty.Coupon": "move",
    "loyalty.CouponRedemption": "move",
    "loyalty.Affiliate": "move",
    # Referred once per program: the survivor's referral stands, the other stays behind.
    "loyalty.Referral": "move_unless_taken",
    "engagement.Message": "move",
    "engagement.DeliveryEvent": "move",
    "engagement.ContactDecision": "move",
    # Both cards in one campaign: two sends happened; each row stays with its card so the
    # campaign's figures do not change.
    "campaigns.CampaignRecipient": "move_unless_taken",
    "accounts.AuditLog": "keep",
    "core.IdempotencyRecord": "keep",
    "imports.ImportRun": "keep",
}
MOVE_POLICIES = ("move", "move_unless_taken", "derived")
PLAIN_POLICIES = (*MOVE_POLICIES, "keep", "union", "refuse")



class MergeHandler(Protocol):
    """Combines the duplicate's rows of one table with the survivor's; returns a JSON payload
    that its `undo` attribute (a function of that payload) reverses exactly."""

    def __call__(self, survivor: Customer, duplicate: Customer, colliding: list[Any], /) -> Any: ...


class MergeReaction(Protocol):
    """Runs after every merge and undo, inside its transaction."""

    def __call__(self) -> None: ...


_MERGE_HANDLERS: dict[str, MergeHandler] = {}
# Purchase histories changed owner, so per-customer analytics are out of date until
# recomputed: insights registers that reaction.
MERGE_REACTIONS: list[MergeReaction] = []


def merge_handler_register(model_label: str, handler: MergeHandler) -> None:
    """The "handler" merge policy for `model_label`'s rows; call from the owning AppConfig.ready."""
    if not callable(getattr(handler, "undo", None)):
        raise ImproperlyConfigured(f"merge handler of {model_label} has no undo(payload)")
    _MERGE_HANDLERS[model_label] = handler


def merge_handler(model_label: str) -> MergeHandler:
    return _MERGE_HANDLERS[model_label]


def merge_reaction_register(reaction: MergeReaction) -> None:
    if reaction not in MERGE_REACTIONS:
        MERGE_REACTIONS.append(reaction)


def _react() -> None:
    for reaction in MERGE_REACTIONS:
        reaction()


def merge_policy(model: type[models.Model]) -> str | None:
    label = model._meta.label
    if label in _MERGE_HANDLERS:
        return "handler"
    return getattr(model, "MERGE_POLICY", None) or MERGE_POLICIES.get(label)


def _unique_groups(field: models.ForeignKey) -> list[tuple[str, ...]]:
    """Column groups that must stay unique and include this key (alone or with others)."""
    if field.one_to_one or field.unique:
        return [(field.name,)]
    meta = field.model._meta
    groups = [tuple(c.fields) for c in meta.constraints
              if isinstance(c, models.UniqueConstraint) and c.condition is None and c.fields
              and field.name in c.fields]
    groups += [tuple(g) for g in meta.unique_together if field.name in g]
    return groups


def _colliding_ids(model: type[models.Model], field: models.ForeignKey,
                   survivor: Customer, duplicate: Customer) -> list[Any]:
    """The duplicate's rows that would break a unique constraint if re-pointed to the survivor."""
    manager = model._default_manager
    if field.primary_key:  # one row per customer keyed by it (a snapshot): never re-pointed
        return sorted(manager.filter(**{field.name: duplicate}).values_list("pk", flat=True))
    colliding: set[Any] = set()
    for group in _unique_groups(field):
        others = [name for name in group if name != field.name]
        if not others:
            if manager.filter(**{field.name: survivor}).exists():
                colliding.update(manager.filter(**{field.name: duplicate}).values_list("pk", flat=True))
            continue
        taken = set(manager.filter(**{field.name: survivor}).values_list(*others))
        for pk, *values in manager.filter(**{field.name: duplicate}).values_list("pk", *others):
            if tuple(values) in taken:
                colliding.add(pk)
    return sorted(colliding)


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _row_data(row: models.Model) -> dict[str, Any]:
    """A row as JSON, to the microsecond (Django's serializer keeps milliseconds)."""
    return {f.attname: jsonable(getattr(row, f.attname)) for f in row._meta.concrete_fields}


def _row_restore(model: type[models.Model], data: dict[str, Any]) -> None:
    """Insert the row exactly as `_row_data` recorded it (raw: no auto_now stamping)."""
    values = {}
    for f in model._meta.concrete_fields:
        raw = data.get(f.attname)
        values[f.attname] = None if raw is None else f.to_python(raw)
    model(**values).save_base(raw=True, force_insert=True)


def _card_field(name: str) -> models.Field:
    return cast(models.Field, Customer._meta.get_field(name))


def _snapshot(customer: Customer) -> dict[str, Any]:
    data = {}
    for name in SNAPSHOT_FIELDS:
        field = _card_field(name)
        data[name] = jsonable(getattr(customer, field.attname))
    data["interests"] = sorted(customer.interests.values_list("name", flat=True))
    data["updated_at"] = customer.updated_at.isoformat()
    return data


def _restore_value(name: str, raw: Any) -> Any:
    field = _card_field(name)
    if raw is None:
        return None
    return field.to_python(raw)


@cache
def customer_relations() -> list[tuple[type[models.Model], models.ForeignKey]]:
    """Every (model, key) whose rows a merge may move: keys to Customer, except the
    automatic tables of many-to-many fields (merged as unions). The model registry does
    not change once loaded: computed once per process."""
    return [(model, field) for model, field in customer_keys() if not model._meta.auto_created]


def _source_rank(customer: Customer) -> int:
    priority = list(getattr(settings, "FIDELIZA_SOURCE_PRIORITY", []))
    ranks = [priority.index(s) for s in customer.source_ids.values_list("source", flat=True)
             if s in priority]
    return min(ranks) if ranks else len(priority)


def _name_counts() -> LazyNameCounts:
    """How the base writes first names and surnames, read only if a merge needs it."""
    def load() -> NameCounts:
        rows = Customer.objects.filter(merged_into__isnull=True, is_active=True).values_list(
            "first_name", "last_name")
        return NameCounts.from_names(rows.iterator(chunk_size=5000))
    return LazyNameCounts(load)


@dataclass
class MergePlan:
    """What a merge does to the card's fields."""

    sources: dict[str, str]  # field -> 'survivor' | 'duplicate' | 'both' (where the value comes from)
    values: dict[str, Any]   # field -> the value after the merge


def survivorship(survivor: Customer, duplicate: Customer, rules: Mapping[str, str] | None = None,
                 *, names: LazyNameCounts | None = None) -> dict[str, str]:
    """Which card each field's value comes from: {field: 'survivor' | 'duplicate' | 'both'}."""
    return merge_plan(survivor, duplicate, rules, names=names).sources


def merge_plan(survivor: Customer, duplicate: Customer, rules: Mapping[str, str] | None = None,
               *, names: LazyNameCounts | None = None) -> MergePlan:
    """Where each field's value comes from, and the merged values.

    Name groups come whole from one card (`names.choose_group`), written as the better
    written card writes them; other fields follow their rule.
    """
    configured = {**getattr(settings, "FIDELIZA_SURVIVORSHIP", {}), **(rules or {})}
    effective = {**DEFAULT_RULES, **configured}
    for group, fields in NAME_GROUPS.items():
        if group not in configured and fields[0] in configured:
            effective[group] = configured[fields[0]]
    survivor_newer = survivor.updated_at >= duplicate.updated_at
    survivor_earlier = (survivor.acquisition_date or date.max, survivor.pk) <= \
        (duplicate.acquisition_date or date.max, duplicate.pk)
    survivor_preferred = None

    def pick(rule: str, mine: Any, theirs: Any) -> str:
        nonlocal survivor_preferred
        if rule not in RULES:
            raise ValidationError(_("Regla de supervivencia desconocida: %(rule)s") % {"rule": rule})
        if _empty(theirs) or mine == theirs:
            return "survivor"
        if _empty(mine):
            return "duplicate"
        if rule == "most_recent":
            return "survivor" if survivor_newer else "duplicate"
        if rule == "most_complete":
            return "duplicate" if len(str(theirs)) > len(str(mine)) else "survivor"
        if rule == "earliest":
            return "survivor" if survivor_earlier else "duplicate"
        if rule == "preferred_source":
            if survivor_preferred is None:
                survivor_preferred = _source_rank(survivor) <= _source_rank(duplicate)
            return "survivor" if survivor_preferred else "duplicate"
        if rule == "concatenate":
            return "both"
        return "survivor"

    sources: dict[str, str] = {}
    values: dict[str, Any] = {}
    grouped = {name for fields in NAME_GROUPS.values() for name in fields}
    counts = names or _name_counts()
    for group, fields in NAME_GROUPS.items():
        mine = tuple(getattr(survivor, f) or "" for f in fields)
        theirs = tuple(getattr(duplicate, f) or "" for f in fields)
        rule = effective.get(group, "best_written")
        if rule == "best_written":
            origin, written = choose_group(mine, theirs, group=group, counts=counts)
        else:
            origin = pick(rule, " ".join(mine).strip(), " ".join(theirs).strip())
            if origin == "both":  # a name is one card's: "concatenate" cannot apply
                origin = "survivor"
            base, other = (mine, theirs) if origin == "survivor" else (theirs, mine)
            written = rewrite(base, other, company=group == "company_name")
        for name, value in zip(fields, written, strict=True):
            sources[name] = origin
            values[name] = value
    for name in MERGED_FIELDS:
        if name in grouped:
            continue
        mine, theirs = getattr(survivor, name), getattr(duplicate, name)
        origin = pick(effective.get(name, "survivor"), mine, theirs)
        sources[name] = origin
        if origin == "duplicate":
            values[name] = theirs
        elif origin == "both":
            values[name] = "\n\n".join(v for v in (mine, theirs) if v)
        else:
            values[name] = mine
    return MergePlan(sources={name: sources[name] for name in MERGED_FIELDS},
                     values={name: values[name] for name in MERGED_FIELDS})


def _refusal(relations: list[tuple[type[models.Model], models.ForeignKey]],
             survivor: Customer, duplicate: Customer) -> str | None:
    for model, field in relations:
        if merge_policy(model) == "refuse" and model._default_manager.filter(
                **{f"{field.name}__in": [survivor.pk, duplicate.pk]}).exists():
            return _("No se puede fusionar: una de las fichas tiene «%(what)s».") % {
                "what": model._meta.verbose_name}
    return None


@transaction.atomic
def customer_merge(
    *,
    actor: Actor,
    survivor: Customer,
    duplicate: Customer,
    rules: Mapping[str, str] | None = None,
    automatic: bool = False,
    score: float | None = None,
    reasons: str = "",
    names: LazyNameCounts | None = None,
) -> CustomerMerge:
    """Merge `duplicate` into `survivor`: fields by survivorship rules, related rows by policy.

    Both cards are locked for the duration (SELECT … FOR UPDATE on PostgreSQL). Orders,
    consents, source ids and every other table pointing at the duplicate follow their merge
    policy (`MERGE_POLICIES`); the duplicate stays as an inactive card with `merged_into`
    set, so its id keeps resolving and the merge can be undone with `customer_merge_undo`.
    `names` (how the base writes names) may be passed by a caller merging many pairs.
    """
    if survivor.pk == duplicate.pk:
        raise ValidationError(_("No se puede fusionar una ficha consigo misma."))
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, duplicate.pk])}
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    if survivor.merged_into_id or duplicate.merged_into_id:
        raise ValidationError(_("Una de las fichas ya está fusionada en otra."))
    relations = [(m, f) for m, f in customer_relations() if merge_policy(m) not in ("keep", "union")]
    refusal = _refusal(relations, survivor, duplicate)
    if refusal:
        raise ValidationError(refusal)
    # Only the tables where the duplicate has rows have anything to move (most have none:
    # one query each instead of a collision check and a move per table).
    relations = [(m, f) for m, f in relations if merge_policy(m) != "refuse"
                 and m._default_manager.filter(**{f.name: duplicate}).exists()]
    collisions = {model._meta.label: _colliding_ids(model, field, survivor, duplicate)
                  for model, field in relations}
    for model, _field in relations:
        if collisions[model._meta.label] and merge_policy(model) in (None, "move"):
            raise ValidationError(
                _("No se puede fusionar: las dos fichas tienen «%(what)s» que no se pueden combinar.")
                % {"what": model._meta.verbose_name_plural}
            )

    survivor_before, duplicate_before = _snapshot(survivor), _snapshot(duplicate)
    plan = merge_plan(survivor, duplicate, rules, names=names)
    changes: dict[str, tuple[Any, Any]] = {}
    for name, new in plan.values.items():
        old = getattr(survivor, name)
        if new != old:
            setattr(survivor, name, new)
            changes[name] = (jsonable(old), jsonable(new))

    # The duplicate's unique identifiers must leave it before the survivor can take them.
    moved: dict[str, list[Any]] = {}
    handled: dict[str, Any] = {}
    derived: dict[str, list[dict[str, Any]]] = {}
    for model, field in relations:
        label = model._meta.label
        policy = merge_policy(model) or "move"
        colliding = collisions[label]
        if policy == "handler":
            handler = merge_handler(label)
            if getattr(handler, "moves_rows", False):
                handled[label] = handler(survivor, duplicate, colliding)
                continue
            if colliding:
                # The handler combines them; they stay on the duplicate (for undo).
                handled[label] = handler(survivor, duplicate, colliding)
        elif colliding and policy == "derived":
            rows = model._default_manager.filter(pk__in=colliding)
            derived[label] = [_row_data(row) for row in rows]
            rows.delete()
        # "move_unless_taken": the colliding rows stay with the merged card.
        ids = list(model._default_manager.filter(**{field.name: duplicate})
                   .exclude(pk__in=colliding).values_list("pk", flat=True))
        if ids:
            model._default_manager.filter(pk__in=ids).update(**{field.name: survivor})
            moved[label] = ids
    added: dict[str, list[Any]] = {}
    for m2m in Customer._meta.many_to_many:
        mine = set(getattr(survivor, m2m.name).values_list("pk", flat=True))
        extra = [pk for pk in getattr(duplicate, m2m.name).values_list("pk", flat=True) if pk not in mine]
        if extra:
            getattr(survivor, m2m.name).add(*extra)
            added[m2m.name] = extra

    survivor.full_clean()
    survivor.save()
    duplicate.merged_into = survivor
    duplicate.is_active = False
    duplicate.save(update_fields=["merged_into", "is_active", "updated_at"])

    merge = CustomerMerge.objects.create(
        survivor=survivor, duplicate=duplicate, created_by=actor.user, actor_label=actor.label[:150],
        automatic=automatic, score=score, reasons=reasons[:500],
        survivor_before=survivor_before, duplicate_before=duplicate_before,
        field_sources=plan.sources,
        moved={**moved, "_m2m_added": added, "_one_to_one": handled, "_derived": derived},
    )
    MatchCandidate.objects.filter(
        models.Q(customer_a=survivor, customer_b=duplicate) | models.Q(customer_a=duplicate, customer_b=survivor)
    ).update(status=MatchStatus.MERGED, decided_at=timezone.now(), decided_by=actor.user, merge=merge)
    context = {"merge": merge.pk, "moved": {k: len(v) for k, v in moved.items()}}
    audit_record(actor=actor, action=AuditAction.MERGE, entity=AUDIT_ENTITY, entity_id=survivor.pk,
                 changes=changes, context={**context, "duplicate": duplicate.pk})
    audit_record(actor=actor, action=AuditAction.MERGE, entity=AUDIT_ENTITY, entity_id=duplicate.pk,
                 changes={"merged_into": (None, survivor.pk), "is_active": (True, False)},
                 context={**context, "survivor": survivor.pk})
    _react()
    return merge


@transaction.atomic
def customer_merge_undo(*, actor: Actor, merge: CustomerMerge) -> CustomerMerge:
    """Undo a merge: both cards back as they were, every moved row back on the duplicate.

    Rows created for the survivor after the merge stay with the survivor. A merge whose
    survivor was merged again later must be undone from the most recent merge first.
    """
    merge = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise ValidationError(_("Esta fusión ya se deshizo."))
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(
        pk__in=[merge.survivor_id, merge.duplicate_id])}
    survivor, duplicate = locked[merge.survivor_id], locked[merge.duplicate_id]
    if survivor.merged_into_id is not None:
        raise ValidationError(_("Deshaga primero la fusión posterior de la ficha que permaneció."))
    if CustomerMerge.objects.filter(survivor=survivor, undone_at__isnull=True,
                                    created_at__gt=merge.created_at).exclude(pk=merge.pk).exists():
        raise ValidationError(_("Deshaga primero las fusiones posteriores en esta ficha."))

    moved = dict(merge.moved)
    handled = moved.pop("_one_to_one", {})
    added = moved.pop("_m2m_added", {})
    if "_interests_added" in moved:  # merges recorded before many-to-many fields were generic
        added = {"interests": moved.pop("_interests_added")}
    derived = moved.pop("_derived", {})
    # Models whose rows move have one key to Customer (tests/customers/test_policies.py).
    fields = {model._meta.label: field for model, field in customer_relations()}
    for label, ids in moved.items():
        model = apps.get_model(label)
        model._default_manager.filter(pk__in=ids).update(**{fields[label].name: duplicate})
    for label, payload in handled.items():
        merge_handler(label).undo(payload)  # type: ignore[attr-defined]  # set on the function (see MergeHandler)
    for label, data in derived.items():
        if isinstance(data, str):  # merges recorded with Django's serializer
            for restored in serializers.deserialize("json", data):
                restored.save()
            continue
        model = apps.get_model(label)
        for row in data:
            _row_restore(model, row)
    for name, pks in added.items():
        getattr(survivor, name).remove(*pks)

    for card, before in ((survivor, merge.survivor_before), (duplicate, merge.duplicate_before)):
        for name in SNAPSHOT_FIELDS:
            field = _card_field(name)
            setattr(card, field.attname, _restore_value(name, before[name]) if name != "merged_into"
                    else before[name])
        card.save()
        # Exactly as before, last-modified time included (save() would stamp "now").
        Customer.objects.filter(pk=card.pk).update(updated_at=datetime.fromisoformat(before["updated_at"]))
    merge.undone_at = timezone.now()
    merge.undone_by = actor.user
    merge.save(update_fields=["undone_at", "undone_by"])
    MatchCandidate.objects.filter(merge=merge).update(status=MatchStatus.PENDING, merge=None,
                                                      decided_at=None, decided_by=None)
    for card, other in ((survivor, duplicate), (duplicate, survivor)):
        audit_record(actor=actor, action=AuditAction.UNMERGE, entity=AUDIT_ENTITY, entity_id=card.pk,
                     context={"merge": merge.pk, "other": other.pk})
    _react()
    return merge
