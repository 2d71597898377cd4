"""Reads of retention goals and their progress.

Each measure is computed from the sales (`sales.selectors.orders_between`, set-based
aggregates) or the current analytics snapshot (`insights.selectors.metrics_lookup`), over
the customers the viewer may see, narrowed to the goal's representative (their assigned
customers) or store (orders placed there). The words of each formula are shown on the page
next to the figures that went into it (`Progress.formula`, `Progress.figures`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from fideliza.accounts.models import Role, User
from fideliza.core.money import default_currency, money_format, quantize_money
from fideliza.customers.selectors import customers_visible_to
from fideliza.insights.selectors import metrics_lookup, snapshot_as_of
from fideliza.sales.selectors import orders_between

from .models import GoalMetric, PeriodKind, RetentionGoal
from .providers import nps_measure

# Lower is better for these measures; higher for every other.
LOWER_IS_BETTER = {GoalMetric.CHURN_RATE}
PERCENT = {GoalMetric.RETENTION_RATE, GoalMetric.CHURN_RATE}
# A customer counts as reactivated when they had not bought for this long before the period.
DORMANT_DAYS = 365
EDITORS = {Role.OWNER, Role.MARKETING}


def may_edit_goals(user: User) -> bool:
    return user.is_superuser or user.role in EDITORS


def goals_visible_to(user: User) -> QuerySet[RetentionGoal]:
    """Owner, marketing and support see every goal; a sales representative their own."""
    goals = RetentionGoal.objects.select_related("store", "sales_rep")
    return goals.filter(sales_rep=user) if user.is_sales_rep else goals


# --- periods ------------------------------------------------------------------------------

def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_start_of(kind: str, day: date) -> date:
    """The first day of the month, quarter or year that contains `day`."""
    if kind == PeriodKind.YEAR:
        return date(day.year, 1, 1)
    if kind == PeriodKind.QUARTER:
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, day.month, 1)


def period_months(kind: str) -> int:
    return {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}[PeriodKind(kind)]


def period_bounds(kind: str, start: date) -> tuple[date, date]:
    """[first day, first day of the next period)."""
    return start, _add_months(start, period_months(kind))


def previous_period(kind: str, start: date) -> tuple[date, date]:
    return _add_months(start, -period_months(kind)), start


def period_label(kind: str, start: date) -> str:
    if kind == PeriodKind.YEAR:
        return str(start.year)
    if kind == PeriodKind.QUARTER:
        return _("T%(q)s %(year)s") % {"q": (start.month - 1) // 3 + 1, "year": start.year}
    return date_format(start, "YEAR_MONTH_FORMAT")


def _instant(day: date) -> datetime:
    """Local midnight of `day` in the business's zone (DST-safe: midnight always exists in Madrid)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(settings.TIME_ZONE))


# --- progress -----------------------------------------------------------------------------

@dataclass
class Progress:
    goal: RetentionGoal
    period: str
    value: Decimal | None  # None: «sin datos»
    shown: str  # the value as the page prints it
    target_shown: str
    formula: str  # the formula, in words
    figures: str  # the figures that went into it ("120 ÷ 300")
    status: str  # "met", "behind", "no_data", "not_started"
    share: float  # 0..1, how far towards the target (the bar)
    partial: bool  # the period is not over: figures up to today

    @property
    def status_label(self) -> str:
        return {"met": _("Cumplida"), "behind": _("Por debajo de la meta"),
                "no_data": _("sin datos"), "not_started": _("El periodo aún no ha empezado")}[self.status]


def _percent(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(100) * numerator / denominator).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _number(value: Decimal | int) -> str:
    from django.utils.formats import number_format

    return number_format(value, decimal_pos=1 if isinstance(value, Decimal) and value != value.to_integral() else 0,
                         use_l10n=True, force_grouping=True)


def goal_customers(goal: RetentionGoal, viewer: User) -> QuerySet[Any]:
    """The customers a goal covers, as `viewer` sees them."""
    customers = customers_visible_to(viewer)
    if goal.sales_rep_id is not None:
        customers = customers.filter(account_executive_id=goal.sales_rep_id)
    return customers


def _orders_of_everyone(goal: RetentionGoal, viewer: User) -> bool:
    """Whether the goal's orders are every order (no customer filter needed): a viewer who
    sees every customer, on a goal of the whole business or a store. Orders of merged
    cards belong to the surviving card, so no order is of a hidden customer."""
    return viewer.sees_all_customers and goal.sales_rep_id is None


def _show(metric: str, value: Decimal | None) -> str:
    if value is None:
        return _("sin datos")
    if metric in PERCENT:
        return f"{_number(value)} %"
    if metric == GoalMetric.AVERAGE_PURCHASE:
        return money_format(value, default_currency())
    return _number(value)


def goal_progress(goal: RetentionGoal, *, viewer: User, now: datetime | None = None) -> Progress:
    """How far `goal` is, computed now, over the customers `viewer` may see."""
    now = now or timezone.now()
    start, end = period_bounds(goal.period_kind, goal.period_start)
    since, until = _instant(start), min(_instant(end), now)
    customers = goal_customers(goal, viewer)
    metric = GoalMetric(goal.metric)
    currency = default_currency()

    everyone = _orders_of_everyone(goal, viewer)

    def orders(a: datetime | None, b: datetime) -> QuerySet[Any]:
        return orders_between(since=a, until=b, customers=None if everyone else customers, store_id=goal.store_id,
                              currency=currency)

    value: Decimal | None
    figures = ""
    if metric in (GoalMetric.RETENTION_RATE, GoalMetric.CHURN_RATE):
        p_start, p_end = previous_period(goal.period_kind, goal.period_start)
        before = orders(_instant(p_start), _instant(p_end)).order_by().values("customer_id").distinct()
        base = before.count()
        retained = (orders(since, until).filter(customer_id__in=before).order_by()
                    .values("customer_id").distinct().count()) if until > since else 0
        part = retained if metric == GoalMetric.RETENTION_RATE else base - retained
        value = _percent(part, base)
        figures = f"{_number(part)} ÷ {_number(base)}"
        formula = (_("Clientes que compraron en el periodo anterior (%(prev)s) y han vuelto a comprar en este ÷ "
                     "clientes que compraron en el periodo anterior.")
                   if metric == GoalMetric.RETENTION_RATE else
                   _("Clientes que compraron en el periodo anterior (%(prev)s) y no han vuelto a comprar en este ÷ "
                     "clientes que compraron en el periodo anterior (los que dejan de comprar ÷ el total).")
                   ) % {"prev": period_label(goal.period_kind, p_start)}
    elif metric == GoalMetric.REACTIVATED:
        gap = _instant(start - timedelta(days=DORMANT_DAYS))
        recent = orders(gap, since).order_by().values("customer_id")
        older = orders(None, gap).order_by().values("customer_id")
        n = (orders(since, until).filter(customer_id__in=older).exclude(customer_id__in=recent)
             .order_by().values("customer_id").distinct().count()) if until > since else 0
        value, figures = Decimal(n), _number(n)
        formula = _("Clientes que compraron en el periodo, que ya habían comprado antes pero no en los "
                    "%(days)s días anteriores a su inicio.") % {"days": DORMANT_DAYS}
    elif metric == GoalMetric.AVERAGE_PURCHASE:
        totals = (orders(since, until).aggregate(revenue=Sum("total"), buyers=Count("customer_id", distinct=True))
                  if until > since else {"revenue": None, "buyers": 0})
        buyers, revenue = totals["buyers"] or 0, quantize_money(totals["revenue"] or 0)
        value = quantize_money(revenue / buyers) if buyers else None
        figures = f"{money_format(revenue, currency)} ÷ {_number(buyers)}"
        formula = _("Ventas del periodo (total de los pedidos en %(currency)s) ÷ clientes que compraron en el "
                    "periodo.") % {"currency": currency}
    elif metric == GoalMetric.CLASS_A:
        as_of = snapshot_as_of()
        in_a = customers.filter(**{metrics_lookup("abc_revenue"): "A"})
        if goal.store_id is not None:
            in_a = in_a.filter(pk__in=orders(since, until).values("customer_id"))
        value = Decimal(in_a.count()) if as_of is not None else None
        figures = _number(value) if value is not None else ""
        formula = _("Clientes en la clase A del ranking ABC por ventas (los que suman el 80 %% de las ventas de "
                    "los últimos 12 meses), según el último cálculo de la analítica (%(as_of)s).") % {
            "as_of": date_format(as_of, "SHORT_DATE_FORMAT") if as_of else _("todavía no calculada")}
        if goal.store_id is not None:
            formula += " " + _("Solo quienes compraron en esa tienda en el periodo.")
    else:
        figure = nps_measure(since=since, until=until, customers=customers) if until > since else None
        score = figure.score if figure is not None else None
        value = Decimal(str(round(score, 1))) if score is not None else None
        if figure is not None:
            figures = _("%(p)s promotores, %(d)s detractores, %(n)s respuestas") % {
                "p": figure.promoters, "d": figure.detractors, "n": figure.answers}
        formula = _("Porcentaje de promotores (9-10) menos porcentaje de detractores (0-6) de las encuestas "
                    "respondidas en el periodo. Fideliza aún no hace encuestas: sin datos hasta que existan.")
    return _progress(goal, metric, value, formula, figures, now=now, start=start, end=end)


def _progress(goal: RetentionGoal, metric: GoalMetric, value: Decimal | None, formula: str, figures: str, *,
              now: datetime, start: date, end: date) -> Progress:
    target = goal.target
    if _instant(start) > now:
        status, share = "not_started", 0.0
    elif value is None:
        status, share = "no_data", 0.0
    elif metric in LOWER_IS_BETTER:
        status = "met" if value <= target else "behind"
        share = 1.0 if value <= target else float(target / value) if value else 1.0
    else:
        status = "met" if value >= target else "behind"
        share = 1.0 if target <= 0 or value >= target else max(0.0, float(value / target))
    return Progress(goal=goal, period=period_label(goal.period_kind, goal.period_start), value=value,
                    shown=_show(metric, value), target_shown=_show(metric, target), formula=formula,
                    figures=figures, status=status, share=share, partial=_instant(end) > now)


def goals_progress(*, viewer: User, day: date | None = None, now: datetime | None = None) -> list[Progress]:
    """Every goal `viewer` sees whose period contains `day` (default: today) or ended before
    it in the same year, current periods first."""
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    goals = goals_visible_to(viewer).filter(period_start__lte=day, period_start__gte=date(day.year - 1, 1, 1))
    rows = [goal_progress(g, viewer=viewer, now=now) for g in goals]
    current = [r for r in rows if period_bounds(r.goal.period_kind, r.goal.period_start)[1] > day]
    past = [r for r in rows if r not in current]
    order = {PeriodKind.YEAR: 0, PeriodKind.QUARTER: 1, PeriodKind.MONTH: 2}
    current.sort(key=lambda r: (order[PeriodKind(r.goal.period_kind)], r.goal.metric, r.goal.pk))
    return current + past


def goals_future(*, viewer: User, day: date) -> QuerySet[RetentionGoal]:
    """Goals whose period starts after `day`."""
    return goals_visible_to(viewer).filter(period_start__gt=day).order_by("period_start", "metric")
