"""The interaction log: every contact a person of the business had with a customer.

Append-only history (seed 004 «Interactúe»: a call, a visit, a lunch, an event, an e-mail):
a correction is a new entry. An entry may name its next step, the follow-up it created in
the same save.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fideliza.customers.models import Contact, Customer
from fideliza.followups.models import FollowUp


class InteractionKind(models.TextChoices):
    CALL = "call", _("Llamada")
    VISIT = "visit", _("Visita")
    MEETING = "meeting", _("Reunión")
    MEAL = "meal", _("Comida o almuerzo")
    EVENT = "event", _("Asistencia a un evento")
    EMAIL = "email", _("E-mail")
    WHATSAPP = "whatsapp", _("WhatsApp")
    NOTE = "note", _("Nota")


class InteractionOutcome(models.TextChoices):
    NONE = "", _("Sin indicar")
    REACHED = "reached", _("Hablamos")
    NO_ANSWER = "no_answer", _("No contestó")
    INTERESTED = "interested", _("Interesado")
    NOT_INTERESTED = "not_interested", _("No interesado")
    COMPLAINT = "complaint", _("Tiene una queja")


class Interaction(models.Model):
    MERGE_POLICY = "move"  # the person's history follows the person

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions",
                                 verbose_name=_("cliente"))
    kind = models.CharField(_("tipo"), max_length=10, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField(_("cuándo"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="interactions", verbose_name=_("quién"))
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("persona de contacto de la empresa"))
    contact_name = models.CharField(_("persona de contacto"), max_length=150, blank=True)
    outcome = models.CharField(_("resultado"), max_length=16, choices=InteractionOutcome.choices, blank=True,
                               default=InteractionOutcome.NONE)
    text = models.TextField(_("texto"), blank=True)
    next_followup = models.ForeignKey(FollowUp, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", verbose_name=_("siguiente paso"))
    via = models.CharField(_("registrado desde"), max_length=40, blank=True,
                           help_text=_("ficha, API, integración de telefonía…"))
    created_at = models.DateTimeField(_("registrado"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("registrado por"))

    class Meta:
        verbose_name = _("interacción")
        verbose_name_plural = _("interacciones")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="interaction_customer_idx"),
            models.Index(fields=["user", "-occurred_at"], name="interaction_user_idx"),
            models.Index(fields=["occurred_at"], name="interaction_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.customer_id} {self.occurred_at:%Y-%m-%d}"

    @property
    def contact_label(self) -> str:
        """Whom it was with: the company's contact person, else the name written."""
        if self.contact is not None:
            return str(self.contact)
        return self.contact_name

    @property
    def who(self) -> str:
        if self.user is None:
            return ""
        return self.user.get_full_name() or self.user.get_username()


def document_path(instance: Document, filename: str) -> str:
    """A random name under media/documentos/: the name a user gave never reaches the disk,
    and no path can be guessed (files are served only through the checking view)."""
    import uuid
    from pathlib import PurePath

    return f"documentos/{instance.customer_id}/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()[:10]}"


class Document(models.Model):
    """A file kept with a customer: a forwarded e-mail (.eml), a PDF, an image; on the card
    or attached to one interaction (seed 000: «integración manual de e-mails, documentos»).

    Served only through `interactions.views.document_download` to users who may see the
    customer, always as a download.
    """

    MERGE_POLICY = "move"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="documents",
                                 verbose_name=_("cliente"))
    interaction = models.ForeignKey(Interaction, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="documents", verbose_name=_("interacción"))
    file = models.FileField(_("archivo"), upload_to=document_path, max_length=200)
    name = models.CharField(_("nombre del archivo"), max_length=255)
    content_type = models.CharField(_("tipo de contenido"), max_length=100)
    size = models.PositiveIntegerField(_("tamaño (bytes)"))
    description = models.CharField(_("descripción"), max_length=300, blank=True)
    uploaded_at = models.DateTimeField(_("subido"), auto_now_add=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("subido por"))

    class Meta:
        verbose_name = _("documento")
        verbose_name_plural = _("documentos")
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["customer", "-uploaded_at"], name="document_customer_idx")]

    def __str__(self) -> str:
        return self.name
