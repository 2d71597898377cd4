"""The outbox and everything that decides whether, when and how a message leaves.

`Message` is the outbox row, written in the same transaction as the decision to send it.
`DeliveryAttempt`, `DeliveryEvent` and `ContactDecision` are append-only history.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fideliza.customers.models import Customer


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    WEBHOOK = "webhook", _("Webhook")


class MessageKind(models.TextChoices):
    MARKETING = "marketing", pgettext_lazy("tipo de mensaje", "Comercial")
    TRANSACTIONAL = "transactional", _("Transaccional")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("En cola")
    DEFERRED = "deferred", _("Aplazado")
    SENDING = "sending", _("Enviándose")
    SENT = "sent", _("Enviado")
    FAILED = "failed", _("Fallido")
    BOUNCED = "bounced", _("Rebotado")
    CANCELLED = "cancelled", _("Cancelado")


# Statuses the worker may claim, and statuses that count against the contact budget.
CLAIMABLE = (MessageStatus.QUEUED, MessageStatus.DEFERRED)
COUNTED = (MessageStatus.QUEUED, MessageStatus.DEFERRED, MessageStatus.SENDING, MessageStatus.SENT)


class OverBudget(models.TextChoices):
    """What a sender wants done with a message over the contact budget (campaigns and
    automations offer the choice; the outbox applies it)."""

    SKIP = "skip", _("Omitir el mensaje")
    DEFER = "defer", _("Aplazarlo hasta que haya presupuesto")


def new_token() -> str:
    """A random, unguessable public token for the links inside one message."""
    return secrets.token_urlsafe(24)


class Message(models.Model):
    """One message to one customer over one channel: the outbox row."""

    # Indexes are few on purpose: a campaign inserts 100 000 rows at once. The customer is
    # covered by message_budget_idx, status and send_at by message_due_idx.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="messages",
                                 verbose_name=_("cliente"), db_index=False)
    channel = models.CharField(_("canal"), max_length=10, choices=MessageChannel.choices)
    kind = models.CharField(_("tipo"), max_length=16, choices=MessageKind.choices)
    topic = models.CharField(_("tema"), max_length=40, blank=True)
    source = models.CharField(_("origen"), max_length=100,
                              help_text=_("quién decidió enviarlo, p. ej. campaign:12"))
    dedupe_key = models.CharField(_("clave única"), max_length=200)
    address = models.CharField(_("dirección"), max_length=254,
                               help_text=_("correo o teléfono en el momento de ponerlo en cola"))
    subject = models.CharField(_("asunto"), max_length=300, blank=True)
    body_text = models.TextField(_("texto"), blank=True)
    body_html = models.TextField(_("HTML"), blank=True)
    tracking = models.BooleanField(_("seguimiento de aperturas y clics"), default=True)
    over_budget = models.CharField(_("si supera el límite"), max_length=8, choices=OverBudget.choices,
                                   default=OverBudget.SKIP)
    status = models.CharField(_("estado"), max_length=10, choices=MessageStatus.choices,
                              default=MessageStatus.QUEUED)
    send_at = models.DateTimeField(_("enviar a partir de"))
    attempts = models.PositiveSmallIntegerField(_("intentos"), default=0)
    next_attempt_at = models.DateTimeField(_("próximo intento"), null=True, blank=True)
    claim_id = models.CharField(_("reclamado por"), max_length=32, blank=True)
    claimed_at = models.DateTimeField(_("reclamado"), null=True, blank=True)
    last_error = models.TextField(_("último error"), blank=True)
    sent_at = models.DateTimeField(_("enviado"), null=True, blank=True)
    provider_id = models.CharField(_("id del proveedor"), max_length=255, blank=True)
    token = models.CharField(_("token público"), max_length=40, default=new_token)
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)

    class Meta:
        verbose_name = _("mensaje")
        verbose_name_plural = _("mensajes")
        ordering = ["-id"]
        # Declared here rather than with unique=/db_index= on the fields, so that PostgreSQL
        # does not add a second (LIKE-pattern) index to each: equality is all we look up.
        indexes = [
            models.Index(fields=["status", "send_at"], name="message_due_idx"),
            models.Index(fields=["customer", "kind", "send_at"], name="message_budget_idx"),
            models.Index(fields=["source"], name="message_source_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="message_dedupe_key_unique"),
            models.UniqueConstraint(fields=["token"], name="message_token_unique"),
            models.CheckConstraint(condition=models.Q(channel__in=MessageChannel.values),
                                   name="message_channel_valid"),
            models.CheckConstraint(condition=models.Q(kind__in=MessageKind.values),
                                   name="message_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.channel} → {self.address} ({self.status})"

    @property
    def rfc_message_id(self) -> str:
        """The e-mail Message-ID: stable per message, so a resend after a crash reuses it."""
        from django.conf import settings

        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">") or "fideliza.local"
        return f"<fideliza.{self.pk}.{self.token[:12]}@{domain}>"


class AttemptOutcome(models.TextChoices):
    SENT = "sent", _("Aceptado")
    TEMPORARY = "temporary", _("Error temporal")
    PERMANENT = "permanent", _("Error permanente")
    ABANDONED = "abandoned", _("Interrumpido (el proceso se detuvo)")


class DeliveryAttempt(models.Model):
    """Append-only: one try to hand a message to the SMTP server, gateway or webhook."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="delivery_attempts")
    number = models.PositiveSmallIntegerField(_("intento"))
    started_at = models.DateTimeField(_("inicio"))
    finished_at = models.DateTimeField(_("fin"), null=True, blank=True)
    outcome = models.CharField(_("resultado"), max_length=10, choices=AttemptOutcome.choices)
    error = models.TextField(_("error"), blank=True)
    claim_id = models.CharField(_("reclamado por"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("intento de entrega")
        verbose_name_plural = _("intentos de entrega")
        ordering = ["message", "number", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} #{self.number} {self.outcome}"


class EventKind(models.TextChoices):
    SENT = "sent", _("Enviado")
    DELIVERED = "delivered", _("Entregado")
    BOUNCED = "bounced", _("Rebotado")
    OPENED = "opened", _("Abierto")
    CLICKED = "clicked", _("Clic")
    UNSUBSCRIBED = "unsubscribed", _("Baja")
    COMPLAINED = "complained", _("Queja (spam)")
    FAILED = "failed", _("Fallido")
    CANCELLED = "cancelled", _("Cancelado")


class DeliveryEvent(models.Model):
    """Append-only: what happened to a message after it was queued (feeds campaign results)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("evento"), max_length=14, choices=EventKind.choices, db_index=True)
    at = models.DateTimeField(_("cuándo"), db_index=True)
    detail = models.JSONField(_("detalle"), default=dict, blank=True)

    class Meta:
        verbose_name = _("evento de entrega")
        verbose_name_plural = _("eventos de entrega")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["message", "kind"], name="event_message_kind_idx")]

    def __str__(self) -> str:
        return f"{self.message_id} {self.kind}"


class DecisionStatus(models.TextChoices):
    SKIPPED = "skipped", _("Omitido")
    DEFERRED = "deferred", _("Aplazado")
    CANCELLED = "cancelled", _("Cancelado al enviar")


class DecisionReason(models.TextChoices):
    NO_CONSENT = "no_consent", _("Sin consentimiento para el canal")
    SUPPRESSED = "suppressed", _("Dirección en la lista de supresión")
    NO_ADDRESS = "no_address", _("Sin dirección para el canal")
    TOPIC_OPT_OUT = "topic_opt_out", _("El cliente no quiere este tema")
    OVER_BUDGET = "over_budget", _("Límite de contactos alcanzado")
    QUIET_HOURS = "quiet_hours", _("Horas de silencio")
    BLOCKED = "blocked", _("Cliente bloqueado (solicitud de derechos abierta o inactivo)")


class ContactDecision(models.Model):
    """Append-only: a message that was not sent now (skipped, deferred or cancelled) and why."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(_("canal"), max_length=10)
    kind = models.CharField(_("tipo"), max_length=16)
    topic = models.CharField(_("tema"), max_length=40, blank=True)
    source = models.CharField(_("origen"), max_length=100, db_index=True)
    dedupe_key = models.CharField(_("clave única"), max_length=200, db_index=True)
    status = models.CharField(_("decisión"), max_length=10, choices=DecisionStatus.choices)
    reason = models.CharField(_("motivo"), max_length=16, choices=DecisionReason.choices)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="decisions")
    send_at = models.DateTimeField(_("aplazado hasta"), null=True, blank=True)
    decided_at = models.DateTimeField(_("cuándo"), db_index=True)

    class Meta:
        verbose_name = _("decisión de contacto")
        verbose_name_plural = _("decisiones de contacto")
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["customer", "decided_at"], name="decision_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.status} {self.reason}"


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", _("Rebote permanente")
    UNSUBSCRIBED = "unsubscribed", _("Baja del cliente")
    COMPLAINT = "complaint", _("Queja por spam")
    SMS_STOP = "sms_stop", _("Respuesta STOP/BAJA por SMS")
    MANUAL = "manual", _("Añadida a mano")


class Suppression(models.Model):
    """An address that receives no marketing (and, after a hard bounce, nothing at all)."""

    channel = models.CharField(_("canal"), max_length=10, choices=MessageChannel.choices)
    address = models.CharField(_("dirección"), max_length=254)
    reason = models.CharField(_("motivo"), max_length=16, choices=SuppressionReason.choices)
    created_at = models.DateTimeField(_("desde"), auto_now_add=True)
    note = models.CharField(_("nota"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("supresión")
        verbose_name_plural = _("lista de supresión")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["channel", "address"], name="suppression_unique")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.address} ({self.reason})"

    @property
    def blocks_transactional(self) -> bool:
        return self.reason == SuppressionReason.HARD_BOUNCE


class TopicPreference(models.Model):
    """A customer's choice about one topic; no row means subscribed."""

    # Two merged cards with a row for the same topic: an opt-out on either wins
    # (`services.topic_preferences_merge`, registered in EngagementConfig.ready).

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="topic_preferences")
    topic = models.CharField(_("tema"), max_length=40)
    subscribed = models.BooleanField(_("suscrito"), default=True)
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)

    class Meta:
        verbose_name = _("preferencia de tema")
        verbose_name_plural = _("preferencias de temas")
        constraints = [models.UniqueConstraint(fields=["customer", "topic"], name="topic_preference_unique")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.topic} {self.subscribed}"


class BudgetScope(models.TextChoices):
    GLOBAL = "global", _("General")
    SEGMENT = "segment", _("Segmento")
    CUSTOMER = "customer", _("Cliente")


class ContactBudget(models.Model):
    """At most `max_messages` marketing messages per `window_days` across all channels.

    Resolution per customer: the customer's own row, else the strictest row of a segment it
    belongs to, else the global row, else the settings defaults. Quiet hours are local to
    the customer's time zone; start > end spans midnight (21:00–09:00).
    """

    # Merging two cards that both have an override keeps the survivor's (undo restores it).
    MERGE_POLICY = "derived"

    scope = models.CharField(_("ámbito"), max_length=10, choices=BudgetScope.choices)
    segment = models.OneToOneField("segments.Segment", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="contact_budget", verbose_name=_("segmento"))
    customer = models.OneToOneField(Customer, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="contact_budget", verbose_name=_("cliente"))
    max_messages = models.PositiveSmallIntegerField(_("máximo de mensajes"))
    window_days = models.PositiveSmallIntegerField(_("en una ventana de (días)"))
    quiet_start = models.TimeField(_("silencio desde"), null=True, blank=True)
    quiet_end = models.TimeField(_("silencio hasta"), null=True, blank=True)
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)

    class Meta:
        verbose_name = _("límite de contactos")
        verbose_name_plural = _("límites de contactos")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(scope="global", segment__isnull=True, customer__isnull=True)
                           | models.Q(scope="segment", segment__isnull=False, customer__isnull=True)
                           | models.Q(scope="customer", segment__isnull=True, customer__isnull=False)),
                name="contact_budget_scope_target",
            ),
            models.UniqueConstraint(fields=["scope"], condition=models.Q(scope="global"),
                                    name="contact_budget_one_global"),
            models.CheckConstraint(condition=models.Q(window_days__gte=1), name="contact_budget_window_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.max_messages}/{self.window_days}d"
