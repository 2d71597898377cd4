"""The surveys issue's browser test: the owner creates an NPS survey from the template and
sends it to a segment through a campaign; the customer's e-mail in a real SMTP server shows
the 0–10 scale; following its "3" link on a phone records a detractor, and the rest of the
survey is finished there; the results page counts it; the account executive finds the
follow-up with the comment on «Mi día»; the customer's points grew by the program's
survey points once, and following the link again answers nothing twice."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from fideliza.accounts.services import Actor
from fideliza.customers.models import ConsentRecord, Customer
from fideliza.loyalty.models import Member
from fideliza.segments.models import Segment, SegmentKind, SegmentMember
from fideliza.surveys.models import Response
from tests.clock import MIDSUMMER
from tests.factories.loyalty import member_make, program_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PEOPLE = [("Carmen", "Vidal", "carmen@example.com"), ("Tomás", "Gómez", "tomas@example.com")]
SURVEY_POINTS = 30
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """Wednesday noon, ticking: the send falls outside the quiet hours, whatever the real hour."""
    time_machine.move_to(MIDSUMMER, tick=True)


@pytest.fixture
def rep(django_user_model):
    return django_user_model.objects.create_user(username="javier", password="clave-segura-1", role="sales_rep",
                                                 first_name="Javier")


@pytest.fixture
def clients_segment(db, rep):
    program = program_make(actor=Actor.system("tests"), survey_points=SURVEY_POINTS)
    segment = Segment.objects.create(name="Clientes de la tienda", kind=SegmentKind.STATIC, member_count=len(PEOPLE))
    for first, last, email in PEOPLE:
        customer = Customer.objects.create(first_name=first, last_name=last, email=email, city="Córdoba",
                                           account_executive=rep)
        ConsentRecord.objects.create(customer=customer, channel="email", status="granted", source="test",
                                     recorded_at=MIDSUMMER - timedelta(days=10))
        SegmentMember.objects.create(segment=segment, customer=customer)
        member_make(customer, program, at=MIDSUMMER - timedelta(days=10))
    return segment


def test_nps_survey_from_template_to_detractor_followup(browser, page, log_in, live_server, settings, owner, rep,
                                                        clients_segment, smtp_sink, time_machine):
    settings.FIDELIZA_PUBLIC_URL = live_server.url
    carmen = Customer.objects.get(email="carmen@example.com")
    points_before = Member.objects.get(customer=carmen).points_balance

    # The owner: a survey from the NPS template, sent through a campaign to the segment.
    log_in("duena", "clave-segura-1")
    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Encuestas").click()
    page.get_by_label("Plantilla").select_option(label="NPS: ¿nos recomendarías?")
    page.get_by_role("button", name="Crear desde la plantilla").click()
    expect(page.get_by_role("heading", name="NPS: ¿nos recomendarías?", level=1)).to_be_visible()
    expect(page.locator("#question-list")).to_contain_text("¿Qué deberíamos mejorar?")
    page.get_by_role("link", name="Enviar con una campaña").click()
    expect(page.get_by_label("Encuesta", exact=True)).to_have_value(re.compile(r"\d+"))
    page.get_by_label("Nombre", exact=True).fill("Su opinión cuenta")
    page.get_by_label("Segmento").select_option(label="Clientes de la tienda")
    page.get_by_label("Asunto").fill("{{ nombre }}, ¿nos recomendaría?")
    page.get_by_label("Texto del e-mail").fill("Hola {{ nombre }}:\nUna pregunta, un minuto.\n"
                                               "Darse de baja: %%unsubscribe_url%%")
    page.get_by_label("HTML del e-mail (opcional)").fill("<html><body><p>Hola {{ nombre }}:</p></body></html>")
    page.get_by_label("Grupo de control (%)").fill("0")
    page.get_by_role("button", name="Guardar campaña").click()
    page.get_by_role("link", name="Enviar", exact=True).click()
    page.get_by_role("button", name="Confirmar el envío").click()
    expect(page.get_by_role("heading", name="Resultados de la campaña")).to_be_visible()

    # The customer's e-mail shows the 0–10 scale, each number a link.
    assert smtp_sink.wait_for(2)
    [mail] = smtp_sink.to("carmen@example.com")
    html = mail.get_body(preferencelist=("html",)).get_content()
    scale = re.findall(r'<a href="([^"]+)"[^>]*aria-label="(\d+)"', html)
    assert [n for _href, n in scale] == [str(n) for n in range(11)]
    three = next(href for href, n in scale if n == "3").replace("&amp;", "&")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "¿Qué probabilidad hay de que nos recomiende" in text

    # On a phone: following "3" records a detractor at once; the rest is finished there.
    phone = browser.new_context(locale="es-ES", viewport=PHONE, base_url=live_server.url, is_mobile=True)
    mobile = phone.new_page()
    mobile.goto(three)
    expect(mobile.locator("#survey-answer")).to_have_attribute("data-saved", "1")
    response = Response.objects.get(customer=carmen)
    assert response.nps == 3 and response.finished_at is None
    assert mobile.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    improve = mobile.get_by_label("¿Qué deberíamos mejorar?")
    expect(improve).to_be_visible()  # shown because 3 ≤ 8
    improve.fill("El pedido llegó incompleto y nadie me avisó")
    mobile.get_by_role("button", name="Enviar respuestas").click()
    expect(mobile.locator("#survey-thanks")).to_be_visible()

    # The results page counts it.
    page.goto(f"/encuestas/{response.survey_id}/")
    expect(page.locator("#kpi-nps .kpi-value")).to_have_text("-100")
    expect(page.locator("#kpi-nps .kpi-note")).to_contain_text("1 respuestas")
    expect(page.locator("#verbatims")).to_contain_text("El pedido llegó incompleto")

    # The account executive's «Mi día» has the follow-up with the comment on its due day,
    # two business days later (the survey's default).
    time_machine.move_to(MIDSUMMER + timedelta(days=2), tick=True)
    desk = browser.new_context(locale="es-ES", viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    rep_page = desk.new_page()
    rep_page.goto("/login/")
    rep_page.get_by_label("Usuario").fill("javier")
    rep_page.get_by_label("Contraseña").fill("clave-segura-1")
    rep_page.get_by_role("button", name="Entrar").click()
    rep_page.wait_for_url(lambda url: "/login/" not in url)
    rep_page.goto("/mi-dia/")
    item = rep_page.locator(".followup-item", has_text="Carmen Vidal")
    expect(item).to_contain_text("NPS 3")
    expect(rep_page.locator("#hoy")).to_contain_text("Carmen Vidal")
    expect(item).to_contain_text("El pedido llegó incompleto y nadie me avisó")

    # Points once; the link again answers nothing.
    assert Member.objects.get(customer=carmen).points_balance == points_before + SURVEY_POINTS
    mobile.goto(three)
    expect(mobile.locator("#survey-closed")).to_contain_text("ya está respondida")
    assert Response.objects.filter(customer=carmen).count() == 1
    assert Response.objects.get(customer=carmen).nps == 3
    assert Member.objects.get(customer=carmen).points_balance == points_before + SURVEY_POINTS
    phone.close()
    desk.close()
