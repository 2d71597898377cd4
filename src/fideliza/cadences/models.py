"""Contact cadences (seed 004 «Interactúe»: every customer, at the cost they are worth).

A `CadenceRule` says how often the customers of one loyalty tier or one segment should be
contacted by a person («Platino: llamar cada 30 días»), which kinds of logged interaction
count as that contact, and who gets the follow-up when one is missing.

The rule keeps no per-customer state. A customer's clock under a rule starts at the latest
of: their last logged interaction of a counting kind, the closing of the rule's last
follow-up for them (done or cancelled: somebody dealt with it), and the rule's start date
(for customers never contacted). They fall due `every_days` calendar days later (in the
business's zone); the daily job (`services.cadences_run`) then creates one follow-up,
never a second while one is open (`followups.FollowUp`'s partial unique constraint).
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.models import Role
from fideliza.followups.models import FollowUpPriority

DEFAULT_TITLE = "Contactar con {{ nombre_completo }}: {{ dias_sin_contacto }} días sin contacto ({{ cadencia }})"


class Audience(models.TextChoices):
    TIER = "tier", _("Un nivel del programa de fidelización")
    SEGMENT = "segment", _("Un segmento")


class AssignTo(models.TextChoices):
    EXECUTIVE = "executive", _("El ejecutivo de cuenta del cliente; si no tiene, el rol")
    ROLE = "role", _("Siempre el rol")


class CadenceRule(models.Model):
    name = models.CharField(_("nombre"), max_length=120)
    audience = models.CharField(_("a quién"), max_length=8, choices=Audience.choices, default=Audience.TIER)
    tier = models.ForeignKey("loyalty.Tier", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+", verbose_name=_("nivel"))
    segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("segmento"))
    every_days = models.PositiveIntegerField(_("cada (días)"), default=30,
                                             validators=[MinValueValidator(1), MaxValueValidator(3650)])
    kinds = models.JSONField(_("tipos de interacción que cuentan"), default=list)
    assign_to = models.CharField(_("quién recibe el seguimiento"), max_length=10, choices=AssignTo.choices,
                                 default=AssignTo.EXECUTIVE)
    role = models.CharField(_("rol"), max_length=16, choices=Role.choices, default=Role.OWNER,
                            help_text=_("Recibe el seguimiento cuando no hay ejecutivo de cuenta (o siempre)."))
    priority = models.PositiveSmallIntegerField(_("prioridad"), choices=FollowUpPriority.choices,
                                                default=FollowUpPriority.NORMAL)
    title_template = models.CharField(_("título del seguimiento"), max_length=300, default=DEFAULT_TITLE)
    due_time = models.TimeField(_("hora de vencimiento"), default=time(9, 0))
    starts_on = models.DateField(_("cuenta desde"),
                                 help_text=_("Para los clientes sin ningún contacto registrado, el reloj empieza "
                                             "este día. Una fecha pasada los hace vencer antes."))
    is_active = models.BooleanField(_("activa"), default=True)
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modificada"), auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    last_run_at = models.DateTimeField(_("última ejecución"), null=True, blank=True)
    last_run_created = models.PositiveIntegerField(_("seguimientos creados en la última ejecución"), default=0)

    class Meta:
        verbose_name = _("cadencia de contacto")
        verbose_name_plural = _("cadencias de contacto")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(audience="tier", tier__isnull=False, segment__isnull=True)
                           | models.Q(audience="segment", segment__isnull=False, tier__isnull=True)),
                name="cadence_rule_one_audience"),
            models.CheckConstraint(condition=models.Q(every_days__gte=1), name="cadence_rule_every_days_gte1"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def audience_label(self) -> str:
        target = self.tier if self.audience == Audience.TIER else self.segment
        return str(target) if target is not None else "—"

    def kinds_labels(self) -> list[str]:
        from fideliza.interactions.models import InteractionKind

        labels = dict(InteractionKind.choices)
        return [str(labels.get(k, k)) for k in self.kinds]
