from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "fideliza.imports"
    label = "imports"
    verbose_name = _("Importaciones")
