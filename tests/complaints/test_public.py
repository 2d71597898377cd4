"""The public complaints book: phone-first form, tracking code, copy, status page. Bad input
is refused field by field in Spanish (English for an English browser) and never answers 500."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fideliza.complaints.models import Complaint
from fideliza.engagement.models import Message

pytestmark = pytest.mark.django_db

VALID = {"kind": "reclamo", "name": "Rosa Quispe", "document_number": "45678912", "email": "rosa@example.com",
         "phone": "", "address": "Av. Arequipa 123, Lima", "item": "Taladro", "amount": "129,90",
         "order_reference": "B001-123", "description": "El taladro dejó de funcionar a los dos días.",
         "request": "Cambio del producto."}


def _post(client: Client, data: dict, *, language: str = "es", rules: str = "pe"):
    return client.post(f"/reclamaciones/{rules}/", data, HTTP_ACCEPT_LANGUAGE=language)


def test_the_default_book_opens_the_business_rule_set(client, clock):
    default = client.get("/reclamaciones/")   # the business's rule set (Peru here), the QR code's address
    assert default.status_code == 200 and "Libro de Reclamaciones" in default.content.decode()
    page = client.get("/reclamaciones/pe/")
    text = page.content.decode()
    assert page.status_code == 200 and "Libro de Reclamaciones" in text
    assert 'name="viewport"' in text and '<html lang="es">' in text
    # Every input has its label; the kinds are radios inside a fieldset with a legend.
    for field in ("name", "document_number", "email", "address", "description"):
        assert f'<label for="id_{field}">' in text
    assert "<legend>Tipo" in text and 'id="id_kind_0"' in text
    assert client.get("/reclamaciones/xx/").status_code == 404


def test_filing_shows_the_tracking_code_and_queues_the_copy(client, clock):
    response = _post(client, VALID)
    assert response.status_code == 302
    page = client.get(response["Location"])
    complaint = Complaint.objects.get()
    assert complaint.tracking_code in page.content.decode()
    assert str(complaint.amount) == "129.90" and complaint.channel == "web"
    assert Message.objects.filter(source=f"complaint:{complaint.pk}", kind="transactional").count() == 1
    # Reloading the confirmation files nothing twice; a forged link is a 404.
    client.get(response["Location"])
    assert Complaint.objects.count() == 1
    assert client.get("/reclamaciones/recibida/123/").status_code == 404


def test_the_status_page_needs_the_code_and_the_contact(client, clock):
    _post(client, VALID)
    complaint = Complaint.objects.get()
    wrong = client.post("/reclamaciones/estado/", {"code": complaint.tracking_code, "contact": "otro@example.com"})
    assert "No encontramos ninguna queja" in wrong.content.decode()
    right = client.post("/reclamaciones/estado/", {"code": complaint.tracking_code.lower(),
                                                   "contact": "ROSA@example.com"})
    assert "Nueva" in right.content.decode() and complaint.tracking_code in right.content.decode()


CASES = [
    ({"name": ""}, "name", "Este campo es obligatorio."),
    ({"kind": "peticion"}, "kind", "Escoja una opción válida."),
    ({"email": "rosa@", "phone": ""}, "email", "Escriba una dirección de e-mail válida."),
    ({"email": "", "phone": ""}, "email", "Indique un e-mail o un teléfono para poder responderle."),
    ({"phone": "12"}, "phone", "Escriba un número de teléfono válido."),
    ({"document_number": ""}, "document_number", "Este campo es obligatorio."),
    ({"document_number": "12-3"}, "document_number", "El documento tiene entre 4 y 20 letras o cifras."),
    ({"address": ""}, "address", "Este campo es obligatorio."),
    ({"description": "mal"}, "description", "Describa lo ocurrido (al menos 10 caracteres)."),
    ({"amount": "-5"}, "amount", "Asegúrese de que este valor es mayor o igual a 0."),
    ({"amount": "mucho"}, "amount", "Introduzca un número."),
    ({"name": "x" * 201}, "name", "Asegúrese de que este valor tenga menos de 200 caracteres (tiene 201)."),
]


@pytest.mark.parametrize(("change", "field", "message"), CASES)
def test_bad_input_is_refused_on_its_field_in_spanish(client, clock, change, field, message):
    response = _post(client, {**VALID, **change})
    text = response.content.decode()
    assert response.status_code == 400 and not Complaint.objects.exists()
    # The message sits under its field, tied to it by aria-describedby.
    assert re.search(rf'<p class="field-error" id="id_{field}_error">[^<]*{re.escape(message)}', text), text
    if field != "kind":
        assert re.search(rf'<(input|textarea)[^>]*aria-describedby="[^"]*id_{field}_error', text)
    assert "Revise los campos marcados." in text


def test_an_english_browser_gets_english(client, clock):
    response = _post(client, {**VALID, "description": "mal", "amount": "129.90"}, language="en")
    text = response.content.decode()
    assert '<html lang="en">' in text and response["Content-Language"] == "en"
    assert "Describe what happened (at least 10 characters)." in text


def test_spain_asks_the_autonomous_community(client):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    with time_machine.travel(datetime(2026, 3, 30, 9, 0, tzinfo=ZoneInfo("Europe/Madrid")), tick=False):
        data = {**VALID, "kind": "queja", "amount": ""}
        refused = _post(client, data, rules="es")
        assert "Elija la comunidad autónoma del establecimiento." in refused.content.decode() or \
            "Este campo es obligatorio." in refused.content.decode()
        assert _post(client, {**data, "subdivision": "AN"}, rules="es").status_code == 302
    assert Complaint.objects.get().subdivision == "AN"


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.fixed_dictionaries({key: TEXT for key in VALID}), rules=st.sampled_from(["pe", "co", "es", "mx", "ar", "gen"]))
def test_whatever_is_posted_the_form_never_answers_500(client, clock, data, rules):
    response = _post(client, data, rules=rules)
    assert response.status_code in (302, 400)


def test_one_address_cannot_turn_the_form_into_a_mailer(client, clock, settings):
    from django.core.cache import cache

    cache.clear()
    settings.FIDELIZA_COMPLAINTS_PER_HOUR = 2
    assert _post(client, VALID).status_code == 302
    assert _post(client, {**VALID, "email": "otra@example.com"}).status_code == 302
    refused = _post(client, {**VALID, "email": "tercera@example.com"})
    assert refused.status_code == 429 and "muchas quejas seguidas" in refused.content.decode()
    assert Complaint.objects.count() == 2
    cache.clear()
