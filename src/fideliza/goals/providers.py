"""Where a goal's measure comes from when another app owns it: the NPS.

The NPS comes from the surveys app's answers (`surveys.selectors.nps_bands`, the default
source). Another source (an NPS collected by an outside tool) can replace it:

    from fideliza.goals.providers import nps_provider_register
    nps_provider_register(my_nps)

`my_nps(*, since, until, customers)` receives the period as instants [since, until) and
the customers the goal covers (a `Customer` query: the viewer's visible customers,
narrowed to the goal's representative or store buyers), and returns an `NpsFigure`, or
None when the period has no answers; the goals page then says «sin datos».
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.db.models import QuerySet


@dataclass(frozen=True)
class NpsFigure:
    promoters: int  # answers 9-10
    passives: int  # 7-8
    detractors: int  # 0-6

    @property
    def answers(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        """% promoters − % detractors, from -100 to 100 (None without answers)."""
        if not self.answers:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.answers


class NpsProvider(Protocol):
    def __call__(self, *, since: datetime, until: datetime, customers: QuerySet[Any]) -> NpsFigure | None: ...


_providers: list[NpsProvider] = []


def nps_provider_register(provider: NpsProvider) -> None:
    """Install the NPS source (the last one registered wins: there is one survey app)."""
    _providers[:] = [provider]


def nps_provider_clear() -> None:
    """Remove the NPS source (tests)."""
    _providers.clear()


def surveys_nps(*, since: datetime, until: datetime, customers: QuerySet[Any]) -> NpsFigure | None:
    """The default source: the NPS answers of Fideliza's own surveys."""
    from fideliza.surveys.selectors import nps_bands

    promoters, passives, detractors = nps_bands(since=since, until=until, customers=customers)
    return NpsFigure(promoters=promoters, passives=passives, detractors=detractors)


def nps_measure(*, since: datetime, until: datetime, customers: QuerySet[Any]) -> NpsFigure | None:
    """The NPS of the answers given in [since, until) by `customers`; None when there are
    no answers."""
    provider: NpsProvider = _providers[0] if _providers else surveys_nps
    figure = provider(since=since, until=until, customers=customers)
    return figure if figure is not None and figure.answers else None
