from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "fideliza.loyalty"
    label = "loyalty"
    verbose_name = _("Fidelización")

    def ready(self) -> None:
        # Points are earned and clawed back as sales records orders and returns.
        from fideliza.sales.hooks import orders_recorded_register, returns_recorded_register

        from . import hooks

        orders_recorded_register(hooks.on_orders_recorded)
        returns_recorded_register(hooks.on_returns_recorded)

        # Two members of one program merged: their ledgers are combined.
        from fideliza.customers.merging import merge_handler_register

        from .merging import members_merge

        merge_handler_register("loyalty.Member", members_merge)

        # Erasing a card that is an affiliate: it loses its name and stops earning.
        from fideliza.customers.privacy import erasure_handler_register

        from .privacy import affiliates_erase

        erasure_handler_register("loyalty.Affiliate", affiliates_erase)

        # Segment rules over points (segments sit below loyalty).
        from fideliza.segments.rules import rule_field_register

        from .rule_fields import RULE_FIELDS

        for definition in RULE_FIELDS:
            rule_field_register(definition)
