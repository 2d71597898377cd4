from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from fideliza.accounts.services import Actor
from fideliza.customers.services import consent_record, customer_create
from fideliza.engagement.services import MessageRequest

_seq = itertools.count(1)


def make_customer(*, consent: tuple[str, ...] = ("email", "sms"), **data):
    n = next(_seq)
    data.setdefault("first_name", f"Cliente{n}")
    data.setdefault("email", f"cliente{n}@example.com")
    data.setdefault("phone", f"+3461{n:07d}")
    customer = customer_create(actor=Actor.system("tests"), data=data)
    for channel in consent:
        consent_record(customer=customer, channel=channel, granted=True, source="tests")
    return customer


def request(customer, *, key: str | None = None, channel="email", kind="marketing", source="campaign:1",
            over_budget="skip", topic="", subject="Hola", body_text="Hola {name}", body_html="",
            not_before: datetime | None = None, tracking=True) -> MessageRequest:
    return MessageRequest(
        customer_id=customer.pk, channel=channel, kind=kind, source=source,
        dedupe_key=key or f"{source}:{customer.pk}:{channel}:{next(_seq)}",
        subject=subject, body_text=body_text.replace("{name}", customer.first_name), body_html=body_html,
        topic=topic, over_budget=over_budget, not_before=not_before, tracking=tracking,
    )


@pytest.fixture
def noon(settings):
    """A fixed moment outside the default quiet hours (12:00 Madrid)."""
    from zoneinfo import ZoneInfo

    return datetime(2026, 3, 10, 12, 0, tzinfo=ZoneInfo("Europe/Madrid"))


@pytest.fixture(autouse=True)
def _no_default_quiet_hours(settings):
    """Send-time re-checks use the real clock: keep default quiet hours out of tests that do
    not ask for them (tests of quiet hours create a ContactBudget row with them)."""
    settings.FIDELIZA_QUIET_HOURS_START = ""
    settings.FIDELIZA_QUIET_HOURS_END = ""
    settings.FIDELIZA_PUBLIC_URL = "https://tienda.example"
    settings.DEFAULT_FROM_EMAIL = "Tienda <hola@tienda.example>"
