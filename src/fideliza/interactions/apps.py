from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InteractionsConfig(AppConfig):
    """The interaction log: calls, visits, meetings, meals, events, e-mails, WhatsApp, notes."""

    name = "fideliza.interactions"
    label = "interactions"
    verbose_name = _("Interacciones")

    def ready(self) -> None:
        # Erasing a card: the log keeps that someone was contacted, when and how, not what was said.
        from fideliza.customers.privacy import erasure_handler_register

        from .services import interactions_erase

        erasure_handler_register("interactions.Interaction", interactions_erase)

        from .documents import documents_erase

        erasure_handler_register("interactions.Document", documents_erase)

        from fideliza.customers.contacts import (
            contact_erasure_handler_register,
            contact_fold_handler_register,
        )

        from .services import interactions_contact_erase, interactions_contact_fold

        contact_erasure_handler_register(interactions_contact_erase)
        contact_fold_handler_register("interactions.Interaction", interactions_contact_fold)
