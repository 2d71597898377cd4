from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    """Campaigns and automations: who gets what and when, with holdout groups and uplift."""

    name = "fideliza.campaigns"
    label = "campaigns"
    verbose_name = _("Campañas y automatizaciones")

    def ready(self) -> None:
        # The outbox names this app's messages («Campaña «…»») and reports its batches.
        from fideliza.engagement.outbox import outbox_batch_handler_register
        from fideliza.engagement.wording import source_namer_register

        from .selectors import campaign_sources_name
        from .services import campaigns_outbox_batch_done

        source_namer_register("campaign", campaign_sources_name)
        # A campaign is "sent" as soon as the worker sends (or fails) its last message.
        outbox_batch_handler_register(campaigns_outbox_batch_done)
