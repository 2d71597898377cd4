"""Customers through `customers.services.customer_create` (normalisation, audit row)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from fideliza.accounts.services import Actor
from fideliza.customers.models import ConsentRecord, Customer
from fideliza.customers.services import consent_record, customer_create

_seq = itertools.count(1)


def customer_make(*, actor: Actor | None = None, source: str | None = None, external_id: str | None = None,
                  interests: Iterable[str] = (), **data: Any) -> Customer:
    """A customer card; `data` are card fields (first_name, email, city…).

    Without a name, e-mail or phone the card gets a numbered first name and e-mail, so
    that any two made here are distinct people.
    """
    if not any(data.get(k) for k in ("first_name", "last_name", "company_name", "email", "phone")):
        n = next(_seq)
        data.setdefault("first_name", f"Cliente{n}")
        data.setdefault("email", f"cliente{n}@example.com")
    return customer_create(actor=actor or Actor.system("tests"), data=data, source=source,
                           external_id=external_id, interests=interests)


def consent_grant(customer: Customer, *, at: datetime, channel: str = "email",
                  source: str = "tests") -> ConsentRecord:
    """A granted consent record for `channel`, recorded at `at` (append-only, as the till does)."""
    return consent_record(customer=customer, channel=channel, granted=True, source=source, at=at)
