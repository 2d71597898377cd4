"""What the demo leaves behind besides business data: a record of each attempt to load it.

A demo is several transactions (one per imported file, then points, segments, analytics):
a failure or a kill half-way leaves part of a business in the database. `fideliza run
--demo` reads the latest attempt before serving, so a half-loaded demo is never served
as if it were whole (see `demo.services.demo_ensure`).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DemoLoadStatus(models.TextChoices):
    LOADING = "loading", _("cargando")
    COMPLETE = "complete", _("completa")
    FAILED = "failed", _("fallida")


class DemoLoad(models.Model):
    """One attempt to load the demo business; `complete` only once all of it is in.

    Kept by `demo_reset` (the demo app is not business data), so the history of attempts
    survives the reset that cleans a failed one.
    """

    started_at = models.DateTimeField(_("empezada"), default=timezone.now)
    updated_at = models.DateTimeField(_("última señal"), default=timezone.now,
                                      help_text=_("la última etapa empezada"))
    finished_at = models.DateTimeField(_("terminada"), null=True, blank=True)
    status = models.CharField(_("estado"), max_length=12, choices=DemoLoadStatus.choices,
                              default=DemoLoadStatus.LOADING)
    stage = models.CharField(_("etapa"), max_length=200, blank=True)
    customers = models.PositiveIntegerField(_("clientes"))
    seed = models.IntegerField(_("semilla"))
    years = models.PositiveSmallIntegerField(_("años"))
    today = models.DateField(_("fecha de referencia"))
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("carga de la demostración")
        verbose_name_plural = _("cargas de la demostración")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} · {self.get_status_display()}"
