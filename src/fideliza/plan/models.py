"""The six-moves plan: the items a business writes in the seed's tables («acción elegida —
cuándo — quién — cómo»), and the record of the one-click actions taken on a week's list.

Neither table keys a customer: a plan item is the business's own work, and the follow-ups
or the segment a one-click action creates live in their own apps (followups, segments),
pointing back here through `origin_kind="plan"` and `LineAction.segment_id`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Move(models.TextChoices):
    RELACION = "relacion", _("Relación")
    RETENCION = "retencion", _("Retención")
    RENTABILIZACION = "rentabilizacion", _("Rentabilización")
    REFERENCIACION = "referenciacion", _("Referenciación")
    RECUPERACION = "recuperacion", _("Recuperación")
    REACTIVACION = "reactivacion", _("Reactivación")


class PlanItemStatus(models.TextChoices):
    PENDING = "pending", _("Pendiente")
    IN_PROGRESS = "in_progress", _("En curso")
    DONE = "done", _("Hecha")
    CANCELLED = "cancelled", _("Cancelada")


class PlanItem(models.Model):
    """One chosen action of a move, as the seed's tables ask for it."""

    move = models.CharField(_("movimiento"), max_length=16, choices=Move.choices)
    action = models.CharField(_("acción elegida"), max_length=200)
    when = models.CharField(_("cuándo"), max_length=120, blank=True, help_text=_("por ejemplo: cada lunes"))
    who = models.CharField(_("quién"), max_length=120, blank=True, help_text=_("por ejemplo: los comerciales"))
    how = models.TextField(_("cómo"), blank=True)
    line_key = models.CharField(_("lista de la semana"), max_length=40, blank=True,
                                help_text=_("la lista de clientes a la que responde, si alguna"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plan_items",
                              verbose_name=_("responsable"))
    due_date = models.DateField(_("fecha límite"))
    status = models.CharField(_("estado"), max_length=12, choices=PlanItemStatus.choices,
                              default=PlanItemStatus.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("creada por"))
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    updated_at = models.DateTimeField(_("actualizada"), auto_now=True)

    class Meta:
        verbose_name = _("acción del plan")
        verbose_name_plural = _("acciones del plan")
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["move", "status", "due_date"], name="planitem_move_idx"),
                   models.Index(fields=["owner", "status", "due_date"], name="planitem_owner_idx")]

    def __str__(self) -> str:
        return self.action

    @property
    def is_open(self) -> bool:
        return self.status in (PlanItemStatus.PENDING, PlanItemStatus.IN_PROGRESS)


class ActionKind(models.TextChoices):
    FOLLOWUPS = "followups", _("Seguimientos creados")
    SEGMENT = "segment", _("Guardada como segmento")


class LineAction(models.Model):
    """A one-click action on a line of the week's list: one row per line, week and kind.

    Clicking again in the same week reuses the row: follow-ups are created only for the
    line's customers who have none from it yet (`origin_kind="plan"`, `origin_id` = this
    row), and the segment is the same fixed list, with the new customers added.
    """

    line_key = models.CharField(_("lista"), max_length=40)
    week_start = models.DateField(_("semana del"))
    kind = models.CharField(_("acción"), max_length=10, choices=ActionKind.choices)
    segment_id = models.PositiveBigIntegerField(_("segmento"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("clientes"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("creada por"))
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    updated_at = models.DateTimeField(_("actualizada"), auto_now=True)

    class Meta:
        verbose_name = _("acción sobre una lista")
        verbose_name_plural = _("acciones sobre listas")
        constraints = [models.UniqueConstraint(fields=["line_key", "week_start", "kind"], name="lineaction_once")]

    def __str__(self) -> str:
        return f"{self.line_key} {self.week_start} {self.kind}"
