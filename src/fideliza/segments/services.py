"""Writes for segments: create, change, recompute membership, fixed lists."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import User
from fideliza.customers.normalize import normalize_email
from fideliza.customers.selectors import (
    customer_id_by_email,
    customer_id_by_source,
    customer_ids_current,
)

from .models import Segment, SegmentKind, SegmentMember
from .rules import compile_rules
from .selectors import customers_matching

BATCH = 5000


def _validate(kind: str, rules: dict) -> None:
    if kind == SegmentKind.DYNAMIC:
        if not rules or not (rules.get("rules") or rules.get("field")):
            raise ValidationError({"rules": _("Un segmento dinámico necesita al menos una regla.")})
        compile_rules(rules)


@transaction.atomic
def segment_create(*, user: User | None, name: str, kind: str = SegmentKind.DYNAMIC,
                   rules: dict | None = None, description: str = "") -> Segment:
    rules = rules or {}
    _validate(kind, rules)
    segment = Segment(name=name.strip(), kind=kind, rules=rules, description=description, created_by=user)
    segment.full_clean()
    segment.save()
    if kind == SegmentKind.DYNAMIC:
        segment_refresh(segment=segment)
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, name: str | None = None, rules: dict | None = None,
                   description: str | None = None) -> Segment:
    if name is not None:
        segment.name = name.strip()
    if description is not None:
        segment.description = description
    if rules is not None:
        _validate(segment.kind, rules)
        segment.rules = rules
    segment.full_clean()
    segment.save()
    if rules is not None and segment.kind == SegmentKind.DYNAMIC:
        segment_refresh(segment=segment)
    return segment


@transaction.atomic
def segment_refresh(*, segment: Segment) -> tuple[int, int]:
    """Recompute a dynamic segment's members; returns (added, removed)."""
    if segment.kind != SegmentKind.DYNAMIC:
        return 0, 0
    wanted = set(customers_matching(segment.rules).values_list("pk", flat=True))
    current = set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))
    to_add, to_remove = wanted - current, current - wanted
    removed_ids = sorted(to_remove)
    for i in range(0, len(removed_ids), BATCH):
        SegmentMember.objects.filter(segment=segment, customer_id__in=removed_ids[i:i + BATCH]).delete()
    SegmentMember.objects.bulk_create([SegmentMember(segment=segment, customer_id=pk) for pk in sorted(to_add)],
                                      batch_size=BATCH)
    segment.member_count = len(wanted)
    segment.computed_at = timezone.now()
    segment.save(update_fields=["member_count", "computed_at"])
    return len(to_add), len(to_remove)


def segments_refresh_all() -> dict[int, tuple[int, int]]:
    """Recompute every dynamic segment (after an analytics snapshot, nightly, on demand)."""
    return {s.pk: segment_refresh(segment=s)
            for s in Segment.objects.filter(kind=SegmentKind.DYNAMIC, is_archived=False)}


@transaction.atomic
def segment_static_add(*, segment: Segment, customer_ids: Iterable[int]) -> int:
    if segment.kind != SegmentKind.STATIC:
        raise ValidationError(_("Solo se añaden clientes a mano a una lista fija."))
    ids = customer_ids_current(customer_ids)
    ids -= set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))
    SegmentMember.objects.bulk_create([SegmentMember(segment=segment, customer_id=pk) for pk in sorted(ids)],
                                      batch_size=BATCH)
    segment.member_count = SegmentMember.objects.filter(segment=segment).count()
    segment.computed_at = timezone.now()
    segment.save(update_fields=["member_count", "computed_at"])
    return len(ids)


@transaction.atomic
def segment_static_remove(*, segment: Segment, customer_ids: Iterable[int]) -> int:
    deleted, _details = SegmentMember.objects.filter(segment=segment, customer_id__in=list(customer_ids)).delete()
    segment.member_count = SegmentMember.objects.filter(segment=segment).count()
    segment.save(update_fields=["member_count"])
    return deleted


def static_list_resolve(text: str) -> tuple[list[int], list[dict[str, Any]]]:
    """Customer ids from a CSV with a column `id`, `email` or `source`+`external_id`.

    Returns the ids found and one error per row that matched no customer (row, value,
    message), so the user sees exactly what was not added.
    """
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    fields = {(f or "").strip().lower(): f for f in (reader.fieldnames or [])}
    if not ({"id", "email", "e-mail", "correo"} & set(fields) or {"source", "external_id"} <= set(fields)):
        raise ValidationError(_("El archivo necesita una columna «id», «email» o «source» y «external_id»."))
    ids: list[int] = []
    errors: list[dict[str, Any]] = []
    for row_no, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        found = None
        if row.get("id", "").isdigit():
            found = next(iter(customer_ids_current([int(row["id"])])), None)
        elif row.get("email") or row.get("e-mail") or row.get("correo"):
            email = normalize_email(row.get("email") or row.get("e-mail") or row["correo"])
            found = customer_id_by_email(email)
        elif row.get("source") and row.get("external_id"):
            found = customer_id_by_source(row["source"], row["external_id"])
        if found is None:
            errors.append({"row": row_no, "value": ", ".join(v for v in row.values() if v),
                           "message": _("No se encontró ningún cliente.")})
        else:
            ids.append(found)
    return ids, errors
