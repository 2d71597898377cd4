"""Events and invitations (seed 002 «Relación»: a year-end day, a visit to the company, an
exclusive training, a charity or social event, a «Día de…», a VIP evening).

An event is for an audience (a segment, value tiers, a city, VIP only); each invited customer
gets one `Invitation`, the one row that holds their answer (sí / no / quizá, or the waiting
list when the event is full), whether they came, and the messages sent about it. Invitations
are sent through engagement's outbox only; their personal links carry a signature of
(event, customer), never a stored secret.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fideliza.customers.models import Customer
from fideliza.segments.models import Segment


class EventKind(models.TextChoices):
    YEAR_END = "year_end", _("Jornada de fin de año")
    COMPANY_VISIT = "company_visit", _("Visita a la empresa")
    TRAINING = "training", _("Capacitación exclusiva")
    CHARITY = "charity", _("Evento solidario o social")
    DAY_OF = "day_of", _("«Día de…»")
    VIP = "vip", _("Evento VIP")
    OTHER = "other", pgettext_lazy("event kind", "Otro")


class EventStatus(models.TextChoices):
    DRAFT = "draft", _("Borrador")
    PUBLISHED = "published", _("Publicado")
    CANCELLED = "cancelled", pgettext_lazy("event status", "Cancelado")


# The analytics value tiers that count as VIP (the two highest of seed 000's «platino, oro»).
VIP_TIERS = ("platino", "oro")


class Event(models.Model):
    """One event. Times are instants (UTC in the database); the forms take them in the
    business's zone. `capacity` null: no limit. `rsvp_deadline` null: until it starts."""

    kind = models.CharField(_("tipo"), max_length=16, choices=EventKind.choices, default=EventKind.OTHER)
    title = models.CharField(_("título"), max_length=200)
    description = models.TextField(_("descripción"), blank=True)
    starts_at = models.DateTimeField(_("empieza"))
    ends_at = models.DateTimeField(_("termina"))
    place = models.CharField(_("lugar"), max_length=250, blank=True)
    online_url = models.URLField(_("enlace para conectarse"), max_length=500, blank=True)
    city = models.CharField(_("ciudad"), max_length=100, blank=True)
    capacity = models.PositiveIntegerField(_("aforo"), null=True, blank=True,
                                           help_text=_("plazas; vacío = sin límite"))
    rsvp_deadline = models.DateTimeField(_("plazo para responder"), null=True, blank=True)
    audience_segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="+", verbose_name=_("segmento"))
    audience_tiers = models.JSONField(_("niveles de valor"), default=list, blank=True)
    audience_city = models.CharField(_("ciudad de los invitados"), max_length=100, blank=True)
    vip_only = models.BooleanField(_("solo clientes VIP"), default=False)
    status = models.CharField(_("estado"), max_length=10, choices=EventStatus.choices,
                              default=EventStatus.DRAFT)
    sequence = models.PositiveIntegerField(_("versión del calendario"), default=0,
                                           help_text=_("sube con cada cambio de fecha o lugar (RFC 5545)"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("creado por"))
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)

    class Meta:
        verbose_name = _("evento")
        verbose_name_plural = _("eventos")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["status", "starts_at"], name="event_status_start_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="event_ends_after_start"),
            models.CheckConstraint(condition=models.Q(capacity__isnull=True) | models.Q(capacity__gte=1),
                                   name="event_capacity_positive"),
            models.CheckConstraint(condition=models.Q(rsvp_deadline__isnull=True)
                                   | models.Q(rsvp_deadline__lte=models.F("starts_at")),
                                   name="event_deadline_before_start"),
            models.CheckConstraint(condition=models.Q(kind__in=EventKind.values), name="event_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def deadline(self) -> datetime:
        """Until when answers may change: the deadline, else the start."""
        return self.rsvp_deadline or self.starts_at


class Response(models.TextChoices):
    PENDING = "pending", _("Sin respuesta")
    YES = "yes", pgettext_lazy("rsvp", "Sí")
    NO = "no", pgettext_lazy("rsvp", "No")
    MAYBE = "maybe", pgettext_lazy("rsvp", "Quizá")
    WAITING = "waiting", _("En lista de espera")


class Invitation(models.Model):
    """A customer invited to an event (or who came without invitation: `walk_in`).

    `waitlisted_at` orders the waiting list (first come, first promoted). `attended_at` is
    set at the door; a «sí» without it after the event ended is a no-show (derived, so a late
    check-in corrects it). `delivery` is what the outbox decided about the invitation message.
    """

    # Both cards of one person invited to the same event: the survivor's invitation stands,
    # the other stays with the merged card as what happened to it.
    MERGE_POLICY = "move_unless_taken"
    # State and times only, no personal data; the event's figures must not change.
    ERASURE_POLICY = "keep"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitations",
                              verbose_name=_("evento"))
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="event_invitations",
                                 verbose_name=_("cliente"))
    response = models.CharField(_("respuesta"), max_length=8, choices=Response.choices,
                                default=Response.PENDING)
    responded_at = models.DateTimeField(_("respondió"), null=True, blank=True)
    waitlisted_at = models.DateTimeField(_("en espera desde"), null=True, blank=True)
    promoted_at = models.DateTimeField(_("plaza desde la lista de espera"), null=True, blank=True)
    walk_in = models.BooleanField(_("vino sin invitación"), default=False)
    attended_at = models.DateTimeField(_("asistió"), null=True, blank=True)
    checked_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", verbose_name=_("registrado en la puerta por"))
    interaction_id = models.PositiveBigIntegerField(_("interacción de la asistencia"), null=True, blank=True)
    delivery = models.CharField(_("envío de la invitación"), max_length=12, blank=True)
    delivery_reason = models.CharField(_("motivo"), max_length=40, blank=True)
    invited_at = models.DateTimeField(_("invitado"))
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("invitado por"))

    class Meta:
        verbose_name = _("invitación")
        verbose_name_plural = _("invitaciones")
        ordering = ["event", "id"]
        indexes = [
            models.Index(fields=["event", "response", "waitlisted_at"], name="invitation_event_resp_idx"),
            models.Index(fields=["customer", "invited_at"], name="invitation_customer_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "customer"], name="invitation_event_customer_unique"),
            models.CheckConstraint(condition=models.Q(response__in=Response.values), name="invitation_response_valid"),
            models.CheckConstraint(condition=~models.Q(response="waiting") | models.Q(waitlisted_at__isnull=False),
                                   name="invitation_waiting_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}:{self.customer_id} {self.response}"
