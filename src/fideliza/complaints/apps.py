from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    """The complaints book: legal deadlines, canned answers, recovery gestures, exit reasons."""

    name = "fideliza.complaints"
    label = "complaints"
    verbose_name = _("Libro de quejas")

    def ready(self) -> None:
        from fideliza.customers.exits import exit_handler_register
        from fideliza.customers.privacy import erasure_handler_register

        from .services import complaints_erase, exit_reason_keep, exit_reasons_erase

        # Erasing a card: the book keeps its codes, dates, states and figures, not the words.
        erasure_handler_register("complaints.Complaint", complaints_erase)
        erasure_handler_register("complaints.ExitReasonRecord", exit_reasons_erase)
        exit_handler_register(exit_reason_keep)
