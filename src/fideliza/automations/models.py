"""Automations: journeys that start by themselves when something happens to a customer.

An `Automation` has a trigger (first purchase, birthday, inactivity …) and numbered
`AutomationStep`s. Each time the trigger fires for a customer an `Enrollment` is written,
unique per (automation, customer, trigger key) so a trigger evaluated every 15 minutes
enrols once (the key says which occurrence: "birthday:2026", "order:123"). The enrolment
is drawn into the treated or the holdout group at that moment; holdout enrolments walk the
same steps but receive nothing, which is what the uplift report compares against.
`StepRun` is the append-only log of every step decision (queued, deferred, skipped …).

A customer is in at most one ACTIVE enrolment of an automation at a time (a partial unique
constraint): a new occurrence while one is running is folded into it and recorded as an
`Occurrence`, never sent again; three lots of points expiring are one notice. Switching an
automation on with "new causes only" (the default) records the occurrences that already
held at that moment as `Occurrence`s too, so they never enrol: only causes from the
activation on do.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.models import Role
from fideliza.core.money import MoneyField
from fideliza.customers.models import Customer
from fideliza.engagement.models import OverBudget
from fideliza.followups.models import FollowUpPriority
from fideliza.loyalty.models import OfferKind


class TriggerKind(models.TextChoices):
    WELCOME = "welcome", _("Bienvenida tras la primera compra")
    POST_PURCHASE = "post_purchase", _("Seguimiento tras una compra")
    BIRTHDAY = "birthday", _("Cumpleaños")
    INACTIVITY = "inactivity", _("Inactividad: supera su intervalo habitual")
    WINBACK = "winback", _("Recuperación de clientes dormidos")
    POINTS_EXPIRING = "points_expiring", _("Puntos a punto de caducar")
    TIER_CHANGE = "tier_change", _("Cambio de nivel")
    REFERRAL_THANKS = "referral_thanks", _("Agradecimiento por recomendar")


class StepCondition(models.TextChoices):
    NONE = "", _("Siempre")
    STOP_IF_PURCHASED = "stop_if_purchased", _("Detener si ha comprado desde la inscripción")
    ONLY_IF_INACTIVE = "only_if_inactive", _("Solo si sigue inactivo (si no, detener)")


class StepKind(models.TextChoices):
    MESSAGE = "message", _("Enviar un mensaje")
    FOLLOWUP = "followup", _("Crear un seguimiento (pasar el cliente a una persona)")


class FollowUpAssignTo(models.TextChoices):
    EXECUTIVE = "executive", _("El ejecutivo de cuenta del cliente; si no tiene, el rol")
    ROLE = "role", _("Siempre el rol")


class Group(models.TextChoices):
    TREATED = "treated", _("Tratamiento")
    HOLDOUT = "holdout", _("Control (no recibe nada)")


class EnrollmentState(models.TextChoices):
    ACTIVE = "active", _("En curso")
    COMPLETED = "completed", _("Terminada")
    STOPPED = "stopped", _("Detenida")


class ActivationScope(models.TextChoices):
    NEW = "new", _("Solo causas nuevas, desde la activación")
    EXISTING = "existing", _("También quienes ya cumplían la condición al activarla")


class OccurrenceOutcome(models.TextChoices):
    FOLDED = "folded", _("Sumada a la inscripción en curso")
    EXISTING = "existing", _("Ya se cumplía al activar la automatización")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("En cola")
    DEFERRED = "deferred", _("Aplazado")
    SKIPPED = "skipped", _("Omitido")
    DUPLICATE = "duplicate", _("Duplicado")
    HOLDOUT = "holdout", _("Grupo de control")
    STOPPED = "stopped", _("Detenida por condición")
    FOLLOWUP = "followup", _("Seguimiento creado")


class Automation(models.Model):
    name = models.CharField(_("nombre"), max_length=120)
    description = models.TextField(_("descripción"), blank=True)
    trigger_kind = models.CharField(_("disparador"), max_length=20, choices=TriggerKind.choices)
    trigger_params = models.JSONField(_("parámetros del disparador"), default=dict, blank=True)
    channels = models.JSONField(_("canales permitidos"), default=list,
                                help_text=_("Se usa el canal preferido del cliente entre estos."))
    topic = models.CharField(_("tema"), max_length=40, blank=True,
                             help_text=_("Tema de las preferencias del cliente (vacío: general)."))
    holdout_share = models.DecimalField(_("grupo de control"), max_digits=4, decimal_places=3,
                                        default=0.1, help_text=_("Fracción de 0 a 0,9."))
    over_budget = models.CharField(_("si supera el presupuesto de contactos"), max_length=5,
                                   choices=OverBudget.choices, default=OverBudget.SKIP)
    conversion_days = models.PositiveIntegerField(_("ventana de conversión (días)"), default=14)
    is_active = models.BooleanField(_("activa"), default=False)
    activated_at = models.DateTimeField(_("activa desde"), null=True, blank=True)
    activation_scope = models.CharField(_("al activarla"), max_length=8, choices=ActivationScope.choices,
                                        default=ActivationScope.NEW)
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modificada"), auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    last_run_at = models.DateTimeField(_("última ejecución"), null=True, blank=True)
    last_run_stats = models.JSONField(_("cifras de la última ejecución"), default=dict, blank=True)

    class Meta:
        verbose_name = _("automatización")
        verbose_name_plural = _("automatizaciones")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(holdout_share__gte=0) & models.Q(holdout_share__lte=0.9),
                                   name="automation_holdout_share_range"),
            models.CheckConstraint(condition=models.Q(over_budget__in=["skip", "defer"]),
                                   name="automation_over_budget_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class AutomationStep(models.Model):
    """One step of the sequence, due `delay` after the previous step (the first: after
    enrolment): a message (content per channel, rendered with the engagement templating)
    or a follow-up for a person of the team («crear seguimiento»: title and notes rendered
    with the same variables, due `followup_due_days` calendar days later, for the
    customer's account executive or a role)."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="steps",
                                   verbose_name=_("automatización"))
    position = models.PositiveSmallIntegerField(_("paso"))
    delay_days = models.PositiveIntegerField(_("espera (días)"), default=0)
    delay_hours = models.PositiveIntegerField(_("espera (horas)"), default=0)
    condition = models.CharField(_("condición"), max_length=20, choices=StepCondition.choices,
                                 blank=True, default=StepCondition.NONE)
    kind = models.CharField(_("qué hace el paso"), max_length=10, choices=StepKind.choices,
                            default=StepKind.MESSAGE)
    email_subject = models.CharField(_("asunto del e-mail"), max_length=200, blank=True)
    email_text = models.TextField(_("e-mail (texto)"), blank=True)
    email_html = models.TextField(_("e-mail (HTML)"), blank=True)
    sms_text = models.TextField(_("texto corto (SMS, webhook)"), blank=True)
    offer_kind = models.CharField(_("oferta"), max_length=8, choices=OfferKind.choices, blank=True,
                                  default=OfferKind.NONE)
    offer_value = models.DecimalField(_("valor de la oferta"), max_digits=10, decimal_places=2, default=0)
    offer_valid_days = models.PositiveIntegerField(_("validez del cupón (días)"), default=30)
    offer_min_purchase = MoneyField(_("compra mínima del cupón"), default=0)
    followup_title = models.CharField(_("seguimiento: qué hacer"), max_length=300, blank=True,
                                      help_text=_("Con las mismas variables que los mensajes, p. ej. "
                                                  "«Llamar a {{ nombre_completo }}»."))
    followup_text = models.TextField(_("seguimiento: notas"), blank=True)
    followup_due_days = models.PositiveIntegerField(_("seguimiento: vence a los (días)"), default=0)
    followup_assign_to = models.CharField(_("seguimiento: para quién"), max_length=10,
                                          choices=FollowUpAssignTo.choices, default=FollowUpAssignTo.EXECUTIVE)
    followup_role = models.CharField(_("seguimiento: rol"), max_length=16, choices=Role.choices,
                                     default=Role.OWNER)
    followup_priority = models.PositiveSmallIntegerField(_("seguimiento: prioridad"),
                                                         choices=FollowUpPriority.choices,
                                                         default=FollowUpPriority.NORMAL)

    class Meta:
        verbose_name = _("paso")
        verbose_name_plural = _("pasos")
        ordering = ["automation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["automation", "position"], name="automation_step_position_unique"),
            models.CheckConstraint(condition=models.Q(offer_value__gte=0), name="automation_step_offer_gte0"),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id}#{self.position}"


class Enrollment(models.Model):
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="enrollments",
                                   verbose_name=_("automatización"))
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="automation_enrollments",
                                 verbose_name=_("cliente"))
    trigger_key = models.CharField(_("ocurrencia del disparador"), max_length=80)
    context = models.JSONField(_("datos del disparador"), default=dict, blank=True)
    group = models.CharField(_("grupo"), max_length=8, choices=Group.choices)
    enrolled_at = models.DateTimeField(_("inscrito"), db_index=True)
    state = models.CharField(_("estado"), max_length=10, choices=EnrollmentState.choices,
                             default=EnrollmentState.ACTIVE)
    stop_reason = models.CharField(_("motivo de la detención"), max_length=40, blank=True)
    next_step = models.PositiveSmallIntegerField(_("siguiente paso"), null=True, blank=True)
    next_due_at = models.DateTimeField(_("siguiente paso el"), null=True, blank=True)

    class Meta:
        verbose_name = _("inscripción")
        verbose_name_plural = _("inscripciones")
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["automation", "customer", "trigger_key"],
                                    name="automation_enrollment_once"),
            # One journey at a time per customer: concurrent runs cannot start a second one.
            models.UniqueConstraint(fields=["automation", "customer"], condition=models.Q(state="active"),
                                    name="automation_enrollment_one_active"),
            models.CheckConstraint(condition=models.Q(state="active", next_due_at__isnull=False)
                                   | ~models.Q(state="active"), name="automation_enrollment_active_due"),
        ]
        indexes = [models.Index(fields=["state", "next_due_at"], name="automation_enrollment_due_idx"),
                   models.Index(fields=["automation", "group"], name="automation_enrollment_grp_idx")]

    def __str__(self) -> str:
        return f"{self.automation_id}:{self.customer_id}:{self.trigger_key}"


class Occurrence(models.Model):
    """A trigger occurrence that did not start an enrolment of its own.

    `folded`: it happened while the customer was already in an active enrolment of the
    automation (`enrollment`), which carries on without sending anything more for it.
    `existing`: it already held when the automation was last switched on with "new causes
    only" (each activation replaces these rows). Either way the key is taken: runs do not
    enrol it.
    """

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="occurrences",
                                   verbose_name=_("automatización"))
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="automation_occurrences",
                                 verbose_name=_("cliente"))
    trigger_key = models.CharField(_("ocurrencia del disparador"), max_length=80)
    context = models.JSONField(_("datos del disparador"), default=dict, blank=True)
    outcome = models.CharField(_("resultado"), max_length=8, choices=OccurrenceOutcome.choices)
    enrollment = models.ForeignKey(Enrollment, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="folded", verbose_name=_("inscripción"))
    recorded_at = models.DateTimeField(_("registrada"))

    # Merging two cards (customers.merging): an occurrence the survivor already holds makes
    # the duplicate's copy redundant (deleted, restored by undo); the others move with it.
    MERGE_POLICY = "derived"
    # Erasing a card (customers.privacy) blanks its trigger data, and the friend's name in
    # the referral thanks of whoever referred them (`services.occurrences_erase`, registered
    # in AutomationsConfig.ready).

    class Meta:
        verbose_name = _("ocurrencia no inscrita")
        verbose_name_plural = _("ocurrencias no inscritas")
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["automation", "customer", "trigger_key"],
                                    name="automation_occurrence_once"),
            models.CheckConstraint(condition=models.Q(outcome__in=["folded", "existing"]),
                                   name="automation_occurrence_outcome_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id}:{self.customer_id}:{self.trigger_key} ({self.outcome})"


class StepRun(models.Model):
    """Append-only: what happened to one step of one enrolment (never updated)."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="runs")
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="step_runs")
    position = models.PositiveSmallIntegerField(_("paso"))
    channel = models.CharField(_("canal"), max_length=10, blank=True)
    status = models.CharField(_("resultado"), max_length=10, choices=RunStatus.choices)
    reason = models.CharField(_("motivo"), max_length=120, blank=True)
    message_id = models.BigIntegerField(_("mensaje"), null=True, blank=True)
    coupon = models.ForeignKey("loyalty.Coupon", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("cupón"))
    send_at = models.DateTimeField(_("envío previsto"), null=True, blank=True)
    created_at = models.DateTimeField(_("registrado"), db_index=True)

    class Meta:
        verbose_name = _("ejecución de paso")
        verbose_name_plural = _("ejecuciones de pasos")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["enrollment", "position"], name="automation_step_run_once")]
        indexes = [models.Index(fields=["automation", "status"], name="automation_steprun_status_idx")]


class TierSeen(models.Model):
    """The tier rank each member had when automations last looked (-1 = none).

    Loyalty keeps only a member's current tier and `tier_since`, no history; comparing with
    this row is how a change is told to be an upgrade or a downgrade.
    """

    member = models.OneToOneField("loyalty.Member", primary_key=True, on_delete=models.CASCADE,
                                  related_name="+")
    rank = models.SmallIntegerField()
    observed_at = models.DateTimeField()
