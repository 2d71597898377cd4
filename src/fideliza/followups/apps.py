from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    """Follow-ups (seguimientos): the one task model of the relationship work."""

    name = "fideliza.followups"
    label = "followups"
    verbose_name = _("Seguimientos")

    def ready(self) -> None:
        # Erasing a card: its follow-ups keep that work was done, not what was said.
        from fideliza.customers.privacy import erasure_handler_register

        from .services import followups_erase

        erasure_handler_register("followups.FollowUp", followups_erase)
