"""Programs, members and points through `loyalty.services` (audit rows, ledger, lots)."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Any

from fideliza.accounts.services import Actor
from fideliza.catalog.models import Category
from fideliza.customers.models import Customer
from fideliza.loyalty.models import EarningRule, LedgerEntry, Member, Program, RuleKind
from fideliza.loyalty.services import loyalty_config_save, member_enroll, points_adjust

_seq = itertools.count(1)


def program_make(*, actor: Actor | None = None, rules: bool = True, **fields: Any) -> Program:
    """A program (1 point per euro unless `rules=False`); `fields` override the defaults."""
    actor = actor or Actor.system("tests")
    fields.setdefault("name", f"Club {next(_seq)}")
    fields.setdefault("point_value", Decimal("0.01"))
    program = loyalty_config_save(obj=Program(**fields), actor=actor)
    if rules:
        rule_make(program, name="Base", points=1, actor=actor)
    return program  # type: ignore[return-value]


def rule_make(program: Program, *, name: str, points: int = 1, multiplier: Decimal | int = 1,
              category: Category | None = None, kind: str = RuleKind.PER_AMOUNT,
              actor: Actor | None = None, **fields: Any) -> EarningRule:
    rule = EarningRule(program=program, name=name, kind=kind, points=points, multiplier=multiplier,
                       category=category, **fields)
    return loyalty_config_save(obj=rule, actor=actor or Actor.system("tests"))  # type: ignore[return-value]


def member_make(customer: Customer, program: Program, *, at: datetime | None = None) -> Member:
    """Enrol `customer` (welcome points included, as at the till)."""
    return member_enroll(program=program, customer=customer, actor=Actor.system("tests"), at=at)


def points_give(member: Member, points: int, *, reason: str = "Ajuste de prueba") -> LedgerEntry:
    """A manual adjustment by staff (positive or negative), dated now: pin the clock."""
    return points_adjust(member=member, points=points, reason=reason, actor=Actor.system("tests"))
