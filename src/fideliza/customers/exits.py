"""Why customers leave (seed 002 §2: always ask for the reason when a customer leaves).

The unsubscribe page (engagement) asks for a reason, optionally; deactivating a card
(customers) requires one. Both report it here; the app that keeps and analyses the reasons
(complaints: the exit-reasons Pareto beside the complaint reasons) registers a handler from
its AppConfig.ready, so these lower apps never import it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class ExitReason(models.TextChoices):
    TOO_MANY = "too_many", gettext_lazy("Recibo demasiados mensajes")
    NOT_RELEVANT = "not_relevant", gettext_lazy("Los mensajes no me interesan")
    PRICE = "price", gettext_lazy("Los precios")
    SERVICE = "service", gettext_lazy("Una mala experiencia con la atención")
    PRODUCT = "product", gettext_lazy("La calidad de los productos")
    COMPETITOR = "competitor", gettext_lazy("Compro en otro sitio")
    MOVED = "moved", gettext_lazy("Me mudé o ya no lo necesito")
    OTHER = "other", gettext_lazy("Otro motivo")


class ExitSource(models.TextChoices):
    UNSUBSCRIBE = "unsubscribe", gettext_lazy("Baja de las comunicaciones")
    DEACTIVATION = "deactivation", gettext_lazy("Baja de la ficha")


ExitHandler = Callable[[int, str, str, str, datetime], None]
_HANDLERS: list[ExitHandler] = []


def exit_handler_register(handler: ExitHandler) -> None:
    """Keep the reasons reported from now on (call from an AppConfig.ready)."""
    if handler not in _HANDLERS:
        _HANDLERS.append(handler)


def exit_reason_clean(reason: str, text: str, *, required: bool) -> tuple[str, str]:
    """(reason, text) checked: a known reason (or none when optional); «otro» needs a text."""
    reason, text = (reason or "").strip(), (text or "").strip()[:500]
    if not reason:
        if required:
            raise ValidationError({"exit_reason": _("Indique el motivo de la baja.")}, code="required")
        return "", text
    if reason not in ExitReason.values:
        raise ValidationError({"exit_reason": _("Elija un motivo de la lista.")}, code="invalid")
    if reason == ExitReason.OTHER and not text:
        raise ValidationError({"exit_text": _("Cuéntenos el motivo en pocas palabras.")}, code="required")
    return reason, text


def exit_reason_report(*, customer_id: int, source: str, reason: str, text: str = "",
                       at: datetime | None = None) -> None:
    """Hand a (checked) reason to the registered keepers; nothing when no reason was given."""
    if not reason:
        return
    for handler in _HANDLERS:
        handler(customer_id, source, reason, text, at or timezone.now())
