"""Surveys (encuestas): questionnaires, personal invitations, responses and testimonials.

A survey reaches customers as the content of a campaign or of an automation step (the one
gate and outbox of engagement), each recipient with a personal link (`Invitation`), or at
the till through a public link/QR code. A response keeps its answers per question and, for
speed, the first NPS, CSAT and CES scores and the free text on its own row.

An anonymous survey stores no customer anywhere in these tables: its invitations and
responses have an empty customer column (`tests/surveys/test_anonymous.py` checks every
column of every table of the app).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.models import Role
from fideliza.customers.models import Customer


def month_of(moment: datetime) -> date:
    """The first day of the business's month of `moment`."""
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date().replace(day=1)


class QuestionKind(models.TextChoices):
    TEXT = "text", _("Texto libre")
    YES_NO = "yes_no", _("Sí / no")
    SINGLE = "single", _("Una opción")
    MULTIPLE = "multiple", _("Varias opciones")
    RATING = "rating", _("Escala de valoración")
    NPS = "nps", _("NPS (0 a 10)")
    CSAT = "csat", _("Satisfacción CSAT (1 a 5)")
    CES = "ces", _("Esfuerzo CES (1 a 7)")


# The numeric range of each scored kind (RATING: 1 … scale_max).
SCALES: dict[str, tuple[int, int]] = {QuestionKind.NPS: (0, 10), QuestionKind.CSAT: (1, 5),
                                      QuestionKind.CES: (1, 7), QuestionKind.YES_NO: (0, 1)}


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("Borrador")
    ACTIVE = "active", _("Abierta")
    CLOSED = "closed", _("Cerrada")


def new_public_token() -> str:
    return secrets.token_urlsafe(12)


class Survey(models.Model):
    name = models.CharField(_("nombre"), max_length=120)
    intro = models.TextField(_("presentación"), blank=True,
                             help_text=_("el texto que el cliente lee antes de las preguntas"))
    thanks = models.CharField(_("agradecimiento"), max_length=300, blank=True)
    template = models.CharField(_("plantilla"), max_length=20, blank=True)
    status = models.CharField(_("estado"), max_length=8, choices=SurveyStatus.choices,
                              default=SurveyStatus.ACTIVE)
    is_anonymous = models.BooleanField(_("anónima"), default=False,
                                       help_text=_("no se guarda quién responde"))
    link_valid_days = models.PositiveSmallIntegerField(
        _("los enlaces caducan a los (días)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)])
    reminder_days = models.PositiveSmallIntegerField(
        _("recordatorio a los (días)"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("vacío: sin recordatorio a quien no respondió"))
    public_token = models.CharField(_("enlace público"), max_length=24, default=new_public_token)
    public_enabled = models.BooleanField(_("enlace público y QR para caja"), default=False)
    public_identify = models.BooleanField(
        _("pedir identificación en el enlace público"), default=False,
        help_text=_("el cliente puede indicar su e-mail o teléfono para sumar sus puntos"))
    followup_days = models.PositiveSmallIntegerField(
        _("plazo del seguimiento (días hábiles)"), default=2, validators=[MaxValueValidator(30)])
    followup_role = models.CharField(
        _("seguimiento para el rol"), max_length=16, choices=Role.choices, blank=True,
        help_text=_("vacío: para el ejecutivo de cuenta del cliente"))
    promoter_referral = models.BooleanField(
        _("invitar a recomendar a los promotores"), default=False,
        help_text=_("envía al promotor (9–10) su código de recomendación y le pide un testimonio"))
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("creada por"))

    class Meta:
        verbose_name = _("encuesta")
        verbose_name_plural = _("encuestas")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["public_token"], name="survey_public_token_unique")]

    def __str__(self) -> str:
        return self.name


class Question(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions",
                               verbose_name=_("encuesta"))
    position = models.PositiveSmallIntegerField(_("orden"))
    kind = models.CharField(_("tipo"), max_length=10, choices=QuestionKind.choices)
    text = models.CharField(_("pregunta"), max_length=300)
    choices = models.JSONField(_("opciones"), default=list, blank=True)
    scale_max = models.PositiveSmallIntegerField(_("máximo de la escala"), default=5,
                                                 validators=[MinValueValidator(2), MaxValueValidator(10)])
    required = models.BooleanField(_("obligatoria"), default=False)
    show_if = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("mostrar solo si la pregunta"))
    show_if_max = models.SmallIntegerField(_("tiene como máximo"), null=True, blank=True)

    class Meta:
        verbose_name = _("pregunta")
        verbose_name_plural = _("preguntas")
        ordering = ["survey", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["survey", "position"], name="question_position_unique")]

    def __str__(self) -> str:
        return self.text

    @property
    def range(self) -> tuple[int, int] | None:
        if self.kind == QuestionKind.RATING:
            return (1, self.scale_max)
        return SCALES.get(self.kind)


class SurveySend(models.Model):
    """A send that carries a survey: a campaign ("campaign:12") or an automation step
    ("automation:3:step:1"). Kept here, by the sender's source name, so that the senders'
    own tables do not change."""

    source = models.CharField(_("envío"), max_length=100)
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="sends",
                               verbose_name=_("encuesta"))

    class Meta:
        verbose_name = _("envío de encuesta")
        verbose_name_plural = _("envíos de encuestas")
        constraints = [models.UniqueConstraint(fields=["source"], name="survey_send_source_unique")]

    def __str__(self) -> str:
        return f"{self.source} → {self.survey_id}"


class Invitation(models.Model):
    """One personal link: to a customer (none in an anonymous survey) from one send.

    The link carries `nonce` signed with the secret key (`services.invitation_link`): a
    link whose signature does not match is refused before any lookup.
    """

    MERGE_POLICY = "move"
    ERASURE_POLICY = "keep"  # a nonce and dates: nothing personal; the response rate stays right

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="survey_invitations", verbose_name=_("cliente"), db_index=False)
    nonce = models.CharField(max_length=32)
    source = models.CharField(_("origen"), max_length=100, help_text=_("p. ej. campaign:12"))
    created_at = models.DateTimeField(_("invitado"))
    expires_at = models.DateTimeField(_("caduca"))
    reminded_at = models.DateTimeField(_("recordado"), null=True, blank=True)
    answered_at = models.DateTimeField(_("respondida"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitación a encuesta")
        verbose_name_plural = _("invitaciones a encuestas")
        constraints = [models.UniqueConstraint(fields=["nonce"], name="invitation_nonce_unique")]
        indexes = [models.Index(fields=["survey", "source"], name="invitation_survey_src_idx"),
                   models.Index(fields=["survey", "created_at", "answered_at"], name="invitation_rate_idx"),
                   models.Index(fields=["customer", "survey"], name="survey_invitation_cust_idx")]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.pk}"


class ResponseChannel(models.TextChoices):
    LINK = "link", _("Enlace personal")
    PUBLIC = "public", _("Enlace público / QR")
    STAFF = "staff", _("Registrada por el equipo")


class Response(models.Model):
    """A customer's (or an anonymous person's) answers to one survey; partial until
    `finished_at`. The scores of the first NPS, CSAT and CES questions are kept here too."""

    MERGE_POLICY = "move"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    invitation = models.OneToOneField(Invitation, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="response")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="survey_responses", verbose_name=_("cliente"))
    channel = models.CharField(_("canal"), max_length=8, choices=ResponseChannel.choices)
    store = models.ForeignKey("sales.Store", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("tienda"))
    tier = models.CharField(_("nivel al responder"), max_length=60, blank=True)
    abc_class = models.CharField(_("clase ABC al responder"), max_length=2, blank=True)
    started_at = models.DateTimeField(_("empezada"))
    # The first day of the business's month of `started_at`: the trend groups on it without
    # converting every row's time zone (set by the services and by `save`).
    month = models.DateField(_("mes"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminada"), null=True, blank=True)
    nps = models.PositiveSmallIntegerField(_("NPS"), null=True, blank=True)
    csat = models.PositiveSmallIntegerField(_("CSAT"), null=True, blank=True)
    ces = models.PositiveSmallIntegerField(_("CES"), null=True, blank=True)
    verbatim = models.TextField(_("comentarios"), blank=True)
    # The follow-up this response created (a detractor, an unhappy customer): an id, as the
    # campaigns keep their outbox rows, so that one response never creates two.
    followup_id = models.BigIntegerField(_("seguimiento"), null=True, blank=True)

    class Meta:
        verbose_name = _("respuesta a encuesta")
        verbose_name_plural = _("respuestas a encuestas")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["survey", "started_at"], name="response_survey_idx"),
                   # Covers the results page's one grouped scan: the table itself is never read.
                   models.Index(fields=["survey", "month", "store", "tier", "abc_class", "nps", "csat", "ces",
                                        "finished_at", "started_at"], name="response_results_idx"),
                   models.Index(fields=["customer", "started_at"], name="response_customer_idx"),
                   models.Index(fields=["started_at"], name="response_started_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(nps__isnull=True) | models.Q(nps__lte=10), name="response_nps_range"),
            models.CheckConstraint(condition=models.Q(csat__isnull=True) | models.Q(csat__gte=1, csat__lte=5),
                                   name="response_csat_range"),
            models.CheckConstraint(condition=models.Q(ces__isnull=True) | models.Q(ces__gte=1, ces__lte=7),
                                   name="response_ces_range"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.month is None and self.started_at is not None:
            self.month = month_of(self.started_at)
        super().save(*args, **kwargs)

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    number = models.SmallIntegerField(_("valor"), null=True, blank=True)
    text = models.TextField(_("texto"), blank=True)
    options = models.JSONField(_("opciones elegidas"), default=list, blank=True)

    class Meta:
        verbose_name = _("respuesta")
        verbose_name_plural = _("respuestas")
        constraints = [models.UniqueConstraint(fields=["response", "question"], name="answer_once")]

    def __str__(self) -> str:
        return f"{self.response_id}:{self.question_id}"


class Testimonial(models.Model):
    """What a customer said about the business, published only with their consent, where
    they allowed it and until when they allowed it; revoking hides it at once."""

    MERGE_POLICY = "move"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="testimonials",
                                 verbose_name=_("cliente"))
    response = models.ForeignKey(Response, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(_("testimonio"))
    media_url = models.URLField(_("foto o vídeo (enlace)"), blank=True)
    consent = models.BooleanField(_("acepta que se publique"), default=False)
    consent_where = models.CharField(_("dónde se puede publicar"), max_length=200, blank=True)
    consent_until = models.DateField(_("hasta"), null=True, blank=True)
    consent_at = models.DateTimeField(_("consentimiento dado"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("consentimiento retirado"), null=True, blank=True)
    created_at = models.DateTimeField(_("recibido"))

    class Meta:
        verbose_name = _("testimonio")
        verbose_name_plural = _("testimonios")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.text[:40]}"
