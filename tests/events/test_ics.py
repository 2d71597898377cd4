"""The invitation's calendar file: sent as a real attachment through SMTP, and parsed back
with icalendar, its times right in UTC and with the business's TZID — across DST changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from icalendar import Calendar

from fideliza.accounts.services import Actor
from fideliza.events.ics import event_ics
from fideliza.events.services import event_cancel, event_save, invitations_send

from .conftest import NOW, event_data

pytestmark = pytest.mark.django_db
MADRID, UTC = ZoneInfo("Europe/Madrid"), ZoneInfo("UTC")


def _entry(ics: bytes):
    calendar = Calendar.from_ical(ics)
    [entry] = calendar.walk("VEVENT")
    return calendar, entry


@pytest.mark.parametrize(("start", "end", "utc_start", "utc_end"), [
    # Spring forward, 30 March 2025: 01:30 CET (+1) to 04:00 CEST (+2), 90 minutes.
    (datetime(2025, 3, 30, 1, 30, tzinfo=MADRID), datetime(2025, 3, 30, 4, 0, tzinfo=MADRID),
     datetime(2025, 3, 30, 0, 30, tzinfo=UTC), datetime(2025, 3, 30, 2, 0, tzinfo=UTC)),
    # Fall back, 26 October 2025: 01:30 CEST (+2) to 03:30 CET (+1), three hours.
    (datetime(2025, 10, 26, 1, 30, tzinfo=MADRID), datetime(2025, 10, 26, 3, 30, tzinfo=MADRID),
     datetime(2025, 10, 25, 23, 30, tzinfo=UTC), datetime(2025, 10, 26, 2, 30, tzinfo=UTC)),
])
def test_times_parse_back_with_their_zone_across_dst(owner, start, end, utc_start, utc_end):
    with time_machine.travel(start - timedelta(days=20), tick=False):
        event = event_save(actor=Actor.of(owner), data=event_data(starts_at=start, ends_at=end, rsvp_deadline=None))
        ics = event_ics(event, rsvp_link="https://tienda.example/evento/x/")
    calendar, entry = _entry(ics)
    assert b"DTSTART;TZID=Europe/Madrid:" in ics and b"BEGIN:VTIMEZONE" in ics
    assert entry.decoded("dtstart").astimezone(UTC) == utc_start
    assert entry.decoded("dtend").astimezone(UTC) == utc_end
    assert entry.decoded("dtstart").tzinfo is not None
    assert entry.decoded("dtstamp").utcoffset() == timedelta(0)
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/Madrid"
    assert str(calendar["METHOD"]) == "PUBLISH" and str(calendar["VERSION"]) == "2.0"
    assert str(entry["SUMMARY"]) == "Jornada de fin de año"
    assert "https://tienda.example/evento/x/" in str(entry["DESCRIPTION"])
    assert str(entry["LOCATION"]) == "Tienda Centro, C/ Mayor 3, Córdoba"


def test_a_change_of_time_raises_the_sequence_and_a_cancellation_says_so(owner):
    with time_machine.travel(NOW, tick=False):
        event = event_save(actor=Actor.of(owner), data=event_data())
        _cal, first = _entry(event_ics(event))
        event = event_save(actor=Actor.of(owner), data={"description": "Con merienda."}, event=event)
        assert event.sequence == 0  # the description is not the time or the place
        event = event_save(actor=Actor.of(owner), data={"ends_at": event.ends_at + timedelta(hours=1)}, event=event)
        _cal, second = _entry(event_ics(event))
        event = event_cancel(actor=Actor.of(owner), event=event)
        _cal, third = _entry(event_ics(event))
    assert str(first["UID"]) == str(second["UID"]) == str(third["UID"])
    assert (first["SEQUENCE"], second["SEQUENCE"], third["SEQUENCE"]) == (0, 1, 2)
    assert (str(first["STATUS"]), str(third["STATUS"])) == ("CONFIRMED", "CANCELLED")


@pytest.mark.django_db(transaction=True)
def test_the_invitation_carries_the_ics_through_a_real_smtp_server(owner, guests, smtp_sink):
    with time_machine.travel(NOW, tick=False):
        event = event_save(actor=Actor.of(owner), data=event_data(audience_segment=guests["segment"]))
        invitations_send(actor=Actor.of(owner), event=event)
    assert smtp_sink.wait_for(5)
    [mail] = smtp_sink.to("lucia@example.com")
    assert mail["List-Unsubscribe"]  # marketing: the one-click way out
    [part] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == f"evento-{event.pk}.ics"
    _cal, entry = _entry(part.get_content().encode())
    assert entry.decoded("dtstart").astimezone(UTC) == datetime(2026, 6, 20, 17, 0, tzinfo=UTC)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Hola Lucía:" in text
    rsvp_link = next(line for line in text.splitlines() if "/evento/" in line and "calendario" not in line)
    assert rsvp_link.strip() in str(entry["DESCRIPTION"])
