"""Everything held about one customer, as plain data (data-subject access; merge checks).

Tables are discovered from Django's model metadata: every model with a foreign key to the
customer (hidden ones, declared with `related_name="+"`, included), and the rows hanging
from those rows (order lines, return lines …), so a table added by a later app is exported
without being listed here.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from fideliza.core.exports import Sheet

from .models import Customer

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
    # include_hidden: `related_objects` leaves out keys declared with related_name="+"
    # (delivery events, coupon uses …), which are the customer's data too.
    for rel in model._meta.get_fields(include_hidden=True):
        if not (isinstance(rel, models.ForeignObjectRel) and (rel.one_to_many or rel.one_to_one)):
            continue
        child = rel.related_model
        assert child is not None and not isinstance(child, str)
        label = child._meta.label
        if child._meta.auto_created or label in _SKIP:
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


def _typed(field: models.Field, value: Any) -> Any:
    """A value of customer_export_data back to a spreadsheet type, choices as their label."""
    if value is None or value == "":
        return value
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.DecimalField):
        return Decimal(value)
    if isinstance(field, models.DateTimeField):
        return datetime.fromisoformat(value)
    if isinstance(field, models.DateField):
        return date.fromisoformat(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def customer_export_tables(customer: Customer) -> list[Sheet]:
    """customer_export_data as labelled tables: the card (field, value), the interests, then
    one table per model with the fields' names in the active language."""
    data = customer_export_data(customer)
    fields = {f.attname: f for f in Customer._meta.concrete_fields}
    card = [(capfirst(fields[k].verbose_name), _typed(fields[k], v))
            for k, v in data["customer"].items() if v not in (None, "")]
    tables = [Sheet(title=_("Ficha"), header=[_("Dato"), _("Valor")], rows=card)]
    if data["interests"]:
        tables.append(Sheet(title=_("Intereses"), header=[_("Interés")],
                            rows=[(name,) for name in data["interests"]]))
    for label, rows in data.items():
        if label in ("customer", "interests"):
            continue
        model = apps.get_model(label)
        present = {k for row in rows for k in row}
        columns = [f for f in model._meta.concrete_fields if f.attname in present]
        tables.append(Sheet(
            title=capfirst(model._meta.verbose_name_plural),
            header=[capfirst(f.verbose_name) for f in columns],
            rows=[[_typed(f, row.get(f.attname)) for f in columns] for row in rows],
        ))
    return tables
