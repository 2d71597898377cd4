"""Writes of retention goals: create, change, delete. The caller has checked that its
user may edit goals (`selectors.may_edit_goals`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from fideliza.accounts.models import User
from fideliza.sales.models import Store

from .models import GoalMetric, RetentionGoal
from .selectors import PERCENT, period_start_of


def _clean(goal: RetentionGoal) -> None:
    errors: dict[str, str] = {}
    if goal.period_start != period_start_of(goal.period_kind, goal.period_start):
        errors["period_start"] = _("Un periodo empieza el día 1 de su mes, trimestre o año.")
    if goal.store_id is not None and goal.sales_rep_id is not None:
        errors["store"] = _("Una meta es de una tienda o de un representante, no de ambos.")
    if goal.sales_rep is not None and not goal.sales_rep.is_sales_rep:
        errors["sales_rep"] = _("Ese usuario no es un representante de ventas.")
    target = goal.target
    if target is not None:
        if goal.metric in PERCENT and not Decimal(0) <= target <= Decimal(100):
            errors["target"] = _("Un porcentaje va de 0 a 100.")
        elif goal.metric == GoalMetric.NPS and not Decimal(-100) <= target <= Decimal(100):
            errors["target"] = _("El NPS va de -100 a 100.")
        elif goal.metric not in PERCENT and goal.metric != GoalMetric.NPS and target < 0:
            errors["target"] = _("La meta no puede ser negativa.")
        elif goal.metric in (GoalMetric.REACTIVATED, GoalMetric.CLASS_A) and target != target.to_integral():
            errors["target"] = _("Esta meta cuenta clientes: un número entero.")
    if errors:
        raise ValidationError(errors)
    duplicate = RetentionGoal.objects.filter(metric=goal.metric, period_kind=goal.period_kind,
                                             period_start=goal.period_start, store=goal.store,
                                             sales_rep=goal.sales_rep).exclude(pk=goal.pk)
    if duplicate.exists():
        raise ValidationError(_("Ya hay una meta de ese indicador para ese periodo y ámbito: cámbiela."),
                              code="duplicate")


@transaction.atomic
def goal_create(*, user: User | None, metric: str, period_kind: str, period_start: date, target: Decimal,
                store: Store | None = None, sales_rep: User | None = None, notes: str = "") -> RetentionGoal:
    goal = RetentionGoal(metric=metric, period_kind=period_kind, period_start=period_start, target=target,
                         store=store, sales_rep=sales_rep, notes=notes.strip(), created_by=user)
    goal.full_clean()
    _clean(goal)
    goal.save()
    return goal


@transaction.atomic
def goal_update(*, goal: RetentionGoal, metric: str, period_kind: str, period_start: date, target: Decimal,
                store: Store | None = None, sales_rep: User | None = None, notes: str = "") -> RetentionGoal:
    row = RetentionGoal.objects.select_for_update().get(pk=goal.pk)
    row.metric, row.period_kind, row.period_start, row.target = metric, period_kind, period_start, target
    row.store, row.sales_rep, row.notes = store, sales_rep, notes.strip()
    row.full_clean()
    _clean(row)
    row.save()
    return row


@transaction.atomic
def goal_delete(*, goal: RetentionGoal) -> None:
    RetentionGoal.objects.filter(pk=goal.pk).delete()
