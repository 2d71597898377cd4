"""Everything held about one customer, as plain data (data-subject access; merge checks).

Tables are discovered from Django's model metadata: every model with a foreign key to the
customer, and the rows hanging from those rows (order lines, return lines …), so a table
added by a later app is exported without being listed here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models

from .models import Customer

# How the printable copy words a field that stores a code of another app ("insights.
# CustomerMetrics.rfm_segment" → «Campeones»): the owning app registers it (customers sits
# below the apps whose tables point at the customer).
ValueReader = Callable[[Any], str]
_READERS: dict[str, ValueReader] = {}


def export_reader_register(model_label: str, field_name: str, reader: ValueReader) -> None:
    _READERS[f"{model_label}.{field_name}"] = reader


def export_reader(model_label: str, field_name: str) -> ValueReader | None:
    return _READERS.get(f"{model_label}.{field_name}")


MAX_DEPTH = 3
_SKIP = {"customers.CustomerMerge", "customers.MatchCandidate", "customers.Customer"}


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def _row(obj: models.Model) -> dict[str, Any]:
    return {f.attname: _value(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def _children(model: type[models.Model], rows: list[models.Model], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if depth > MAX_DEPTH or not rows:
        return out
    for rel in model._meta.related_objects:
        child = rel.related_model
        label = child._meta.label
        if rel.many_to_many or label in _SKIP:
            continue
        found = list(child._default_manager.filter(**{f"{rel.field.name}__in": rows}).order_by("pk"))
        if found:
            out.setdefault(label, []).extend(_row(o) for o in found)
            for key, value in _children(child, found, depth + 1).items():
                out.setdefault(key, []).extend(value)
    return out


def customer_export_data(customer: Customer) -> dict[str, Any]:
    """{"customer": card fields, "interests": [...], "<app.Model>": [rows…]} for one customer."""
    data: dict[str, Any] = {
        "customer": _row(customer),
        "interests": sorted(customer.interests.values_list("name", flat=True)),
    }
    for label, rows in _children(Customer, [customer], 1).items():
        data[label] = sorted(rows, key=lambda r: r.get("id") or 0)
    return data
