from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    """Surveys: NPS, CSAT and CES questionnaires sent through campaigns and automations,
    their results, the follow-up of unhappy customers, and testimonials."""

    name = "fideliza.surveys"
    label = "surveys"
    verbose_name = _("Encuestas")

    def ready(self) -> None:
        # Erasing a card: the scores stay (the figures stay right), the free texts go.
        from fideliza.customers.privacy import erasure_handler_register

        from .services import responses_erase, testimonials_erase

        erasure_handler_register("surveys.Response", responses_erase)
        erasure_handler_register("surveys.Testimonial", testimonials_erase)

        # Segment rules: «categoría NPS», «última satisfacción», «respondió encuesta X».
        from fideliza.segments.rules import rule_field_register

        from .rule_fields import RULE_FIELDS

        for definition in RULE_FIELDS:
            rule_field_register(definition)

        # The dashboard's NPS and satisfaction cards.
        from fideliza.insights.feedback import satisfaction_provider_register

        from .selectors import satisfaction_figures

        satisfaction_provider_register(satisfaction_figures)
