from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanConfig(AppConfig):
    """The six-moves plan (seed 002): weekly action lists from the data, and plan items."""

    name = "fideliza.plan"
    label = "plan"
    verbose_name = _("Plan de los seis movimientos")

    def ready(self) -> None:
        from .builtin import builtin_lines_register

        builtin_lines_register()
