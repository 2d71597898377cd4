"""Follow-ups (seguimientos): something a person of the business must do about one customer.

Every part of the relationship work hands work to people through this one table: a next
step logged with an interaction, a contact cadence, an automation step, a survey answer, a
complaint, an event, a plan item. The origin is kept as a kind plus the id of the row that
created it (no generic relation: the customers' policy tests enumerate plain columns).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fideliza.accounts.models import Role
from fideliza.customers.models import Customer


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Pendiente")
    DONE = "done", _("Hecho")
    CANCELLED = "cancelled", _("Cancelado")
    SNOOZED = "snoozed", _("Aplazado")


class FollowUpPriority(models.IntegerChoices):
    HIGH = 1, pgettext_lazy("priority", "Alta")
    NORMAL = 2, pgettext_lazy("priority", "Normal")
    LOW = 3, pgettext_lazy("priority", "Baja")


class FollowUpOrigin(models.TextChoices):
    MANUAL = "manual", _("Creado a mano")
    INTERACTION = "interaction", _("Siguiente paso de una interacción")
    CADENCE = "cadence", _("Cadencia de contacto")
    AUTOMATION = "automation", _("Paso de una automatización")
    SURVEY = "survey", _("Encuesta")
    COMPLAINT = "complaint", _("Queja")
    EVENT = "event", _("Evento")
    PLAN = "plan", _("Plan de acción")


class FollowUp(models.Model):
    """One thing to do about one customer, for one person (or for a role while nobody is named).

    `due_at` is an instant (stored in UTC); the forms and the API take the date and time in
    the business's zone (`followups.services.local_moment`). A snoozed follow-up comes back
    on `snoozed_until`; until it is completed or cancelled it stays on «Mi día».
    """

    MERGE_POLICY = "move"  # the person's pending work follows the person

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="followups",
                                 verbose_name=_("cliente"))
    title = models.CharField(_("qué hacer"), max_length=200)
    notes = models.TextField(_("notas"), blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="followups", verbose_name=_("responsable"))
    assignee_role = models.CharField(_("rol responsable"), max_length=16, choices=Role.choices, blank=True,
                                     help_text=_("cuando no hay una persona asignada"))
    due_at = models.DateTimeField(_("vence"))
    priority = models.PositiveSmallIntegerField(_("prioridad"), choices=FollowUpPriority.choices,
                                                default=FollowUpPriority.NORMAL)
    origin_kind = models.CharField(_("origen"), max_length=12, choices=FollowUpOrigin.choices,
                                   default=FollowUpOrigin.MANUAL)
    origin_id = models.PositiveBigIntegerField(_("id del origen"), null=True, blank=True)
    status = models.CharField(_("estado"), max_length=10, choices=FollowUpStatus.choices,
                              default=FollowUpStatus.OPEN)
    snoozed_until = models.DateTimeField(_("aplazado hasta"), null=True, blank=True)
    status_reason = models.CharField(_("motivo"), max_length=300, blank=True,
                                     help_text=_("por qué se aplazó o se canceló"))
    outcome = models.TextField(_("resultado"), blank=True)
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("creado por"))
    closed_at = models.DateTimeField(_("cerrado"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("cerrado por"))
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)

    class Meta:
        verbose_name = _("seguimiento")
        verbose_name_plural = _("seguimientos")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="followup_assignee_idx"),
            models.Index(fields=["assignee_role", "status", "due_at"], name="followup_role_idx"),
            models.Index(fields=["status", "due_at"], name="followup_status_due_idx"),
            models.Index(fields=["due_at", "id"], name="followup_due_idx"),  # the API's pages
            models.Index(fields=["customer", "status"], name="followup_customer_idx"),
            # An origin's follow-ups of one customer: what a cadence's daily evaluation asks
            # for every customer of its audience (pending, or closed since a moment).
            models.Index(fields=["origin_kind", "origin_id", "customer", "closed_at"], name="followup_origin_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(assignee__isnull=False) | ~models.Q(assignee_role=""),
                                   name="followup_has_assignee"),
            models.CheckConstraint(condition=~models.Q(status="snoozed") | models.Q(snoozed_until__isnull=False),
                                   name="followup_snoozed_has_until"),
            # A contact cadence never has two pending follow-ups for one customer: two
            # schedulers running at once insert the second one as a no-op (cadences.services).
            models.UniqueConstraint(fields=["origin_id", "customer"],
                                    condition=models.Q(origin_kind="cadence", status__in=["open", "snoozed"]),
                                    name="followup_one_open_per_cadence"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.customer_id})"

    @property
    def is_closed(self) -> bool:
        return self.status in (FollowUpStatus.DONE, FollowUpStatus.CANCELLED)

    @property
    def assignee_label(self) -> str:
        if self.assignee is not None:
            return self.assignee.get_full_name() or self.assignee.get_username()
        return str(Role(self.assignee_role).label) if self.assignee_role else ""
