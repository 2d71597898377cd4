"""The calendar entry of an event (RFC 5545), built with the `icalendar` package.

Times carry their zone: DTSTART/DTEND with TZID of the business's zone and its VTIMEZONE
(so a calendar in another zone, or an event across a DST change, shows the right hour);
DTSTAMP in UTC. One UID per event and guest's copy never changes; SEQUENCE rises with
every change of time or place, so calendars update the entry; a cancelled event is
STATUS:CANCELLED. METHOD:PUBLISH: the entry is added, the answer is given through the
personal link (no iTIP reply to an organiser mailbox).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar
from icalendar import Event as CalendarEvent

from .models import Event, EventStatus

UTC = ZoneInfo("UTC")


def _domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">") or "fideliza.local"


def event_ics(event: Event, *, rsvp_link: str = "", now: datetime | None = None) -> bytes:
    """The .ics file of `event` (for one guest when `rsvp_link` is given)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    calendar = Calendar()
    calendar.add("prodid", "-//Fideliza//Eventos//ES")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    entry = CalendarEvent()
    entry.add("uid", f"fideliza-event-{event.pk}@{_domain()}")
    entry.add("dtstamp", (now or timezone.now()).astimezone(UTC))
    entry.add("dtstart", event.starts_at.astimezone(zone))
    entry.add("dtend", event.ends_at.astimezone(zone))
    entry.add("sequence", event.sequence)
    entry.add("summary", event.title)
    description = event.description.strip()
    if rsvp_link:
        description = f"{description}\n\n{rsvp_link}".strip()
    if description:
        entry.add("description", description)
    location = ", ".join(p for p in (event.place, event.city) if p) or event.online_url
    if location:
        entry.add("location", location)
    if event.online_url:
        entry.add("url", event.online_url)
    entry.add("status", "CANCELLED" if event.status == EventStatus.CANCELLED else "CONFIRMED")
    calendar.add_component(entry)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def ics_filename(event: Event) -> str:
    return f"evento-{event.pk}.ics"
