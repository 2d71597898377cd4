from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from fideliza.core.models import TimeStampedModel
from fideliza.core.money import MoneyField

from .validators import validate_birth_date, validate_country_code, validate_timezone_name


class CustomerKind(models.TextChoices):
    PERSON = "person", _("Persona")
    COMPANY = "company", _("Empresa")


class Gender(models.TextChoices):
    FEMALE = "female", _("Mujer")
    MALE = "male", _("Hombre")
    OTHER = "other", _("Otro")
    UNKNOWN = "", _("Sin indicar")


class Channel(models.TextChoices):
    """Contact channels; consent is kept per channel."""

    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Teléfono")
    WHATSAPP = "whatsapp", _("WhatsApp")
    POST = "post", _("Correo postal")


class ContactTime(models.TextChoices):
    ANY = "", _("Cualquier momento")
    MORNING = "morning", _("Mañana")
    AFTERNOON = "afternoon", _("Tarde")
    EVENING = "evening", _("Noche")


class Tag(models.Model):
    """An interest or hobby (seed 002: "estar atento a sus intereses y hobbies")."""

    name = models.CharField(_("nombre"), max_length=80, unique=True)

    class Meta:
        verbose_name = _("interés")
        verbose_name_plural = _("intereses")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(TimeStampedModel):
    """The profile card of one customer, a person or a company (seed 004: "Registre")."""

    kind = models.CharField(_("tipo"), max_length=8, choices=CustomerKind.choices,
                            default=CustomerKind.PERSON)
    first_name = models.CharField(_("nombre"), max_length=100, blank=True)
    last_name = models.CharField(_("apellidos"), max_length=150, blank=True)
    company_name = models.CharField(_("razón social"), max_length=200, blank=True)
    employees = models.PositiveIntegerField(_("número de empleados"), null=True, blank=True)
    gender = models.CharField(_("género"), max_length=8, choices=Gender.choices, blank=True,
                              default=Gender.UNKNOWN)
    birth_date = models.DateField(_("fecha de nacimiento"), null=True, blank=True,
                                  validators=[validate_birth_date])
    tax_id = models.CharField(_("NIF / identificación fiscal"), max_length=32, blank=True, db_index=True)

    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    phone = models.CharField(_("teléfono"), max_length=20, blank=True, db_index=True,
                             help_text=_("E.164, p. ej. +34612345678"))
    address = models.CharField(_("dirección"), max_length=250, blank=True)
    postal_code = models.CharField(_("código postal"), max_length=16, blank=True)
    city = models.CharField(_("ciudad"), max_length=100, blank=True, db_index=True)
    region = models.CharField(_("provincia / región"), max_length=100, blank=True)
    country = models.CharField(_("país"), max_length=2, blank=True, help_text=_("ISO 3166-1 alfa-2"),
                               validators=[validate_country_code])
    timezone = models.CharField(_("zona horaria"), max_length=64, blank=True,
                                help_text=_("nombre IANA; vacío = la del negocio"),
                                validators=[validate_timezone_name])

    interests = models.ManyToManyField(Tag, blank=True, related_name="customers",
                                       verbose_name=_("intereses y aficiones"))
    preferred_channel = models.CharField(_("canal preferido"), max_length=10,
                                         choices=Channel.choices, blank=True)
    preferred_contact_time = models.CharField(_("horario de contacto preferido"), max_length=10,
                                              choices=ContactTime.choices, blank=True,
                                              default=ContactTime.ANY)

    acquisition_date = models.DateField(_("fecha de alta"), null=True, blank=True)
    acquisition_channel = models.CharField(_("canal de captación"), max_length=64, blank=True)
    acquisition_cost = MoneyField(_("coste de captación"), null=True, blank=True)
    wallet_potential = MoneyField(_("gasto potencial anual estimado"), null=True, blank=True,
                                  help_text=_("para la cuota de cliente (share of wallet)"))
    account_executive = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="assigned_customers", verbose_name=_("ejecutivo de cuenta"),
    )
    notes = models.TextField(_("notas"), blank=True)

    # Set when this card was merged into another (customers.merging); cleared by undo.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="merged_from", verbose_name=_("fusionado en"))
    is_active = models.BooleanField(_("activo"), default=True, db_index=True)

    class Meta:
        verbose_name = _("cliente")
        verbose_name_plural = _("clientes")
        ordering = ["-id"]
        indexes = [
            models.Index(Lower("last_name"), Lower("first_name"), name="customer_name_idx"),
            models.Index(Lower("company_name"), name="customer_company_idx"),
            models.Index(fields=["account_executive", "id"], name="customer_exec_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(acquisition_cost__isnull=True) | models.Q(acquisition_cost__gte=0),
                name="customer_acq_cost_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_identifier_only(self) -> bool:
        """Nothing but an id in some source («solo identificador»): a card an order import
        created for a customer number it did not know; a customers file of that source fills it."""
        return not any((self.first_name, self.last_name, self.company_name, self.email, self.phone,
                        self.tax_id))

    @property
    def display_name(self) -> str:
        if self.kind == CustomerKind.COMPANY and self.company_name:
            return self.company_name
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.company_name or self.email or f"#{self.pk}"


class CustomerSourceId(models.Model):
    """The identifier a source system (till, web shop, old CRM, a list) uses for a customer.

    One customer may carry ids from several sources; re-imports match through these.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="source_ids",
                                 verbose_name=_("cliente"))
    source = models.CharField(_("origen"), max_length=64)
    external_id = models.CharField(_("id en el origen"), max_length=128)
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)

    class Meta:
        verbose_name = _("identificador de origen")
        verbose_name_plural = _("identificadores de origen")
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="customer_source_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Concedido")
    WITHDRAWN = "withdrawn", _("Retirado")


class ConsentFields(models.Model):
    """What every consent record says, for a card (`ConsentRecord`) or for one of its
    contact persons (`ContactConsentRecord`): one grant or withdrawal for one channel."""

    channel = models.CharField(_("canal"), max_length=10, choices=Channel.choices)
    status = models.CharField(_("estado"), max_length=10, choices=ConsentStatus.choices)
    recorded_at = models.DateTimeField(_("cuándo"), db_index=True)
    source = models.CharField(_("origen"), max_length=100,
                              help_text=_("formulario, fichero importado, caja, API, enlace de baja…"))
    ip_address = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    wording = models.TextField(_("texto o versión del consentimiento"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        abstract = True


class ConsentRecord(ConsentFields):
    """Append-only: every grant or withdrawal of consent for one channel.

    The current consent for a channel is the latest record for it (see
    `customers.selectors.consent_current`). Records are never updated or deleted.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents",
                                 verbose_name=_("cliente"))

    class Meta:
        verbose_name = _("consentimiento")
        verbose_name_plural = _("consentimientos")
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["customer", "channel", "-recorded_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel} {self.status}"


class Contact(TimeStampedModel):
    """A contact person of a card: the buyer, the manager, the accounts clerk of a company
    (seed 004: «personas naturales o empresas»; frappe/crm#335).

    A company's messages go to its primary contact (or the one a message names), and need
    that person's own consent (`ContactConsentRecord`), not the company's: see
    `engagement.services`. At most one primary contact per card, and it is active.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts",
                                 verbose_name=_("cliente"))
    name = models.CharField(_("nombre y apellidos"), max_length=150)
    role = models.CharField(_("cargo"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    phone = models.CharField(_("teléfono"), max_length=20, blank=True, db_index=True,
                             help_text=_("E.164, p. ej. +34612345678"))
    is_primary = models.BooleanField(_("contacto principal"), default=False)
    is_active = models.BooleanField(_("activo"), default=True)
    notes = models.TextField(_("notas"), blank=True)

    class Meta:
        verbose_name = _("persona de contacto")
        verbose_name_plural = _("personas de contacto")
        ordering = ["-is_primary", "-is_active", "name", "id"]
        indexes = [models.Index(fields=["customer", "is_active"], name="contact_customer_idx")]
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=models.Q(is_primary=True),
                                    name="contact_one_primary"),
            models.CheckConstraint(condition=models.Q(is_primary=False) | models.Q(is_active=True),
                                   name="contact_primary_is_active"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.role})" if self.role else self.name


class ContactConsentRecord(ConsentFields):
    """Append-only, as `ConsentRecord`: every grant or withdrawal of one contact person's
    consent for one channel. The latest record per channel is the current consent."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents",
                                verbose_name=_("persona de contacto"))

    class Meta:
        verbose_name = _("consentimiento de una persona de contacto")
        verbose_name_plural = _("consentimientos de personas de contacto")
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["contact", "channel", "-recorded_at"], name="contact_consent_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.channel} {self.status}"


class CustomerMerge(models.Model):
    """One merge of a duplicate card into a surviving card, kept so it can be undone.

    `survivor_before` / `duplicate_before` hold both cards' fields as they were; `moved`
    lists, per table, the primary keys of the rows that were re-pointed from the duplicate
    to the survivor — undo moves exactly those back.
    """

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_as_survivor",
                                 verbose_name=_("ficha que permanece"))
    duplicate = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_as_duplicate",
                                  verbose_name=_("ficha fusionada"))
    created_at = models.DateTimeField(_("cuándo"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", verbose_name=_("quién"))
    actor_label = models.CharField(_("origen"), max_length=150, blank=True)
    automatic = models.BooleanField(_("automática"), default=False)
    score = models.FloatField(_("puntuación"), null=True, blank=True)
    reasons = models.CharField(_("motivos"), max_length=500, blank=True)
    survivor_before = models.JSONField(_("ficha que permanece, antes"))
    duplicate_before = models.JSONField(_("ficha fusionada, antes"))
    field_sources = models.JSONField(_("origen de cada campo"), default=dict,
                                     help_text=_("{field: 'survivor' | 'duplicate'} after survivorship rules"))
    moved = models.JSONField(_("filas trasladadas"), default=dict)
    undone_at = models.DateTimeField(_("deshecha"), null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("fusión de fichas")
        verbose_name_plural = _("fusiones de fichas")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.duplicate_id} → {self.survivor_id}"


class MatchStatus(models.TextChoices):
    PENDING = "pending", _("Pendiente de revisar")
    MERGED = "merged", _("Fusionados")
    DISTINCT = "distinct", _("No son la misma persona")


class MatchCandidate(models.Model):
    """A pair of cards that may be the same customer, waiting for a person to decide."""

    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("puntuación"))
    reasons = models.CharField(_("motivos"), max_length=500, blank=True)
    status = models.CharField(_("estado"), max_length=10, choices=MatchStatus.choices,
                              default=MatchStatus.PENDING, db_index=True)
    created_at = models.DateTimeField(_("detectado"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decidido"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    merge = models.ForeignKey(CustomerMerge, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")

    class Meta:
        verbose_name = _("posible duplicado")
        verbose_name_plural = _("posibles duplicados")
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer_a", "customer_b"], name="match_candidate_pair_unique"),
            models.CheckConstraint(condition=models.Q(customer_a__lt=models.F("customer_b")),
                                   name="match_candidate_ordered_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_a_id} ~ {self.customer_b_id} ({self.score:.2f})"


class RequestKind(models.TextChoices):
    ACCESS = "access", _("Acceso (copia de sus datos)")
    RECTIFICATION = "rectification", _("Rectificación")
    ERASURE = "erasure", _("Supresión")
    OBJECTION = "objection", _("Oposición / limitación del tratamiento")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Abierta")
    DONE = "done", _("Atendida")
    REJECTED = "rejected", _("Denegada")


class DataSubjectRequest(models.Model):
    """A customer's request about their personal data, with the legal deadline to answer.

    While a request is open the card is blocked: it is kept, but no marketing or profiling
    uses it (see `customers.selectors.customer_is_blocked`).
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="privacy_requests",
                                 verbose_name=_("cliente"))
    kind = models.CharField(_("tipo"), max_length=16, choices=RequestKind.choices)
    status = models.CharField(_("estado"), max_length=10, choices=RequestStatus.choices,
                              default=RequestStatus.OPEN, db_index=True)
    country = models.CharField(_("legislación (país)"), max_length=2, blank=True)
    received_at = models.DateTimeField(_("recibida"))
    due_date = models.DateField(_("fecha límite"), db_index=True)
    channel = models.CharField(_("cómo llegó"), max_length=100, blank=True)
    details = models.TextField(_("detalle"), blank=True)
    resolution = models.TextField(_("respuesta"), blank=True)
    closed_at = models.DateTimeField(_("cerrada"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("solicitud de derechos")
        verbose_name_plural = _("solicitudes de derechos")
        ordering = ["status", "due_date", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.customer_id}"


class ErasureRecord(models.Model):
    """Proof that a customer's personal data was erased (kept without any personal data)."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="erasure")
    erased_at = models.DateTimeField(_("suprimido"), auto_now_add=True)
    erased_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    request = models.ForeignKey(DataSubjectRequest, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    summary = models.JSONField(_("qué se suprimió"), default=dict)

    class Meta:
        verbose_name = _("supresión de datos")
        verbose_name_plural = _("supresiones de datos")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.erased_at:%Y-%m-%d}"
