from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("creado"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)

    class Meta:
        abstract = True


class IdempotencyRecord(models.Model):
    """The first response to a write that carried an Idempotency-Key.

    A retry with the same key and the same body gets this response back unchanged; the
    same key with another body is refused. The row is inserted inside the write's own
    transaction, so a key is recorded if and only if its write committed.
    """

    scope = models.CharField(_("ámbito"), max_length=64)
    key = models.CharField(_("clave"), max_length=255)
    principal = models.CharField(_("quién"), max_length=64, help_text=_("token o usuario que la envió"))
    request_hash = models.CharField(_("huella de la petición"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("código de estado"))
    response_body = models.JSONField(_("respuesta"))
    created_at = models.DateTimeField(_("creado"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("clave de idempotencia")
        verbose_name_plural = _("claves de idempotencia")
        constraints = [
            models.UniqueConstraint(fields=["scope", "principal", "key"], name="idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class ScheduledRun(models.Model):
    """One firing of a periodic job on one local date.

    The unique constraint makes the scheduler safe to run in several processes or on
    several machines: only the first to insert the row enqueues the job.
    """

    job = models.CharField(_("tarea"), max_length=100)
    run_date = models.DateField(_("fecha"))
    enqueued_at = models.DateTimeField(_("encolada"), auto_now_add=True)
    task_result_id = models.CharField(_("id del resultado"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("ejecución programada")
        verbose_name_plural = _("ejecuciones programadas")
        constraints = [models.UniqueConstraint(fields=["job", "run_date"], name="scheduled_run_once_a_day")]

    def __str__(self) -> str:
        return f"{self.job} {self.run_date}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("En cola")
    RUNNING = "running", _("En curso")
    DONE = "done", _("Terminada")
    FAILED = "failed", _("Falló")


class JobProgress(models.Model):
    """Progress of a background job, polled by the page that started it."""

    kind = models.CharField(_("tipo"), max_length=64, db_index=True)
    status = models.CharField(_("estado"), max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    done = models.PositiveIntegerField(_("hecho"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    message = models.CharField(_("mensaje"), max_length=500, blank=True)
    result = models.JSONField(_("resultado"), default=dict, blank=True)
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    finished_at = models.DateTimeField(_("terminada"), null=True, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("tarea en segundo plano")
        verbose_name_plural = _("tareas en segundo plano")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.status} {self.done}/{self.total}"

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done / self.total)) if self.total else 0
