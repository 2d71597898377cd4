from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    """Events and invitations: RSVP with a waiting list, .ics, reminders, check-in, report."""

    name = "fideliza.events"
    label = "events"
    verbose_name = _("Eventos")

    def ready(self) -> None:
        # Every e-mail about an event carries its calendar entry, built when it is sent.
        from fideliza.engagement.channels import attachment_provider_register

        from .outbox import event_message_attachments

        attachment_provider_register("event:", event_message_attachments)
