from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentsConfig(AppConfig):
    name = "fideliza.segments"
    label = "segments"
    verbose_name = _("Segmentos")

    def ready(self) -> None:
        # Dynamic segments read the analytics snapshot: refresh them after each new one.
        from fideliza.insights.services import snapshot_recomputed_register

        from .services import segments_refresh_all

        snapshot_recomputed_register(segments_refresh_all)
