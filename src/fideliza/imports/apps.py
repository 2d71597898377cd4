from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "fideliza.imports"
    label = "imports"
    verbose_name = _("Importaciones")

    def ready(self) -> None:
        # Erasing a card blanks the rejected cells that quote it in import error reports.
        from fideliza.customers.privacy import erasure_handler_register

        from .privacy import import_errors_erase

        erasure_handler_register("imports.ImportRun", import_errors_erase)
