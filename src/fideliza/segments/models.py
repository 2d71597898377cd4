from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fideliza.customers.models import Customer


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", _("Dinámico (por reglas)")
    STATIC = "static", _("Lista fija")


class Segment(models.Model):
    """A group of customers: by rules (recomputed) or a fixed list (imported or hand-picked)."""

    name = models.CharField(_("nombre"), max_length=120, unique=True)
    description = models.TextField(_("descripción"), blank=True)
    kind = models.CharField(_("tipo"), max_length=8, choices=SegmentKind.choices, default=SegmentKind.DYNAMIC)
    rules = models.JSONField(_("reglas"), default=dict, blank=True)
    member_count = models.PositiveIntegerField(_("clientes"), default=0)
    computed_at = models.DateTimeField(_("calculado"), null=True, blank=True)
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modificado"), auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", verbose_name=_("creado por"))
    is_archived = models.BooleanField(_("archivado"), default=False)

    class Meta:
        verbose_name = _("segmento")
        verbose_name_plural = _("segmentos")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """Materialised membership: what campaigns, automations and loyalty rules target."""

    # A merge keeps one membership per segment; the duplicate's is restored on undo.
    MERGE_POLICY = "derived"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="segment_memberships")
    added_at = models.DateTimeField(_("desde"), auto_now_add=True)

    class Meta:
        verbose_name = _("miembro de segmento")
        verbose_name_plural = _("miembros de segmento")
        constraints = [models.UniqueConstraint(fields=["segment", "customer"], name="segment_member_unique")]
        indexes = [models.Index(fields=["customer", "segment"])]

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.customer_id}"
