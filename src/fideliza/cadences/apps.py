from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CadencesConfig(AppConfig):
    """Contact cadences: how often each kind of customer should hear from a person."""

    name = "fideliza.cadences"
    label = "cadences"
    verbose_name = _("Cadencias de contacto")
