from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Clientes")
    CONTACTS = "contacts", _("Personas de contacto de empresas")
    PRODUCTS = "products", _("Productos")
    ORDERS = "orders", _("Pedidos (una fila por línea)")
    TICKETS = "tickets", _("Tickets (una fila por compra: cliente, fecha e importe)")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Pendiente")
    VALIDATING = "validating", _("Validando")
    INVALID = "invalid", _("Con errores")
    VALIDATED = "validated", _("Validado")
    IMPORTING = "importing", _("Importando")
    DONE = "done", _("Importado")
    FAILED = "failed", _("Falló")


class ImportRun(models.Model):
    """One file brought in: who, when, what, and how many rows landed or were rejected."""

    kind = models.CharField(_("tipo"), max_length=16, choices=ImportKind.choices)
    source = models.CharField(_("origen"), max_length=64,
                              help_text=_("nombre del sistema de origen; sus identificadores se guardan por origen"))
    file_name = models.CharField(_("archivo"), max_length=255)
    file = models.FileField(_("archivo subido"), upload_to="imports/%Y/%m/", blank=True)
    file_sha256 = models.CharField(_("huella del archivo"), max_length=64, blank=True)
    options = models.JSONField(_("opciones"), default=dict, blank=True,
                               help_text=_("separador, codificación, decimal, formato de fecha, correspondencia de columnas"))
    status = models.CharField(_("estado"), max_length=12, choices=ImportStatus.choices,
                              default=ImportStatus.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("quién"))
    created_at = models.DateTimeField(_("cuándo"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("terminado"), null=True, blank=True)
    rows_total = models.PositiveIntegerField(_("filas leídas"), default=0)
    rows_processed = models.PositiveIntegerField(_("filas procesadas"), default=0,
                                                 help_text=_("progreso"))
    rows_created = models.PositiveIntegerField(_("filas creadas"), default=0)
    rows_updated = models.PositiveIntegerField(_("filas actualizadas"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("filas sin cambios"), default=0)
    rows_rejected = models.PositiveIntegerField(_("filas rechazadas"), default=0)
    errors = models.JSONField(_("errores"), default=list, blank=True,
                              help_text=_("[{row, column, value, message}]"))
    error_count = models.PositiveIntegerField(_("número de errores"), default=0)

    class Meta:
        verbose_name = _("importación")
        verbose_name_plural = _("importaciones")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.file_name}"

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 0
        return min(100, round(100 * self.rows_processed / self.rows_total))
