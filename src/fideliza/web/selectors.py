"""Reads for the home page: a few figures, each one aggregate query on indexed columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from fideliza.accounts.models import User
from fideliza.customers.selectors import customers_visible_to
from fideliza.imports.models import ImportRun
from fideliza.imports.selectors import import_runs_recent
from fideliza.sales.selectors import CurrencyTotals, PeriodTotals, sales_totals


@dataclass(frozen=True)
class HomeFigures:
    customers: int
    since: datetime
    period: PeriodTotals
    currency: str

    @property
    def main_totals(self) -> CurrencyTotals | None:
        """The totals in the business currency (other currencies are listed apart)."""
        return next((t for t in self.period.by_currency if t.currency == self.currency), None)

    @property
    def other_totals(self) -> list[CurrencyTotals]:
        return [t for t in self.period.by_currency if t.currency != self.currency]


def home_figures(*, user: User, now: datetime | None = None) -> HomeFigures:
    """Active customer cards, and orders, revenue and buyers of the last 12 months.

    A sales representative gets the figures of their own customers only.
    """
    now = now or timezone.now()
    since = now - timedelta(days=365)
    customers = customers_visible_to(user).filter(is_active=True).count()
    period = sales_totals(since=since, account_executive_id=user.pk if user.is_sales_rep else None)
    return HomeFigures(customers=customers, since=since, period=period,
                       currency=settings.FIDELIZA_DEFAULT_CURRENCY)


def recent_imports(*, user: User, limit: int = 5) -> QuerySet[ImportRun]:
    """The latest imports; a sales representative sees only their own."""
    return import_runs_recent(user=user, limit=limit)
