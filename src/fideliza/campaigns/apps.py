from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    """Campaigns and automations: who gets what and when, with holdout groups and uplift."""

    name = "fideliza.campaigns"
    label = "campaigns"
    verbose_name = _("Campañas y automatizaciones")
