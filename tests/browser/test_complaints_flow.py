"""Issue 16's browser test of the complaints book, on a phone-sized viewport: a consumer
files a «reclamo» under the Peru rules and gets the tracking code and the copy by e-mail
(a real SMTP server); staff answer with a canned answer carrying a recovery coupon and
resolve; the customer buys with the coupon and counts as recovered in the report."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fideliza.accounts.services import Actor
from fideliza.complaints.models import CannedAnswer, Complaint, ComplaintCategory, RecoveryGesture
from fideliza.loyalty.coupons import basket_from_skus, coupon_redeem
from fideliza.sales.services import order_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIMA = ZoneInfo("America/Lima")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _clock(time_machine, settings):
    """Tuesday 21 July 2026, 11:00 in Lima, ticking; the business files under Peru's rules."""
    time_machine.move_to(datetime(2026, 7, 21, 11, 0, tzinfo=LIMA), tick=True)
    settings.FIDELIZA_COMPLAINTS_RULES = "PE"
    from django.core.cache import cache

    cache.clear()  # the public form's per-address count starts from zero


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(locale="es-PE", viewport=PHONE, is_mobile=True, has_touch=True,
                                  base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def canned(db):
    category = ComplaintCategory.objects.create(name="Producto defectuoso")
    return CannedAnswer.objects.create(
        title="Producto defectuoso: cambio y cupón", category=category,
        subject="Respuesta a su {{ tipo|lower }} {{ codigo }}",
        body="Hola {{ nombre }}:\nLamentamos lo ocurrido. Puede cambiar el producto en tienda y, como "
             "disculpa, le regalamos el cupón {{ cupon }}.\nAtentamente, el equipo.")


def test_a_consumer_files_a_reclamo_staff_recover_them_and_the_report_counts_it(
        phone, owner, canned, smtp_sink):
    page = phone
    page.goto("/reclamaciones/")
    expect(page.get_by_role("heading", name="Libro de Reclamaciones", level=1)).to_be_visible()
    # Nothing overflows the phone's width.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Sent empty first: errors on their fields, the form keeps working.
    page.get_by_role("button", name="Enviar").click()
    expect(page.locator("#id_name_error")).to_have_text("Este campo es obligatorio.")
    expect(page.get_by_label("Nombre y apellidos")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Reclamo", exact=True).check()
    page.get_by_label("Nombre y apellidos").fill("Rosa Quispe")
    page.get_by_label("Documento de identidad").fill("45678912")
    page.get_by_label("E-mail").fill("rosa@example.com")
    page.get_by_label("Domicilio").fill("Av. Arequipa 123, Lima")
    page.get_by_label("Producto o servicio").fill("Taladro percutor")
    page.get_by_label("Importe reclamado").fill("129,90")
    page.get_by_label("Detalle").fill("El taladro dejó de funcionar a los dos días de comprarlo.")
    page.get_by_label("Qué nos pide").fill("Que me lo cambien.")
    page.get_by_role("button", name="Enviar").click()

    expect(page.get_by_role("heading", name="Hemos recibido su queja")).to_be_visible()
    code = page.locator("#tracking-code").inner_text().strip()
    assert re.fullmatch(r"LR-2026-[0-9A-Z]{6}", code)
    # 15 business days from Tuesday 21 July across Fiestas Patrias: Monday 17 August.
    expect(page.get_by_role("status")).to_contain_text("17")

    # The copy, in a real SMTP server.
    assert smtp_sink.wait_for(1)
    [copy] = smtp_sink.to("rosa@example.com")
    assert code in str(copy["Subject"])
    text = copy.get_body(preferencelist=("plain",)).get_content()
    assert code in text and "2026-08-17" in text and "dejó de funcionar" in text

    # Staff, on the same phone: the complaint, its canned answer, a coupon, resolved.
    page.goto("/login/")
    page.get_by_label("Usuario").fill("duena")
    page.get_by_label("Contraseña").fill("clave-segura-1")
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto("/quejas/")
    page.get_by_role("link", name=code).click()
    expect(page.locator("#complaint-code")).to_contain_text(code)
    expect(page.locator("#timer-resolution")).to_contain_text("17/08/2026")

    page.get_by_label("Categoría", exact=True).select_option(label="Producto defectuoso")
    page.locator("#classify-form").get_by_role("button", name="Guardar").click()
    expect(page.locator(".messages")).to_contain_text("Clasificación guardada")

    gesture = page.locator("#gesture-form")
    gesture.get_by_label("Gesto").select_option(label="Cupón de descuento")
    gesture.get_by_label("Importe del cupón").fill("15")
    gesture.get_by_role("button", name="Dar el gesto").click()
    expect(page.locator(".messages")).to_contain_text("Gesto de recuperación registrado")
    coupon_code = RecoveryGesture.objects.get().coupon_code
    expect(page.locator("#gesture-list")).to_contain_text(coupon_code)

    page.get_by_label("Respuesta predefinida").select_option(label=canned.title)
    page.get_by_role("button", name="Enviar la respuesta").click()
    expect(page.locator(".messages")).to_contain_text("Respuesta enviada al cliente")
    expect(page.locator("#complaint-status")).to_have_text("En curso")
    expect(page.locator("#timer-first")).to_contain_text("Cumplido a tiempo")
    assert smtp_sink.wait_for(2)
    answer = next(m for m in smtp_sink.to("rosa@example.com") if "Respuesta a su reclamo" in str(m["Subject"]))
    body = answer.get_body(preferencelist=("plain",)).get_content()
    assert "Hola Rosa:" in body and coupon_code in body

    page.locator("#transition-form").get_by_label("Nuevo estado").select_option(label="Resuelta")
    page.locator("#transition-form").get_by_label("Resolución").fill("Producto cambiado en tienda y cupón de disculpa.")
    page.get_by_role("button", name="Cambiar el estado").click()
    expect(page.locator("#complaint-status")).to_have_text("Resuelta")

    # The customer comes back and pays with the coupon (the till's services).
    complaint = Complaint.objects.get(tracking_code=code)
    actor = Actor.system("tpv")
    basket = basket_from_skus([{"sku": "", "quantity": 1, "unit_price": "80.00"}], other_codes=[])
    redemption = coupon_redeem(code=coupon_code, customer=complaint.customer, basket=basket,
                               order_reference="TPV-900", actor=actor)
    assert redemption.discount == Decimal("15.00")
    order_record(actor=actor, customer=complaint.customer, source="tpv", external_id="TPV-900",
                 placed_at=timezone.now(), lines=[{"description": "Broca", "quantity": 1, "unit_price": Decimal("80.00"),
                                                   "discount": redemption.discount}])

    page.goto("/quejas/informe/")
    expect(page.locator("#recovered-with")).to_contain_text("1")
    with_row = page.locator("#recovered-with td")
    expect(with_row.nth(0)).to_have_text("1")
    expect(with_row.nth(1)).to_have_text("1")
    expect(with_row.nth(2)).to_have_text("100,0 %")
    expect(page.locator("#recuperados")).to_contain_text("no un efecto causal")
    expect(page.locator("#motivos")).to_contain_text("Producto defectuoso")
    expect(page.locator("#roi-cost")).to_contain_text("15")
