"""The campaigns issue's browser test: create a campaign for a segment with a coupon offer,
preview it for one customer, send it, find the personalised message with that customer's
own coupon code in a real SMTP server, and open the campaign's results page."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from fideliza.campaigns.models import Campaign, CampaignRecipient
from fideliza.customers.models import ConsentRecord, Customer
from fideliza.segments.models import Segment, SegmentKind, SegmentMember
from tests.clock import MIDSUMMER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PEOPLE = [("Carmen", "Vidal", "carmen@example.com"), ("Tomás", "Gómez", "tomas@example.com"),
          ("Lucía", "Ortega", "lucia@example.com")]


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """Wednesday noon, ticking: the send falls outside the quiet hours, whatever the real hour."""
    time_machine.move_to(MIDSUMMER, tick=True)


@pytest.fixture
def vip_segment(db):
    segment = Segment.objects.create(name="Clientes VIP", kind=SegmentKind.STATIC, member_count=len(PEOPLE))
    for first, last, email in PEOPLE:
        customer = Customer.objects.create(first_name=first, last_name=last, email=email, city="Córdoba")
        ConsentRecord.objects.create(customer=customer, channel="email", status="granted", source="test",
                                     recorded_at=MIDSUMMER - timedelta(days=10))
        SegmentMember.objects.create(segment=segment, customer=customer)
    return segment


def test_create_preview_send_and_read_results(page, log_in, owner, vip_segment, smtp_sink):
    log_in("duena", "clave-segura-1")
    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Campañas").click()
    page.get_by_role("link", name="Nueva campaña").click()

    page.get_by_label("Nombre", exact=True).fill("Vuelta al cole")
    page.get_by_label("Segmento").select_option(label="Clientes VIP")
    page.get_by_label("Asunto").fill("{{ nombre }}, un regalo para ti")
    page.get_by_label("Texto del e-mail").fill(
        "Hola {{ nombre }}:\nTu cupón {{ cupon }} te da {{ cupon_descripcion }}.\n"
        "Darse de baja: %%unsubscribe_url%%")
    page.get_by_label("Oferta", exact=True).select_option("percent")
    page.get_by_label("Valor del descuento").fill("15")
    page.get_by_label("Grupo de control (%)").fill("0")

    # Live preview for one real customer of the segment (the picker follows the segment).
    page.get_by_label("Vista previa para").select_option(label="Tomás Gómez · tomas@example.com")
    preview = page.locator("#campaign-preview")
    expect(preview.locator(".preview-subject")).to_have_text("Tomás, un regalo para ti")
    expect(preview).to_contain_text("Hola Tomás:")
    expect(preview).to_contain_text("15 % de descuento")

    page.get_by_role("button", name="Guardar campaña").click()
    expect(page.get_by_role("heading", name="Vuelta al cole", level=1)).to_be_visible()
    expect(page.locator("#campaign-status")).to_have_text("Borrador")

    page.get_by_role("link", name="Enviar").click()
    expect(page.locator("#reach-reachable")).to_have_text("3")
    expect(page.locator("#reach-holdout")).to_have_text("0")
    page.get_by_role("button", name="Confirmar el envío").click()

    # The results page, and the three messages in the SMTP server.
    expect(page).to_have_url(re.compile(r"/campanas/\d+/resultados/$"))
    expect(page.get_by_role("heading", name="Resultados de la campaña")).to_be_visible()
    assert smtp_sink.wait_for(3)
    campaign = Campaign.objects.get(name="Vuelta al cole")
    carmen = CampaignRecipient.objects.select_related("coupon").get(campaign=campaign,
                                                                    customer__email="carmen@example.com")
    [mail] = smtp_sink.to("carmen@example.com")
    assert str(mail["Subject"]) == "Carmen, un regalo para ti"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Hola Carmen:" in text
    assert carmen.coupon.code in text
    assert "15 % de descuento" in text
    other_codes = set(CampaignRecipient.objects.filter(campaign=campaign).exclude(pk=carmen.pk)
                      .values_list("coupon__code", flat=True))
    assert len(other_codes) == 2 and not any(code in text for code in other_codes)

    page.reload()
    expect(page.locator("#kpi-sent")).to_have_text("3")
    expect(page.locator("#kpi-coupons")).to_contain_text("0 / 3")
    expect(page.locator("#campaign-uplift")).to_contain_text("Grupo de control")
