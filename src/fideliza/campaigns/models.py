"""Campaigns: a segment, the message per channel, an optional coupon offer and a random
holdout group that receives nothing, so that the results can say what the campaign added.

A campaign's templates are its own copies (`MessageTemplate.is_reusable=False`): starting
from a saved template copies it, so later edits to the saved one never change what a sent
campaign says it sent.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from fideliza.core.money import MoneyField
from fideliza.customers.models import Customer
from fideliza.engagement.models import OverBudget
from fideliza.loyalty.models import OfferKind


class TemplateChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class TemplateLanguage(models.TextChoices):
    ES = "es", _("Español")
    EN = "en", _("Inglés")


class MessageTemplate(models.Model):
    """The text of a message for one channel. Variables: `{{ first_name }}`, `{{ offer_code }}`…"""

    name = models.CharField(_("nombre"), max_length=120)
    channel = models.CharField(_("canal"), max_length=10, choices=TemplateChannel.choices,
                               default=TemplateChannel.EMAIL)
    subject = models.CharField(_("asunto"), max_length=200, blank=True)
    body_text = models.TextField(_("texto"), blank=True)
    body_html = models.TextField(_("HTML"), blank=True)
    topic = models.CharField(_("tema"), max_length=60, blank=True,
                             help_text=_("el tema del centro de preferencias del que el cliente puede darse de baja"))
    language = models.CharField(_("idioma"), max_length=2, choices=TemplateLanguage.choices,
                                default=TemplateLanguage.ES)
    is_reusable = models.BooleanField(_("plantilla guardada"), default=True,
                                      help_text=_("desmarcada en la copia propia de una campaña"))
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modificada"), auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("creada por"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("modificada por"))

    class Meta:
        verbose_name = _("plantilla de mensaje")
        verbose_name_plural = _("plantillas de mensaje")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Borrador")
    SCHEDULED = "scheduled", _("Programada")
    SENDING = "sending", _("Enviando")
    SENT = "sent", _("Enviada")
    CANCELLED = "cancelled", _("Cancelada")


class Campaign(models.Model):
    name = models.CharField(_("nombre"), max_length=120)
    description = models.TextField(_("descripción"), blank=True)
    segment = models.ForeignKey("segments.Segment", on_delete=models.PROTECT, related_name="campaigns",
                                verbose_name=_("segmento"))
    channels = models.JSONField(_("canales"), default=list,
                                help_text=_("canales permitidos; cada cliente recibe su canal preferido"))
    email_template = models.ForeignKey(MessageTemplate, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", verbose_name=_("mensaje de e-mail"))
    sms_template = models.ForeignKey(MessageTemplate, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("mensaje SMS"))
    scheduled_at = models.DateTimeField(_("programada para"), null=True, blank=True,
                                        help_text=_("vacío = enviar al lanzarla"))
    offer_kind = models.CharField(_("oferta"), max_length=10, choices=OfferKind.choices, blank=True,
                                  default=OfferKind.NONE)
    offer_value = models.DecimalField(_("valor de la oferta"), max_digits=12, decimal_places=2, default=0,
                                      validators=[MinValueValidator(Decimal(0))])
    offer_valid_days = models.PositiveIntegerField(_("días de validez del cupón"), default=30,
                                                   validators=[MinValueValidator(1), MaxValueValidator(3650)])
    offer_min_purchase = MoneyField(_("compra mínima"), default=0, validators=[MinValueValidator(Decimal(0))])
    offer_description = models.CharField(_("descripción de la oferta"), max_length=200, blank=True)
    holdout_share = models.DecimalField(
        _("grupo de control"), max_digits=4, decimal_places=3, default=Decimal("0.100"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal("0.9"))],
        help_text=_("parte del segmento que no recibe nada, para medir el efecto"))
    over_budget = models.CharField(_("si se supera el presupuesto de contactos"), max_length=5,
                                   choices=OverBudget.choices, default=OverBudget.SKIP)
    conversion_days = models.PositiveIntegerField(_("ventana de conversión (días)"), default=14,
                                                  validators=[MinValueValidator(1), MaxValueValidator(365)])
    status = models.CharField(_("estado"), max_length=10, choices=CampaignStatus.choices,
                              default=CampaignStatus.DRAFT, db_index=True)
    launched_at = models.DateTimeField(_("lanzada"), null=True, blank=True)
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modificada"), auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("creada por"))

    class Meta:
        verbose_name = _("campaña")
        verbose_name_plural = _("campañas")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(holdout_share__gte=0) & models.Q(holdout_share__lte=Decimal("0.9")),
                                   name="campaign_holdout_share_range"),
            models.CheckConstraint(condition=models.Q(offer_value__gte=0), name="campaign_offer_value_gte0"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_offer(self) -> bool:
        return bool(self.offer_kind)

    @property
    def is_editable(self) -> bool:
        return self.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)

    def template_for(self, channel: str) -> MessageTemplate | None:
        templates: dict[str, MessageTemplate | None] = {
            TemplateChannel.EMAIL: self.email_template, TemplateChannel.SMS: self.sms_template}
        return templates.get(channel)


class RecipientGroup(models.TextChoices):
    TREATED = "treated", _("Destinatario")
    HOLDOUT = "holdout", _("Grupo de control")


class RecipientStatus(models.TextChoices):
    """The delivery layer's decision (queued/deferred/skipped/duplicate), plus ours."""

    QUEUED = "queued", _("En cola")
    DEFERRED = "deferred", _("Aplazado")
    SKIPPED = "skipped", _("Omitido")
    DUPLICATE = "duplicate", _("Duplicado")
    NO_CHANNEL = "no_channel", _("Sin canal permitido")
    HOLDOUT = "holdout", _("Grupo de control")


class CampaignRecipient(models.Model):
    """One customer of the segment at launch: their group, channel and what happened."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="campaign_recipients")
    group = models.CharField(_("grupo"), max_length=8, choices=RecipientGroup.choices)
    channel = models.CharField(_("canal"), max_length=10, blank=True)
    status = models.CharField(_("decisión"), max_length=10, choices=RecipientStatus.choices)
    reason = models.CharField(_("motivo"), max_length=200, blank=True)
    # The engagement outbox row; an id rather than a foreign key so that campaigns do not
    # depend on the outbox's table (results join through it by id).
    message_id = models.BigIntegerField(_("mensaje"), null=True, blank=True, db_index=True)
    coupon = models.ForeignKey("loyalty.Coupon", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("cupón"))
    created_at = models.DateTimeField(_("registrado"), auto_now_add=True)

    class Meta:
        verbose_name = _("destinatario de campaña")
        verbose_name_plural = _("destinatarios de campaña")
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="campaign_recipient_unique")]
        indexes = [models.Index(fields=["campaign", "group", "status"])]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.customer_id}"
