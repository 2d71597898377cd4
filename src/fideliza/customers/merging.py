"""Merging duplicate cards into one, and undoing a merge exactly.

Every table that points at a customer is found from Django's model metadata, so a new
app's rows (points, messages, complaints…) move with the customer without anyone having
to remember to add them here. A one-to-one relation (one loyalty member per customer)
cannot simply be re-pointed: its app registers a handler in `ONE_TO_ONE_MERGE_HANDLERS`,
and a merge is refused while a one-to-one relation has no handler — never silently lose
data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from importlib import import_module
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record

from .models import Customer, CustomerMerge, MatchCandidate, MatchStatus, Tag

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
#   most_complete the longer value (names typed in full beat initials)
#   earliest      acquisition: the customer was acquired when the first card was made
#   preferred_source  the card whose best source ranks first in FIDELIZA_SOURCE_PRIORITY
#   concatenate   keep both (notes)
DEFAULT_RULES: dict[str, str] = {
    "first_name": "most_complete", "last_name": "most_complete", "company_name": "most_complete",
    "email": "most_recent", "phone": "most_recent", "address": "most_recent",
    "postal_code": "most_recent", "city": "most_recent", "region": "most_recent",
    "country": "most_recent", "timezone": "most_recent", "preferred_channel": "most_recent",
    "preferred_contact_time": "most_recent", "acquisition_date": "earliest",
    "acquisition_channel": "earliest", "acquisition_cost": "earliest", "notes": "concatenate",
}
RULES = ("survivor", "most_recent", "most_complete", "earliest", "preferred_source", "concatenate")

# What to do with the duplicate's rows that would collide with the survivor's under a unique
# constraint (one snapshot row per customer; one member per program; one list membership):
#   "derived"  the duplicate's colliding rows are deleted (a serialised copy is kept so that
#              undo restores them exactly): snapshots, segment memberships
#   "dotted.path.to.handler"  handler(survivor, duplicate, colliding_ids) -> JSON payload
#              combines the rows (e.g. two loyalty members' ledgers); `handler.undo(payload)`
#              reverses it. Non-colliding rows are simply re-pointed, as for any table.
# A model may also declare it itself with a class attribute `MERGE_POLICY`.
ONE_TO_ONE_MERGE_HANDLERS: dict[str, str] = {}

# Called (no arguments) after every merge and undo, inside its transaction: purchase
# histories changed owner, so per-customer analytics are out of date until recomputed.
MERGE_REACTIONS: list[str] = ["fideliza.insights.services.snapshot_mark_stale"]


def _react() -> None:
    for path in MERGE_REACTIONS:
        import_string(path)()


def _merge_policy(model: type[models.Model]) -> str | None:
    return getattr(model, "MERGE_POLICY", None) or ONE_TO_ONE_MERGE_HANDLERS.get(model._meta.label)


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


# Relations that are about merging itself, not data of the customer.
_SKIP_RELATIONS = {
    ("customers", "customermerge"), ("customers", "matchcandidate"), ("customers", "customer"),
}


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime | Decimal):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def _snapshot(customer: Customer) -> dict[str, Any]:
    data = {}
    for name in SNAPSHOT_FIELDS:
        field = Customer._meta.get_field(name)
        data[name] = _jsonable(getattr(customer, field.attname))
    data["interests"] = sorted(customer.interests.values_list("name", flat=True))
    data["updated_at"] = customer.updated_at.isoformat()
    return data


def _restore_value(name: str, raw: Any) -> Any:
    field = Customer._meta.get_field(name)
    if raw is None:
        return None
    return field.to_python(raw)


def customer_relations() -> list[tuple[type[models.Model], models.ForeignKey]]:
    """Every (model, foreign key) in the project that points at Customer."""
    found = []
    for rel in Customer._meta.related_objects:
        model = rel.related_model
        key = (model._meta.app_label, model._meta.model_name)
        if key in _SKIP_RELATIONS or rel.many_to_many:
            continue
        found.append((model, rel.field))
    return found


def _source_rank(customer: Customer) -> int:
    priority = list(getattr(settings, "FIDELIZA_SOURCE_PRIORITY", []))
    ranks = [priority.index(s) for s in customer.source_ids.values_list("source", flat=True)
             if s in priority]
    return min(ranks) if ranks else len(priority)


def survivorship(survivor: Customer, duplicate: Customer,
                 rules: Mapping[str, str] | None = None) -> dict[str, str]:
    """Which card each field's value comes from: {field: 'survivor' | 'duplicate' | 'both'}."""
    effective = {**DEFAULT_RULES, **getattr(settings, "FIDELIZA_SURVIVORSHIP", {}), **(rules or {})}
    survivor_newer = survivor.updated_at >= duplicate.updated_at
    survivor_earlier = (survivor.acquisition_date or date.max, survivor.pk) <= \
        (duplicate.acquisition_date or date.max, duplicate.pk)
    survivor_preferred = None
    chosen: dict[str, str] = {}
    for name in MERGED_FIELDS:
        mine, theirs = getattr(survivor, name), getattr(duplicate, name)
        rule = effective.get(name, "survivor")
        if rule not in RULES:
            raise ValidationError(_("Regla de supervivencia desconocida: %(rule)s") % {"rule": rule})
        if _empty(theirs) or mine == theirs:
            chosen[name] = "survivor"
        elif _empty(mine):
            chosen[name] = "duplicate"
        elif rule == "most_recent":
            chosen[name] = "survivor" if survivor_newer else "duplicate"
        elif rule == "most_complete":
            chosen[name] = "duplicate" if len(str(theirs)) > len(str(mine)) else "survivor"
        elif rule == "earliest":
            chosen[name] = "survivor" if survivor_earlier else "duplicate"
        elif rule == "preferred_source":
            if survivor_preferred is None:
                survivor_preferred = _source_rank(survivor) <= _source_rank(duplicate)
            chosen[name] = "survivor" if survivor_preferred else "duplicate"
        elif rule == "concatenate":
            chosen[name] = "both"
        else:
            chosen[name] = "survivor"
    return chosen


def _handler(path: str) -> Callable[..., Any]:
    module, _sep, name = path.rpartition(".")
    return getattr(import_module(module), name)


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
) -> CustomerMerge:
    """Merge `duplicate` into `survivor`: fields by survivorship rules, every related row moved.

    Both cards are locked for the duration (SELECT … FOR UPDATE on PostgreSQL). Orders,
    consents, source ids and every other table pointing at the duplicate are re-pointed to
    the survivor; the duplicate stays as an inactive card with `merged_into` set, so its id
    keeps resolving and the merge can be undone with `customer_merge_undo`.
    """
    if survivor.pk == duplicate.pk:
        raise ValidationError(_("No se puede fusionar una ficha consigo misma."))
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, duplicate.pk])}
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    if survivor.merged_into_id or duplicate.merged_into_id:
        raise ValidationError(_("Una de las fichas ya está fusionada en otra."))
    relations = customer_relations()
    collisions = {model._meta.label: _colliding_ids(model, field, survivor, duplicate)
                  for model, field in relations}
    for model, _field in relations:
        if collisions[model._meta.label] and _merge_policy(model) is None:
            raise ValidationError(
                _("No se puede fusionar: %(model)s no sabe combinar dos fichas.")
                % {"model": model._meta.label}
            )

    survivor_before, duplicate_before = _snapshot(survivor), _snapshot(duplicate)
    chosen = survivorship(survivor, duplicate, rules)
    changes: dict[str, tuple[Any, Any]] = {}
    for name, origin in chosen.items():
        old = getattr(survivor, name)
        if origin == "duplicate":
            new = getattr(duplicate, name)
        elif origin == "both":
            new = "\n\n".join(v for v in (old, getattr(duplicate, name)) if v)
        else:
            continue
        if new != old:
            setattr(survivor, name, new)
            changes[name] = (old, new)

    # The duplicate's unique identifiers must leave it before the survivor can take them.
    moved: dict[str, list[Any]] = {}
    one_to_one: dict[str, Any] = {}
    derived: dict[str, str] = {}
    for model, field in relations:
        label = model._meta.label
        colliding = collisions[label]
        if colliding:
            policy = _merge_policy(model)
            if policy == "derived":
                rows = model._default_manager.filter(pk__in=colliding)
                derived[label] = serializers.serialize("json", rows)
                rows.delete()
            else:
                # The handler combines them; they stay on the duplicate (for undo).
                one_to_one[label] = _handler(str(policy))(survivor, duplicate, colliding)
        ids = list(model._default_manager.filter(**{field.name: duplicate})
                   .exclude(pk__in=colliding).values_list("pk", flat=True))
        if ids:
            model._default_manager.filter(pk__in=ids).update(**{field.name: survivor})
            moved[label] = ids
    before_tags = set(survivor.interests.values_list("pk", flat=True))
    added_tags = [pk for pk in duplicate.interests.values_list("pk", flat=True) if pk not in before_tags]
    survivor.interests.add(*added_tags)

    survivor.full_clean()
    survivor.save()
    duplicate.merged_into = survivor
    duplicate.is_active = False
    duplicate.save(update_fields=["merged_into", "is_active", "updated_at"])

    merge = CustomerMerge.objects.create(
        survivor=survivor, duplicate=duplicate, created_by=actor.user, actor_label=actor.label[:150],
        automatic=automatic, score=score, reasons=reasons[:500],
        survivor_before=survivor_before, duplicate_before=duplicate_before,
        field_sources=chosen,
        moved={**moved, "_interests_added": added_tags, "_one_to_one": one_to_one,
               "_derived": derived},
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
    one_to_one = moved.pop("_one_to_one", {})
    added_tags = moved.pop("_interests_added", [])
    derived = moved.pop("_derived", {})
    for label, ids in moved.items():
        model = apps.get_model(label)
        field = next(f for m, f in customer_relations() if m is model)
        model._default_manager.filter(pk__in=ids).update(**{field.name: duplicate})
    for label, payload in one_to_one.items():
        _handler(str(_merge_policy(apps.get_model(label)))).undo(payload)  # type: ignore[attr-defined]
    for data in derived.values():
        for restored in serializers.deserialize("json", data):
            restored.save()
    survivor.interests.remove(*Tag.objects.filter(pk__in=added_tags))

    for card, before in ((survivor, merge.survivor_before), (duplicate, merge.duplicate_before)):
        for name in SNAPSHOT_FIELDS:
            field = Customer._meta.get_field(name)
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

