"""Issue 15's browser test of an event: the owner creates it for a segment and sends the
invitations; they land in a real SMTP server, each with a working .ics; guests answer
through their personal links (one accepts, one declines), the event fills and the next «sí»
waits; a confirmed guest changes to «no» and the first on the waiting list is promoted (and
told, by e-mail); at the door the owner finds a guest by name and marks them; the card's
timeline shows the attendance."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from fideliza.customers.models import ConsentRecord, Customer
from fideliza.events.models import Event, Invitation
from fideliza.segments.models import Segment, SegmentKind, SegmentMember
from tests.clock import MIDSUMMER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UTC = ZoneInfo("UTC")
PEOPLE = [("Carmen", "Vidal", "carmen@example.com"), ("Tomás", "Gómez", "tomas@example.com"),
          ("Lucía", "Ortega", "lucia@example.com"), ("Ana", "Ruiz", "ana@example.com")]
EVENT_DAY = (MIDSUMMER + timedelta(days=7)).date()  # the Wednesday after


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """Wednesday noon, ticking: the invitations leave outside the quiet hours."""
    time_machine.move_to(MIDSUMMER, tick=True)


@pytest.fixture
def segment(db):
    segment = Segment.objects.create(name="Clientes de la jornada", kind=SegmentKind.STATIC, member_count=len(PEOPLE))
    for first, last, email in PEOPLE:
        customer = Customer.objects.create(first_name=first, last_name=last, email=email, city="Córdoba")
        ConsentRecord.objects.create(customer=customer, channel="email", status="granted", source="test",
                                     recorded_at=MIDSUMMER - timedelta(days=10))
        SegmentMember.objects.create(segment=segment, customer=customer)
    return segment


def _link(mail) -> str:
    text = mail.get_body(preferencelist=("plain",)).get_content()
    return next(line.strip() for line in text.splitlines() if "/evento/" in line and "calendario" not in line)


def test_an_event_from_invitation_to_the_door(page, log_in, owner, segment, smtp_sink, live_server, settings,
                                              time_machine):
    settings.FIDELIZA_PUBLIC_URL = live_server.url
    log_in("duena", "clave-segura-1")
    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Eventos").click()
    page.get_by_role("link", name="Nuevo evento").click()
    page.get_by_label("Tipo de evento").select_option(label="Jornada de fin de año")
    page.get_by_label("Título").fill("Brindis de verano")
    page.get_by_label("Fecha", exact=True).fill(EVENT_DAY.isoformat())
    page.get_by_label("Hora de comienzo").fill("19:00")
    page.get_by_label("Hora de fin").fill("22:00")
    page.get_by_label("Lugar").fill("Tienda Centro, C/ Mayor 3")
    page.get_by_label("Ciudad", exact=True).fill("Córdoba")
    page.get_by_label("Aforo").fill("2")
    page.get_by_label("Segmento invitado").select_option(label="Clientes de la jornada")
    page.get_by_label("Estado").select_option(label="Publicado")
    page.get_by_role("button", name="Guardar evento").click()
    expect(page.get_by_role("heading", name="Brindis de verano", level=1)).to_be_visible()
    expect(page.locator("#invite-form")).to_contain_text("4 clientes del público elegido aún sin invitar.")

    page.get_by_role("button", name="Enviar invitaciones").click()
    expect(page.get_by_text("4 invitaciones enviadas a la bandeja de salida.")).to_be_visible()
    assert smtp_sink.wait_for(4)
    event = Event.objects.get(title="Brindis de verano")
    links = {}
    for _first, _last, email in PEOPLE:
        [mail] = smtp_sink.to(email)
        assert str(mail["Subject"]) == "Invitación: Brindis de verano"
        [ics] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
        [entry] = Calendar.from_ical(ics.get_content().encode()).walk("VEVENT")
        assert entry.decoded("dtstart").astimezone(UTC) == datetime(2025, 6, 18, 17, 0, tzinfo=UTC)  # 19:00 CEST
        links[email] = _link(mail)
        assert links[email] in str(entry["DESCRIPTION"])

    guest = page.context.browser.new_context(locale="es-ES", viewport={"width": 390, "height": 800})  # a phone
    phone = guest.new_page()

    def answer(email: str, label: str, expected: str) -> None:
        phone.goto(links[email])
        phone.get_by_role("button", name=label, exact=True).click()
        expect(phone.locator("#rsvp-saved")).to_contain_text(expected)

    answer("carmen@example.com", "Sí", "Su plaza está confirmada")
    answer("lucia@example.com", "No", "Le echaremos de menos")
    answer("tomas@example.com", "Sí", "Su plaza está confirmada")   # the event is full now
    answer("ana@example.com", "Sí", "queda en la lista de espera")
    # Carmen cannot come after all: Ana moves up and is told by e-mail.
    answer("carmen@example.com", "No", "Le echaremos de menos")
    assert smtp_sink.wait_for(5)
    [promoted] = [m for m in smtp_sink.to("ana@example.com") if str(m["Subject"]).startswith("Tiene plaza")]
    assert "queda confirmada su asistencia" in promoted.get_body(preferencelist=("plain",)).get_content()
    responses = dict(Invitation.objects.filter(event=event).values_list("customer__first_name", "response"))
    assert responses == {"Carmen": "no", "Lucía": "no", "Tomás": "yes", "Ana": "yes"}
    guest.close()

    page.reload()
    expect(page.locator("#event-capacity")).to_have_text("2 de 2 plazas confirmadas")
    expect(page.locator("#report-declined")).to_have_text("2")

    # The evening of the event, at the door.
    time_machine.move_to(datetime(2025, 6, 18, 19, 10, tzinfo=MIDSUMMER.tzinfo), tick=True)
    page.get_by_role("link", name="Puerta (registro de asistencia)").click()
    page.get_by_label("Buscar por nombre").fill("tomas")
    page.get_by_role("button", name="Buscar").click()
    row = page.locator("#door-invited li", has_text="Tomás Gómez")
    row.get_by_role("button", name="Ha llegado").click()
    expect(page.get_by_text("Tomás Gómez está en el evento.")).to_be_visible()
    expect(page.locator("#door-count")).to_contain_text("1 personas dentro")

    # The card's timeline.
    tomas = Customer.objects.get(email="tomas@example.com")
    page.goto(f"/clientes/{tomas.pk}/")
    page.locator("#timeline-filter").get_by_role("link", name="Eventos").click()
    item = page.locator("#timeline .timeline-event")
    expect(item).to_contain_text("Brindis de verano")
    expect(item).to_contain_text("Asistió")
    page.locator("#timeline-filter").get_by_role("link", name="Interacciones").click()
    expect(page.locator("#timeline")).to_contain_text("Asistencia a un evento")
    expect(page.locator("#timeline")).to_contain_text("Asistió a «Brindis de verano».")
    assert re.search(r"/clientes/\d+/", page.url)
