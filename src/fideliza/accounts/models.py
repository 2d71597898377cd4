from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Propietario")
    MARKETING = "marketing", _("Marketing")
    SALES_REP = "sales_rep", _("Representante de ventas")
    SUPPORT = "support", _("Atención al cliente")


class User(AbstractUser):
    """A member of the business's staff. The role decides what they see and change."""

    role = models.CharField(_("rol"), max_length=16, choices=Role.choices, default=Role.SUPPORT)
    language = models.CharField(
        _("idioma"), max_length=8, choices=settings.LANGUAGES, default="es", blank=True
    )

    class Meta:
        verbose_name = _("usuario")
        verbose_name_plural = _("usuarios")

    @property
    def is_sales_rep(self) -> bool:
        return self.role == Role.SALES_REP and not self.is_superuser

    @property
    def sees_all_customers(self) -> bool:
        return not self.is_sales_rep


class ApiToken(models.Model):
    """A credential for one integration (a till, a web shop).

    Only a SHA-256 digest of the secret is stored: tokens are 256-bit random strings, so a
    fast hash is enough (a slow KDF protects low-entropy passwords, not random keys). The
    plain token is shown once, when created. `prefix` lets the lookup hit an index.
    """

    name = models.CharField(_("nombre"), max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("actúa como"),
        help_text=_("el token tiene el rol y la visibilidad de este usuario"),
    )
    prefix = models.CharField(_("prefijo"), max_length=12, db_index=True)
    digest = models.CharField(_("huella"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(_("último uso"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revocado"), null=True, blank=True)

    class Meta:
        verbose_name = _("token de API")
        verbose_name_plural = _("tokens de API")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditAction(models.TextChoices):
    CREATE = "create", _("alta")
    UPDATE = "update", _("modificación")
    DELETE = "delete", _("baja")
    BULK_CREATE = "bulk_create", _("alta masiva")
    BULK_UPDATE = "bulk_update", _("modificación masiva")
    MERGE = "merge", _("fusión")
    UNMERGE = "unmerge", _("deshacer fusión")
    ERASE = "erase", _("supresión de datos")
    EXPORT = "export", _("exportación")


class AuditLog(models.Model):
    """Append-only record of every change to customer data: who, when, what changed."""

    created_at = models.DateTimeField(_("cuándo"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("quién"),
    )
    actor_label = models.CharField(_("origen"), max_length=150, blank=True,
                                   help_text=_("usuario, token de API o tarea que hizo el cambio"))
    action = models.CharField(_("acción"), max_length=16, choices=AuditAction.choices)
    entity = models.CharField(_("entidad"), max_length=64, db_index=True)
    entity_id = models.CharField(_("id"), max_length=64, db_index=True)
    changes = models.JSONField(_("cambios"), default=dict, blank=True,
                               help_text=_('{"field": [old, new]}'))
    context = models.JSONField(_("contexto"), default=dict, blank=True)

    class Meta:
        verbose_name = _("registro de auditoría")
        verbose_name_plural = _("registros de auditoría")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["entity", "entity_id", "created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.entity}#{self.entity_id}"
