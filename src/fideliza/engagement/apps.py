from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    """Messages to customers: channels, the outbox, consent gating and the contact budget."""

    name = "fideliza.engagement"
    label = "engagement"
    verbose_name = _("Comunicación")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy checks)
