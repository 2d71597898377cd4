from functools import partial

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "fideliza.insights"
    label = "insights"
    verbose_name = _("Análisis")

    def ready(self) -> None:
        # New sales make the analytics snapshot stale (sales sits below insights).
        from fideliza.sales.hooks import orders_recorded_register, returns_recorded_register

        from . import reactions

        orders_recorded_register(reactions.on_orders_recorded)
        returns_recorded_register(reactions.on_returns_recorded)
        # So does a merge or its undo: purchase histories changed owner.
        from fideliza.customers.merging import merge_reaction_register

        merge_reaction_register(reactions.on_customers_merged)

        # The customer's data copy words the snapshot's codes and sentences like the card.
        from fideliza.customers.export import export_reader_register

        from . import labels

        for name, vocabulary in (("rfm_segment", "rfm_segment"), ("value_tier", "value_tier"),
                                 ("activity_state", "activity_state"), ("churn_band", "churn_band"),
                                 ("abc_revenue", "abc_class"), ("abc_margin", "abc_class"),
                                 ("path_step", "path_level"), ("path_next_step", "path_level")):
            export_reader_register("insights.CustomerMetrics", name,
                                   partial(labels.label_of, vocabulary))
        export_reader_register("insights.RfmMonthly", "segment",
                               lambda code: labels.label_of("rfm_segment", code))
        export_reader_register("insights.CustomerMetrics", "churn_reason", labels.churn_reason_text)
        export_reader_register("insights.CustomerMetrics", "next_reason", labels.next_reason_text)
