"""The demo business's retention goals: this year's, this quarter's and this month's, for
the whole business, one store and each sales representative, so the goals page has content
on the first `make run`. Idempotent (nothing is added when the year already has goals)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fideliza.accounts.models import Role, User
from fideliza.accounts.selectors import users_active
from fideliza.sales.selectors import stores_all

from .models import GoalMetric, PeriodKind, RetentionGoal
from .selectors import period_start_of
from .services import goal_create

# (metric, period kind, target, notes)
BUSINESS: tuple[tuple[str, str, str, str], ...] = (
    (GoalMetric.RETENTION_RATE, PeriodKind.YEAR, "65", "Que dos de cada tres clientes del año pasado vuelvan."),
    (GoalMetric.CHURN_RATE, PeriodKind.YEAR, "35", ""),
    (GoalMetric.REACTIVATED, PeriodKind.YEAR, "150", "Campañas de reactivación trimestrales."),
    (GoalMetric.AVERAGE_PURCHASE, PeriodKind.YEAR, "220", ""),
    (GoalMetric.CLASS_A, PeriodKind.YEAR, "600", ""),
    (GoalMetric.NPS, PeriodKind.YEAR, "40", "Cuando empecemos las encuestas."),
    (GoalMetric.RETENTION_RATE, PeriodKind.QUARTER, "40", ""),
    (GoalMetric.AVERAGE_PURCHASE, PeriodKind.QUARTER, "90", ""),
    (GoalMetric.REACTIVATED, PeriodKind.MONTH, "12", ""),
)


def goals_demo_create(*, today: date, owner: User) -> int:
    """Create the demo's goals for `today`'s year, quarter and month; returns how many."""
    if RetentionGoal.objects.filter(period_start__year=today.year).exists():
        return 0
    created = 0
    for metric, kind, target, notes in BUSINESS:
        goal_create(user=owner, metric=metric, period_kind=kind, period_start=period_start_of(kind, today),
                    target=Decimal(target), notes=notes)
        created += 1
    store = stores_all().first()
    if store is not None:
        goal_create(user=owner, metric=GoalMetric.AVERAGE_PURCHASE, period_kind=PeriodKind.QUARTER,
                    period_start=period_start_of(PeriodKind.QUARTER, today), target=Decimal("80"), store=store)
        created += 1
    for rep in users_active().filter(role=Role.SALES_REP):
        goal_create(user=owner, metric=GoalMetric.RETENTION_RATE, period_kind=PeriodKind.QUARTER,
                    period_start=period_start_of(PeriodKind.QUARTER, today), target=Decimal("60"), sales_rep=rep,
                    notes="Sus cuentas de empresa.")
        created += 1
    return created
