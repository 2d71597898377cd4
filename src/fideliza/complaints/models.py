"""The complaints book: complaints (reclamos, quejas, peticiones, sugerencias) with legal
deadlines, their append-only history, canned answers, recovery gestures and exit reasons.

A complaint always belongs to a customer card: the consumer's copy and every answer leave
through engagement's outbox, whose rows are per customer. A consumer nobody knew becomes a
card with no marketing consent (only transactional messages reach them).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fideliza.core.money import CurrencyField, MoneyField, default_currency
from fideliza.customers.models import Customer
from fideliza.sales.models import Store

from .rules import KIND_LABELS, RULE_SETS


class ComplaintStatus(models.TextChoices):
    NEW = "new", _("Nueva")
    IN_PROGRESS = "in_progress", _("En curso")
    WAITING = "waiting", _("Esperando al cliente")
    RESOLVED = "resolved", _("Resuelta")
    CLOSED = "closed", _("Cerrada")


OPEN_STATUSES = (ComplaintStatus.NEW, ComplaintStatus.IN_PROGRESS, ComplaintStatus.WAITING)

# Which status may follow which (a resolved or closed complaint may be reopened).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    ComplaintStatus.NEW: (ComplaintStatus.IN_PROGRESS, ComplaintStatus.WAITING, ComplaintStatus.RESOLVED),
    ComplaintStatus.IN_PROGRESS: (ComplaintStatus.WAITING, ComplaintStatus.RESOLVED),
    ComplaintStatus.WAITING: (ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED),
    ComplaintStatus.RESOLVED: (ComplaintStatus.CLOSED, ComplaintStatus.IN_PROGRESS),
    ComplaintStatus.CLOSED: (ComplaintStatus.IN_PROGRESS,),
}


class ComplaintChannel(models.TextChoices):
    WEB = "web", _("Formulario web")
    COUNTER = "counter", _("En tienda")
    PHONE = "phone", _("Por teléfono")
    EMAIL = "email", _("Buzón de correo")


class ComplaintCategory(models.Model):
    name = models.CharField(_("nombre"), max_length=100, unique=True)
    is_active = models.BooleanField(_("activa"), default=True)

    class Meta:
        verbose_name = _("categoría de queja")
        verbose_name_plural = _("categorías de queja")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RootCause(models.Model):
    name = models.CharField(_("nombre"), max_length=100, unique=True)
    is_active = models.BooleanField(_("activa"), default=True)

    class Meta:
        verbose_name = _("causa raíz")
        verbose_name_plural = _("causas raíz")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Complaint(models.Model):
    """One entry of the book. `due_at` and `first_response_due_at` are the exclusive ends of
    the terms (see `complaints.rules`); while the complaint waits for the customer both are
    cleared and the business days that were left are kept in `paused_*_days`."""

    MERGE_POLICY = "move"  # the person's complaints follow the person

    tracking_code = models.CharField(_("código de seguimiento"), max_length=24, unique=True)
    rules = models.CharField(_("normativa"), max_length=4, choices=[(k, v.name) for k, v in RULE_SETS.items()])
    subdivision = models.CharField(_("región"), max_length=8, blank=True)
    kind = models.CharField(_("tipo"), max_length=12, choices=list(KIND_LABELS.items()))
    channel = models.CharField(_("canal"), max_length=8, choices=ComplaintChannel.choices)
    status = models.CharField(_("estado"), max_length=12, choices=ComplaintStatus.choices,
                              default=ComplaintStatus.NEW)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="complaints",
                                 verbose_name=_("cliente"))
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("tienda"))
    category = models.ForeignKey(ComplaintCategory, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="complaints", verbose_name=_("categoría"))
    root_cause = models.ForeignKey(RootCause, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="complaints", verbose_name=_("causa raíz"))
    # What the consumer wrote, as written (the copy and the legal record).
    name = models.CharField(_("nombre"), max_length=200)
    document_number = models.CharField(_("documento de identidad"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("teléfono"), max_length=32, blank=True)
    address = models.CharField(_("domicilio"), max_length=300, blank=True)
    item = models.CharField(_("producto o servicio"), max_length=200, blank=True)
    amount = MoneyField(_("importe reclamado"), null=True, blank=True)
    currency = CurrencyField(default=default_currency)
    order_reference = models.CharField(_("número de pedido o ticket"), max_length=64, blank=True)
    description = models.TextField(_("detalle"))
    request = models.TextField(_("pedido del consumidor"), blank=True)
    language = models.CharField(_("idioma"), max_length=8, default="es")
    received_at = models.DateTimeField(_("recibida"))
    first_response_due_at = models.DateTimeField(_("primera respuesta antes de"), null=True, blank=True)
    due_at = models.DateTimeField(_("resolver antes de"), null=True, blank=True)
    paused_first_days = models.PositiveSmallIntegerField(_("días para la primera respuesta en pausa"),
                                                         null=True, blank=True)
    paused_days = models.PositiveSmallIntegerField(_("días de plazo en pausa"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("primera respuesta"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resuelta"), null=True, blank=True)
    closed_at = models.DateTimeField(_("cerrada"), null=True, blank=True)
    resolution = models.TextField(_("resolución"), blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="complaints", verbose_name=_("responsable"))
    followup_id = models.PositiveBigIntegerField(_("seguimiento"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("registrada por"))
    updated_at = models.DateTimeField(_("actualizada"), auto_now=True)

    class Meta:
        verbose_name = _("queja")
        verbose_name_plural = _("quejas")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="complaint_status_due_idx"),
            models.Index(fields=["customer", "-received_at"], name="complaint_customer_idx"),
            models.Index(fields=["-received_at", "-id"], name="complaint_received_idx"),
        ]

    def __str__(self) -> str:
        return self.tracking_code

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def rule_set(self):  # -> RuleSet
        from .rules import rule_set

        return rule_set(self.rules)


class EventKind(models.TextChoices):
    FILED = "filed", _("Registrada")
    STATUS = "status", _("Cambio de estado")
    ANSWER = "answer", _("Respuesta enviada")
    NOTE = "note", _("Nota interna")
    GESTURE = "gesture", _("Gesto de recuperación")
    ASSIGN = "assign", _("Responsable")


class ComplaintEvent(models.Model):
    """Append-only history of a complaint: its status changes, answers, notes and gestures."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events",
                                  verbose_name=_("queja"))
    kind = models.CharField(_("tipo"), max_length=8, choices=EventKind.choices)
    from_status = models.CharField(_("estado anterior"), max_length=12, choices=ComplaintStatus.choices, blank=True)
    to_status = models.CharField(_("estado nuevo"), max_length=12, choices=ComplaintStatus.choices, blank=True)
    text = models.TextField(_("texto"), blank=True)
    message_id = models.PositiveBigIntegerField(_("mensaje"), null=True, blank=True)
    at = models.DateTimeField(_("cuándo"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", verbose_name=_("quién"))

    class Meta:
        verbose_name = _("evento de queja")
        verbose_name_plural = _("eventos de queja")
        ordering = ["at", "id"]


class CannedAnswer(models.Model):
    """A standard answer for a frequent problem (seed 002 §5). Subject and text are message
    templates: {{ nombre }}, {{ codigo }}, {{ tipo }}, {{ fecha_limite }}, {{ tienda }}, {{ cupon }}."""

    title = models.CharField(_("título"), max_length=120)
    category = models.ForeignKey(ComplaintCategory, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="answers", verbose_name=_("categoría"),
                                 help_text=_("vacía: sirve para cualquier categoría"))
    subject = models.CharField(_("asunto"), max_length=200)
    body = models.TextField(_("texto"))
    is_active = models.BooleanField(_("activa"), default=True)

    class Meta:
        verbose_name = _("respuesta predefinida")
        verbose_name_plural = _("respuestas predefinidas")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class GestureKind(models.TextChoices):
    COUPON = "coupon", _("Cupón de descuento")
    POINTS = "points", _("Puntos")
    GIFT = "gift", _("Producto de regalo")


class RecoveryGesture(models.Model):
    """A gesture given to win the customer back, issued through loyalty's services; `cost` is
    what it costs the business (a coupon's face value, points × point value, a gift's cost)."""

    MERGE_POLICY = "move"
    ERASURE_POLICY = "keep"  # no personal data: what was given and what it cost

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="gestures",
                                  verbose_name=_("queja"))
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("cliente"))
    kind = models.CharField(_("tipo"), max_length=8, choices=GestureKind.choices)
    coupon_id = models.PositiveBigIntegerField(_("cupón"), null=True, blank=True)
    coupon_code = models.CharField(_("código del cupón"), max_length=32, blank=True)
    points = models.PositiveIntegerField(_("puntos"), null=True, blank=True)
    value = MoneyField(_("valor"), default=0)
    cost = MoneyField(_("coste"), default=0)
    currency = CurrencyField(default=default_currency)
    note = models.CharField(_("nota"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("creado"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("creado por"))

    class Meta:
        verbose_name = _("gesto de recuperación")
        verbose_name_plural = _("gestos de recuperación")
        ordering = ["created_at", "id"]


class ExitReasonRecord(models.Model):
    """Why a customer left: given on the unsubscribe page (optional) or when a card is
    deactivated (required). Reasons are `customers.exits.ExitReason` plus free text."""

    MERGE_POLICY = "move"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("cliente"))
    source = models.CharField(_("dónde"), max_length=12)
    reason = models.CharField(_("motivo"), max_length=20)
    text = models.CharField(_("comentario"), max_length=500, blank=True)
    at = models.DateTimeField(_("cuándo"))

    class Meta:
        verbose_name = _("motivo de baja")
        verbose_name_plural = _("motivos de baja")
        ordering = ["-at", "-id"]
