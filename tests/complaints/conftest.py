"""Fixtures of the complaints tests: an owner, two sales representatives with a customer
each, a clock pinned to Monday 20 July 2026, 10:00 in Lima (Peru's rules by default)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from fideliza.accounts.services import Actor
from fideliza.complaints.services import Filing
from tests.factories.customers import customer_make

LIMA = ZoneInfo("America/Lima")
NOW = datetime(2026, 7, 20, 10, 0, tzinfo=LIMA)  # a Monday, a week before Fiestas Patrias


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _peru(settings):
    settings.FIDELIZA_COMPLAINTS_RULES = "PE"
    # The per-address limit has its own test; the others post many times from one address.
    settings.FIDELIZA_COMPLAINTS_PER_HOUR = 0


@pytest.fixture
def rep(django_user_model):
    return django_user_model.objects.create_user(username="comercial1", password="clave-segura-1",
                                                 role="sales_rep", first_name="Javier")


@pytest.fixture
def rep2(django_user_model):
    return django_user_model.objects.create_user(username="comercial2", password="clave-segura-1",
                                                 role="sales_rep", first_name="Marta")


@pytest.fixture
def people(owner, rep, rep2, clock):
    actor = Actor.of(owner)
    return {
        "mine": customer_make(actor=actor, first_name="Lucía", last_name="García", email="lucia@example.com",
                              account_executive=rep),
        "theirs": customer_make(actor=actor, first_name="Tomás", last_name="Ibáñez", email="tomas@example.com",
                                account_executive=rep2),
    }


def filing(**fields) -> Filing:
    """A valid Peru «reclamo» unless `fields` say otherwise."""
    data = {"rules": "PE", "kind": "reclamo", "name": "Rosa Quispe", "email": "rosa@example.com",
            "document_number": "45678912", "address": "Av. Arequipa 123, Lima",
            "description": "El taladro que compré dejó de funcionar a los dos días.",
            "request": "Cambio del producto."}
    data.update(fields)
    return Filing(**data)
