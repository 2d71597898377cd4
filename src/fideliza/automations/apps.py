from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationsConfig(AppConfig):
    """Triggered journeys (welcome, birthday, inactivity, win-back…) with their own holdout."""

    name = "fideliza.automations"
    label = "automations"
    verbose_name = _("Automatizaciones")

    def ready(self) -> None:
        # The outbox names this app's messages («Automatización «…», paso 1»).
        from fideliza.engagement.wording import source_namer_register

        from .selectors import automation_sources_name

        source_namer_register("automation", automation_sources_name)

        # Merged cards keep one active enrolment per automation.
        from fideliza.customers.merging import merge_handler_register

        from .merging import enrollments_merge

        merge_handler_register("automations.Enrollment", enrollments_merge)

        # Erasing a card stops its journeys and blanks its trigger data.
        from fideliza.customers.privacy import erasure_handler_register

        from .privacy import enrollments_erase
        from .services import occurrences_erase

        erasure_handler_register("automations.Enrollment", enrollments_erase)
        erasure_handler_register("automations.Occurrence", occurrences_erase)
