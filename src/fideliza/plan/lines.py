"""The weekly action lists of the six moves: a registry of lines, one provider each.

A line is a count of customers with something to do about them — «14 clientes Platino sin
contacto en 30 días» — and the customers behind it. This app registers its own lines
(`plan.builtin`); any app above it adds its own without editing this one, from its
`AppConfig.ready()`:

    from fideliza.plan.lines import Line, line_register

    line_register(Line(
        key="promoters_no_referrals", move="referenciacion",
        singular="%(n)s promotor sin referidos", plural="%(n)s promotores sin referidos",
        action="Pedir referidos a un promotor", how="NPS 9-10 en la última encuesta y …",
        customers=lambda ctx: ctx.base.filter(pk__in=my_selectors.promoters()).exclude(…),
    ))

(the texts wrapped in `gettext_lazy` / `ngettext_lazy` in real code.) The provider
receives a `LineContext` and returns a query of customers narrowed from `ctx.base` — the
customers the viewer may see, current and active — so a sales representative's list has
only their customers, and no query per customer is made: the page counts it and shows the
first few; the one-click actions (follow-ups, segment, campaign) take it whole. Keys are
stable (the record of actions taken keeps them); `order` places the line within its move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import QuerySet
from django.utils.formats import number_format
from django.utils.functional import Promise

from fideliza.accounts.models import User
from fideliza.customers.models import Customer


@dataclass(frozen=True)
class LineContext:
    user: User
    now: datetime
    today: date  # in the business's zone
    base: QuerySet[Customer]  # the customers `user` may see, current and active


@dataclass(frozen=True)
class Line:
    key: str
    move: str  # a slug of plan.models.Move
    singular: Promise | str  # "%(n)s cliente …" (ngettext's two forms)
    plural: Promise | str
    action: Promise | str  # the follow-up's title for each customer
    how: Promise | str  # how the list is drawn, in words (shown under it)
    customers: Callable[[LineContext], QuerySet[Customer]]
    order: int = 100

    def text(self, n: int) -> str:
        """The count in words (Spanish and English: one form for 1, another for the rest)."""
        return str(self.singular if n == 1 else self.plural) % {"n": number_format(n, force_grouping=True)}


_lines: dict[str, Line] = {}


def line_register(line: Line) -> None:
    """Add (or replace, by key) a line of the weekly lists."""
    _lines[line.key] = line


def line_unregister(key: str) -> None:
    _lines.pop(key, None)


def line_get(key: str) -> Line | None:
    return _lines.get(key)


def lines_of(move: str) -> list[Line]:
    return sorted((line for line in _lines.values() if line.move == move), key=lambda line: (line.order, line.key))


def lines_all() -> list[Line]:
    return sorted(_lines.values(), key=lambda line: (line.move, line.order, line.key))
