"""Fixtures of the interaction-log tests (the same as the follow-ups' ones)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from fideliza.accounts.services import Actor
from tests.factories.customers import customer_make

TZ = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 6, 15, 11, 0, tzinfo=TZ)  # a Monday


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _user(django_user_model, username: str, role: str, first_name: str = ""):
    return django_user_model.objects.create_user(username=username, password="clave-segura-1", role=role,
                                                 first_name=first_name)


@pytest.fixture
def rep(django_user_model):
    return _user(django_user_model, "comercial1", "sales_rep", "Javier")


@pytest.fixture
def rep2(django_user_model):
    return _user(django_user_model, "comercial2", "sales_rep", "Marta")


@pytest.fixture
def people(owner, rep, rep2, clock):
    """{"mine": rep's customer, "theirs": rep2's customer, "nobody": an unassigned one}."""
    actor = Actor.of(owner)
    return {
        "mine": customer_make(actor=actor, first_name="Lucía", last_name="García", account_executive=rep),
        "theirs": customer_make(actor=actor, first_name="Tomás", last_name="Ibáñez", account_executive=rep2),
        "nobody": customer_make(actor=actor, first_name="Elena", last_name="Ruiz"),
    }
