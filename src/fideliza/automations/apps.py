from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationsConfig(AppConfig):
    """Triggered journeys (welcome, birthday, inactivity, win-back…) with their own holdout."""

    name = "fideliza.automations"
    label = "automations"
    verbose_name = _("Automatizaciones")
