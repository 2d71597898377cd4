"""Fixtures of the cadence tests: a program with Oro and Platino tiers, two sales
representatives, Platino customers of each and one without an account executive, one Oro
customer, and a helper to build rules. The clock is pinned by each test (time_machine)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from fideliza.accounts.services import Actor
from fideliza.cadences.models import CadenceRule
from fideliza.cadences.services import cadence_rule_save
from fideliza.customers.models import Customer
from fideliza.loyalty.models import Member, Tier
from fideliza.loyalty.services import loyalty_config_save
from tests.factories.customers import customer_make
from tests.factories.loyalty import member_make, program_make

TZ = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 6, 15, 11, 0, tzinfo=TZ)  # a Monday


@dataclass
class Shop:
    platino: Tier
    oro: Tier
    mine: list[Customer]  # rep's Platino customers
    theirs: Customer  # rep2's Platino customer
    nobody: Customer  # Platino, no account executive
    gold: Customer  # rep's Oro customer

    @property
    def platinum(self) -> list[Customer]:
        return [*self.mine, self.theirs, self.nobody]


def _user(django_user_model, username: str, role: str, first_name: str = ""):
    return django_user_model.objects.create_user(username=username, password="clave-segura-1", role=role,
                                                 first_name=first_name)


@pytest.fixture
def rep(django_user_model):
    return _user(django_user_model, "comercial1", "sales_rep", "Javier")


@pytest.fixture
def rep2(django_user_model):
    return _user(django_user_model, "comercial2", "sales_rep", "Marta")


def in_tier(customer: Customer, program, tier: Tier, at: datetime) -> None:
    member = member_make(customer, program, at=at)
    Member.objects.filter(pk=member.pk).update(tier=tier, tier_since=at)


def shop_build(owner, rep, rep2, *, at: datetime) -> Shop:
    actor = Actor.of(owner)
    with time_machine.travel(at, tick=False):
        program = program_make(actor=actor)
        oro = loyalty_config_save(obj=Tier(program=program, name="Oro", rank=1, threshold=500), actor=actor)
        platino = loyalty_config_save(obj=Tier(program=program, name="Platino", rank=2, threshold=2000), actor=actor)
        mine = [customer_make(actor=actor, first_name="Lucía", last_name="García", account_executive=rep),
                customer_make(actor=actor, first_name="Pedro", last_name="Sanz", account_executive=rep)]
        theirs = customer_make(actor=actor, first_name="Tomás", last_name="Ibáñez", account_executive=rep2)
        nobody = customer_make(actor=actor, first_name="Elena", last_name="Ruiz")
        gold = customer_make(actor=actor, first_name="Ana", last_name="Oro", account_executive=rep)
        for c in [*mine, theirs, nobody]:
            in_tier(c, program, platino, at)
        in_tier(gold, program, oro, at)
    return Shop(platino, oro, mine, theirs, nobody, gold)


@pytest.fixture
def shop(owner, rep, rep2):
    return shop_build(owner, rep, rep2, at=NOW - timedelta(days=400))


def rule_make(owner, *, tier: Tier | None = None, segment=None, every_days: int = 30,
              kinds: tuple[str, ...] = ("call", "visit"), starts_on: date, **data) -> CadenceRule:
    fields = {"name": data.pop("name", f"Cada {every_days} días"), "audience": "tier" if tier else "segment",
              "tier": tier, "segment": segment, "every_days": every_days, "kinds": list(kinds),
              "starts_on": starts_on, **data}
    return cadence_rule_save(actor=Actor.of(owner), data=fields)
