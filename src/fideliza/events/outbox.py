"""What the outbox asks of events when it sends one of their e-mails: the .ics attachment."""

from __future__ import annotations

from fideliza.engagement.channels import Attachment
from fideliza.engagement.models import Message

from .ics import event_ics, ics_filename
from .models import Event
from .services import event_id_of_source, rsvp_url


def event_message_attachments(message: Message) -> list[Attachment]:
    """The event's calendar entry, with the guest's personal link in its description."""
    event_id = event_id_of_source(message.source)
    event = Event.objects.filter(pk=event_id).first() if event_id is not None else None
    if event is None:
        return []
    ics = event_ics(event, rsvp_link=rsvp_url(event.pk, message.customer_id))
    return [Attachment(ics_filename(event), ics.decode("utf-8"), "text/calendar")]
