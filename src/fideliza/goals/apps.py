from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GoalsConfig(AppConfig):
    """Retention goals (seed 002 «Fije metas de retención»; seed 003 «Definir objetivos claros»)."""

    name = "fideliza.goals"
    label = "goals"
    verbose_name = _("Metas de retención")
