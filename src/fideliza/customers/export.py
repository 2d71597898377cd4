"""Everything held about one customer, as plain data (data-subject access; merge checks).

Tables are discovered from Django's model metadata: every model with a foreign key to the
customer (hidden ones, declared with `related_name="+"`, included), and the rows hanging
from those rows (order lines, return lines …), so a table added by a later app is exported
without being listed here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from fideliza.core.exports import Sheet
from fideliza.core.money import MoneyField, money_format

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


def _field_label(field: models.Field) -> str:
    """The field's name in the reader's language; a foreign key without one of its own is
    named after the model it points to."""
    if field.is_relation and field.related_model is not None \
            and field.verbose_name == field.name.replace("_", " "):
        return str(capfirst(field.related_model._meta.verbose_name))
    return str(capfirst(field.verbose_name))


def _typed(field: models.Field, value: Any) -> Any:
    """A value of customer_export_data back to a spreadsheet type; codes as their label."""
    if value is None or value == "":
        return value
    reader = export_reader(field.model._meta.label, field.name)
    if reader is not None:
        return reader(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return _("Sí") if value else _("No")
    if isinstance(field, models.DecimalField):
        return Decimal(value)
    if isinstance(field, models.DateTimeField):
        return datetime.fromisoformat(value)
    if isinstance(field, models.DateField):
        return date.fromisoformat(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def _readable(field: models.Field, value: Any, row: dict[str, Any]) -> str:
    """A value as its reader writes it on the printable page: choice labels, codes worded by
    their app, local dates and times, money with its currency, «Sí»/«No»."""
    typed = _typed(field, value)
    if typed is None or typed == "":
        return ""
    if isinstance(field, MoneyField):
        return money_format(typed, row.get("currency") or None)
    if isinstance(typed, datetime):
        local = timezone.localtime(typed) if timezone.is_aware(typed) else typed
        return date_format(local, "SHORT_DATETIME_FORMAT")
    if isinstance(typed, date):
        return date_format(typed, "SHORT_DATE_FORMAT")
    if isinstance(typed, Decimal | float):
        return number_format(typed, use_l10n=True)
    return str(typed)


def customer_export_tables(customer: Customer, *, readable: bool = False) -> list[Sheet]:
    """customer_export_data as labelled tables: the card (field, value), the interests, then
    one table per model with the fields' names in the active language. Values are typed
    (numbers, dates) for a spreadsheet, or written out for a page with `readable=True`."""
    data = customer_export_data(customer)

    def cell(field: models.Field, value: Any, row: dict[str, Any]) -> Any:
        return _readable(field, value, row) if readable else _typed(field, value)

    fields = {f.attname: f for f in Customer._meta.concrete_fields}
    card = [(_field_label(fields[k]), cell(fields[k], v, data["customer"]))
            for k, v in data["customer"].items() if v not in (None, "") and k in fields]
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
            header=[_field_label(f) for f in columns],
            rows=[[cell(f, row.get(f.attname), row) for f in columns] for row in rows],
        ))
    return tables
