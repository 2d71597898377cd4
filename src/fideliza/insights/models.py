"""The stored analytics snapshot: what pages, segments and the API read.

`CustomerMetrics` holds the *current* snapshot only, one row per customer who has bought
(customers with no purchase have no row). A recompute replaces every row in one
transaction, so readers never see half a snapshot. History lives in `RfmMonthly` (the RFM
segment of every customer at each month end, to follow movement between segments) and in
the `SnapshotRun` rows (parameters, fit information, and the dashboard's aggregates).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fideliza.catalog.models import Product
from fideliza.core.money import MoneyField
from fideliza.customers.models import Customer


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("En cola")
    RUNNING = "running", _("Calculando")
    SUCCEEDED = "succeeded", _("Terminado")
    FAILED = "failed", _("Fallido")


class SnapshotRun(models.Model):
    """One recompute of the snapshot: when, for which date, how it went, what it fitted.

    `aggregates` holds the business-wide figures the dashboard draws (KPIs, Pareto curve,
    RFM grid, cohorts …) computed in the same pass, so the dashboard reads one row.
    """

    created_at = models.DateTimeField(_("solicitado"), auto_now_add=True)
    started_at = models.DateTimeField(_("inicio"), null=True, blank=True)
    finished_at = models.DateTimeField(_("fin"), null=True, blank=True)
    as_of = models.DateField(_("datos hasta"), null=True, blank=True)
    status = models.CharField(_("estado"), max_length=10, choices=RunStatus.choices,
                              default=RunStatus.QUEUED, db_index=True)
    progress = models.FloatField(_("progreso"), default=0.0, help_text=_("de 0 a 1"))
    stage = models.CharField(_("etapa"), max_length=120, blank=True)
    trigger = models.CharField(_("origen"), max_length=20, default="manual",
                               help_text=_("manual, nocturno, comando"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("solicitado por"))
    customers = models.PositiveIntegerField(_("clientes con compras"), default=0)
    transactions = models.PositiveIntegerField(_("pedidos leídos"), default=0)
    parameters = models.JSONField(_("parámetros y ajuste de los modelos"), default=dict, blank=True)
    warnings = models.JSONField(_("avisos"), default=list, blank=True)
    aggregates = models.JSONField(_("cifras agregadas"), default=dict, blank=True)
    timings = models.JSONField(_("tiempos (s)"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("cálculo de métricas")
        verbose_name_plural = _("cálculos de métricas")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__gte=0) & models.Q(progress__lte=1),
                                   name="snapshot_run_progress_0_1"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.as_of or ''} {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)


class AnalyticsState(models.Model):
    """A single row (pk=1): which run is current and since when new sales make it stale.

    `stale_since` is set by `insights.reactions` when orders or returns are recorded
    (a database flag, so every process sees it) and cleared by a recompute that started
    after it.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    current_run = models.ForeignKey(SnapshotRun, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("cálculo vigente"))
    stale_since = models.DateTimeField(_("ventas nuevas desde"), null=True, blank=True)

    class Meta:
        verbose_name = _("estado del análisis")
        verbose_name_plural = _("estado del análisis")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="analytics_state_single_row")]

    def __str__(self) -> str:
        return f"run {self.current_run_id}, stale since {self.stale_since}"


class CustomerMetrics(models.Model):
    """The current snapshot row of one customer (see the module docstring).

    Money totals (revenue, margin, historic CLV) are exact sums of the orders net of
    refunds; model outputs (predicted CLV) are quantized to cents when stored.
    """

    # A merge drops the duplicate's row (kept for undo); the next snapshot recomputes the
    # survivor from the combined purchases (customers.merging).
    MERGE_POLICY = "derived"

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE,
                                    related_name="metrics", verbose_name=_("cliente"))
    run = models.ForeignKey(SnapshotRun, on_delete=models.CASCADE, related_name="+",
                            verbose_name=_("cálculo"))

    # Purchases, net of refunds.
    first_purchase = models.DateField(_("primera compra"))
    last_purchase = models.DateField(_("última compra"))
    orders = models.PositiveIntegerField(_("pedidos"))
    revenue = MoneyField(_("ventas netas"))
    margin = MoneyField(_("margen"), null=True, blank=True,
                        help_text=_("vacío cuando ningún pedido tiene coste conocido"))
    average_order_value = MoneyField(_("ticket medio"))

    # BTYD summary (periods of one day; recency and T in days).
    frequency = models.PositiveIntegerField(_("compras repetidas"))
    recency = models.FloatField(_("recencia BTYD (días)"))
    age = models.FloatField(_("antigüedad T (días)"))
    monetary_value = MoneyField(_("valor medio de las compras repetidas"))

    # RFM.
    r_score = models.PositiveSmallIntegerField(_("R"))
    f_score = models.PositiveSmallIntegerField(_("F"))
    m_score = models.PositiveSmallIntegerField(_("M"))
    rfm_segment = models.CharField(_("segmento RFM"), max_length=20, db_index=True)

    # ABC and value tier.
    abc_revenue = models.CharField(_("ABC por ventas"), max_length=1, db_index=True)
    abc_margin = models.CharField(_("ABC por margen"), max_length=1, blank=True, db_index=True)
    value_tier = models.CharField(_("nivel de valor"), max_length=8, db_index=True)

    # Activity.
    activity_state = models.CharField(_("estado de actividad"), max_length=10, db_index=True)
    days_since_last = models.PositiveIntegerField(_("días desde la última compra"))
    usual_interval_days = models.FloatField(_("intervalo habitual (días)"), null=True, blank=True)

    # Predictions.
    predicted_purchases = models.FloatField(_("compras previstas"), null=True, blank=True)
    p_alive = models.FloatField(_("probabilidad de seguir activo"), null=True, blank=True,
                                db_index=True)
    # Which estimate gave p_alive: "paretonbd", "bgnbd" or "interval_rule" (one-time
    # buyers when Pareto/NBD is not available; BG/NBD would say 1 for all of them).
    p_alive_model = models.CharField(_("origen de la probabilidad"), max_length=16, blank=True,
                                     default="")
    churn_risk = models.FloatField(_("riesgo de abandono"), null=True, blank=True, db_index=True)
    churn_band = models.CharField(_("banda de riesgo"), max_length=10, blank=True, db_index=True)
    churn_reason = models.TextField(_("motivo del riesgo"), blank=True)
    expected_next_purchase = models.DateField(_("próxima compra esperada"), null=True, blank=True)
    clv_historic = MoneyField(_("CLV histórico"))
    clv_predicted = MoneyField(_("CLV previsto"), null=True, blank=True, db_index=True)

    # Cross-sell and relationship path.
    next_product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("siguiente producto"))
    next_category = models.CharField(_("siguiente categoría"), max_length=120, blank=True)
    next_reason = models.TextField(_("por qué ese producto"), blank=True)
    path_step = models.CharField(_("paso en el sendero"), max_length=8, blank=True)
    path_next_step = models.CharField(_("siguiente paso"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("métricas de cliente")
        verbose_name_plural = _("métricas de clientes")
        indexes = [models.Index(fields=["value_tier", "clv_predicted"], name="metrics_tier_clv_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(p_alive__isnull=True) | (models.Q(p_alive__gte=0) & models.Q(p_alive__lte=1)),
                name="metrics_p_alive_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.rfm_segment}"


class RfmMonthly(models.Model):
    """The RFM scores and segment of one customer at one month end (history, append-only)."""

    MERGE_POLICY = "derived"  # months both cards have: the survivor's history is kept

    period_end = models.DateField(_("fin de mes"))
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("cliente"))
    r_score = models.PositiveSmallIntegerField(_("R"))
    f_score = models.PositiveSmallIntegerField(_("F"))
    m_score = models.PositiveSmallIntegerField(_("M"))
    segment = models.CharField(_("segmento RFM"), max_length=20)

    class Meta:
        verbose_name = _("RFM mensual")
        verbose_name_plural = _("RFM mensual")
        constraints = [
            models.UniqueConstraint(fields=["customer", "period_end"], name="rfm_monthly_unique"),
        ]
        indexes = [models.Index(fields=["period_end", "segment"], name="rfm_monthly_period_seg_idx")]

    def __str__(self) -> str:
        return f"{self.period_end} {self.customer_id} {self.segment}"
