from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    """Messages to customers: channels, the outbox, consent gating and the contact budget."""

    name = "fideliza.engagement"
    label = "engagement"
    verbose_name = _("Comunicación")

    def ready(self) -> None:
        # Two merged cards with a preference for the same topic: an opt-out on either wins.
        from fideliza.customers.merging import merge_handler_register

        from .services import topic_preferences_merge

        merge_handler_register("engagement.TopicPreference", topic_preferences_merge)

        # Erasing a card: the outbox keeps that messages were sent, not to whom or what.
        from fideliza.customers.privacy import erasure_handler_register

        from .services import messages_erase

        erasure_handler_register("engagement.Message", messages_erase)
        erasure_handler_register("engagement.DeliveryEvent", messages_erase)

        # The loyalty funnel's «personalizados» stage: who was sent a marketing message.
        from fideliza.segments.funnel import personalised_customers_register

        from .selectors import customers_personalised

        personalised_customers_register(customers_personalised)

        # The deploy checks (file sinks under production settings).
        from . import checks  # noqa: F401
