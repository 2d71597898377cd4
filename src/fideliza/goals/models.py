"""Retention goals: a target for one measure over one calendar period, for the whole
business, one store or one sales representative.

The progress is never stored: it is computed when read (`goals.selectors.goal_progress`)
from the sales and the analytics snapshot, so a goal never disagrees with the dashboard.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fideliza.sales.models import Store


class GoalMetric(models.TextChoices):
    RETENTION_RATE = "retention_rate", _("Tasa de retención")
    CHURN_RATE = "churn_rate", _("Índice de abandono")
    REACTIVATED = "reactivated", _("Clientes reactivados")
    AVERAGE_PURCHASE = "average_purchase", _("Compra promedio")
    CLASS_A = "class_a", _("Clientes clase A")
    NPS = "nps", _("NPS")


class PeriodKind(models.TextChoices):
    MONTH = "month", pgettext_lazy("period", "Mes")
    QUARTER = "quarter", pgettext_lazy("period", "Trimestre")
    YEAR = "year", pgettext_lazy("period", "Año")


class RetentionGoal(models.Model):
    """A target for `metric` over the calendar period that starts on `period_start`.

    `store` and `sales_rep` narrow the goal (at most one of them); neither: the whole
    business. Percentages (retention, churn) are stored as percents (85.0 = 85 %), the
    average purchase in the business's currency, counts as whole numbers, NPS from -100 to
    100.
    """

    metric = models.CharField(_("indicador"), max_length=20, choices=GoalMetric.choices)
    period_kind = models.CharField(_("periodo"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("inicio del periodo"))
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("tienda"))
    sales_rep = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="retention_goals", verbose_name=_("representante"))
    target = models.DecimalField(_("meta"), max_digits=12, decimal_places=2)
    notes = models.CharField(_("notas"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("creada por"))
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    updated_at = models.DateTimeField(_("actualizada"), auto_now=True)

    class Meta:
        verbose_name = _("meta de retención")
        verbose_name_plural = _("metas de retención")
        ordering = ["-period_start", "period_kind", "metric", "id"]
        indexes = [models.Index(fields=["period_start", "period_kind"], name="goal_period_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(store__isnull=True) | models.Q(sales_rep__isnull=True),
                                   name="goal_one_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.period_kind} {self.period_start}"
