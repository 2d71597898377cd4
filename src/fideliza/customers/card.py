"""Reads for the customer card page: consent per channel, the card's audit history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.models import AuditLog
from fideliza.accounts.selectors import audit_history, user_names
from fideliza.core.money import MoneyField, money_format

from .models import Channel, ConsentRecord, ConsentStatus, Customer
from .services import AUDIT_ENTITY


@dataclass(frozen=True)
class ChannelConsent:
    channel: str
    label: str
    granted: bool | None  # None: never asked
    since: datetime | None
    source: str


def consent_overview(*, customer: Customer) -> tuple[list[ChannelConsent], list[ConsentRecord]]:
    """(current state of every channel, full append-only history newest first)."""
    history = list(
        ConsentRecord.objects.filter(customer=customer).select_related("recorded_by")
        .order_by("-recorded_at", "-id")
    )
    latest: dict[str, ConsentRecord] = {}
    for record in history:
        latest.setdefault(record.channel, record)
    current = []
    for value, label in Channel.choices:
        rec = latest.get(value)
        current.append(ChannelConsent(
            channel=value, label=str(label),
            granted=None if rec is None else rec.status == ConsentStatus.GRANTED,
            since=rec.recorded_at if rec else None, source=rec.source if rec else "",
        ))
    return current, history


@dataclass(frozen=True)
class AuditChange:
    field: str
    label: str
    old: Any
    new: Any


@dataclass(frozen=True)
class AuditEntry:
    row: AuditLog
    changes: list[AuditChange]


def _field_label(name: str) -> str:
    if name == "interests":
        return str(capfirst(_("intereses y aficiones")))
    if name.startswith("consent_") and name[8:] in Channel.values:
        return f"{capfirst(_('consentimiento'))} ({Channel(name[8:]).label})"
    try:
        return str(capfirst(getattr(Customer._meta.get_field(name), "verbose_name", name)))
    except FieldDoesNotExist:
        return name


def _display(name: str, value: Any, users: dict[int, str]) -> Any:
    """A stored audit value as people read it: choice labels, Sí/No, the user's name."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return _("Sí") if value else _("No")
    if name.startswith("consent_") and isinstance(value, str) and value.lower() in ("true", "false"):
        return _("Sí") if value.lower() == "true" else _("No")
    if name == "account_executive" and isinstance(value, int):
        return users.get(value, f"#{value}")
    try:
        field = Customer._meta.get_field(name)
    except FieldDoesNotExist:
        return value
    choices = dict(getattr(field, "flatchoices", None) or [])
    if choices:
        return choices.get(value, value)
    return _formatted(field, value)


def _formatted(field: Any, value: Any) -> Any:
    """Money with its currency, dates and decimals in the reader's format (audit rows store
    them as ISO text and plain decimals)."""
    try:
        if isinstance(field, MoneyField):
            return money_format(value)
        if isinstance(field, models.DateTimeField) and isinstance(value, str):
            return date_format(timezone.localtime(datetime.fromisoformat(value)), "SHORT_DATETIME_FORMAT")
        if isinstance(field, models.DateField) and isinstance(value, str):
            return date_format(date.fromisoformat(value[:10]), "SHORT_DATE_FORMAT")
        if isinstance(field, models.DecimalField):
            return number_format(Decimal(str(value)), use_l10n=True)
    except (ValueError, ArithmeticError):
        pass
    return value


def customer_audit_entries(*, customer: Customer, limit: int = 200) -> list[AuditEntry]:
    """The card's audit rows with readable field names and values, newest first."""
    rows = list(audit_history(entity=AUDIT_ENTITY, entity_id=customer.pk, limit=limit))
    pairs = [
        [(f, *(v if isinstance(v, list | tuple) and len(v) == 2 else (None, v)))
         for f, v in (row.changes or {}).items()]
        for row in rows
    ]
    user_ids = {v for entry in pairs for f, *values in entry if f == "account_executive"
                for v in values if isinstance(v, int)}
    users = user_names(user_ids)
    return [
        AuditEntry(row=row, changes=[
            AuditChange(field=f, label=_field_label(f), old=_display(f, old, users),
                        new=_display(f, new, users))
            for f, old, new in entry
        ])
        for row, entry in zip(rows, pairs, strict=True)
    ]
