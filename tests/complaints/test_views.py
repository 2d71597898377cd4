"""Staff pages of the complaints book: list, registration at the counter, one complaint and
its actions, canned answers, report — each within the user's visible customers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fideliza.accounts.services import Actor
from fideliza.complaints.models import (
    CannedAnswer,
    Complaint,
    ComplaintCategory,
    EventKind,
    RecoveryGesture,
)
from fideliza.complaints.services import complaint_file
from fideliza.engagement.models import Message

from .conftest import filing

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(clock, owner, people):
    web = Actor.system("web")
    return {"mine": complaint_file(actor=web, filing=filing(email="lucia@example.com", name="Lucía García")),
            "theirs": complaint_file(actor=web, filing=filing(email="tomas@example.com", name="Tomás Ibáñez"))}


def test_a_representative_sees_only_their_customers_complaints(client, rep, book):
    client.force_login(rep)
    page = client.get("/quejas/").content.decode()
    assert book["mine"].tracking_code in page and book["theirs"].tracking_code not in page
    assert client.get(f"/quejas/{book['mine'].pk}/").status_code == 200
    assert client.get(f"/quejas/{book['theirs'].pk}/").status_code == 404
    assert client.post(f"/quejas/{book['theirs'].pk}/nota/", {"text": "hola"}).status_code == 404
    report = client.get("/quejas/informe/")
    assert report.status_code == 200 and report.context["report"].total == 1
    card = client.get(f"/clientes/{book['mine'].customer_id}/").content.decode()
    assert book["mine"].tracking_code in card   # on the 360° card and its timeline
    assert book["theirs"].tracking_code not in client.get("/quejas/?q=Tom%C3%A1s&estado=all").content.decode()


def test_staff_answer_give_a_gesture_and_resolve_from_the_page(client, owner, book):
    client.force_login(owner)
    complaint = book["mine"]
    category = ComplaintCategory.objects.create(name="Producto defectuoso")
    canned = CannedAnswer.objects.create(title="Cambio", category=category, subject="Su {{ tipo|lower }} {{ codigo }}",
                                         body="Hola {{ nombre }}: su cupón es {{ cupon }}.")
    client.post(f"/quejas/{complaint.pk}/clasificar/", {"category": category.pk})
    client.post(f"/quejas/{complaint.pk}/gesto/", {"kind": "coupon", "value": "12,50"})
    gesture = RecoveryGesture.objects.get(complaint=complaint)
    assert gesture.cost == Decimal("12.50")
    client.post(f"/quejas/{complaint.pk}/responder/", {"canned": canned.pk})
    answer = Message.objects.filter(source=f"complaint:{complaint.pk}").order_by("-pk").first()
    assert answer.subject == f"Su reclamo {complaint.tracking_code}" and gesture.coupon_code in answer.body_text
    response = client.post(f"/quejas/{complaint.pk}/estado/", {"to": "resolved", "resolution": ""}, follow=True)
    assert "Escriba cómo se resolvió." in response.content.decode()
    client.post(f"/quejas/{complaint.pk}/estado/", {"to": "resolved", "resolution": "Cambiado"})
    complaint.refresh_from_db()
    assert complaint.status == "resolved" and complaint.category == category
    assert complaint.events.filter(kind=EventKind.STATUS).count() == 2
    page = client.get(f"/quejas/{complaint.pk}/").content.decode()
    assert "Cambiado" in page and gesture.coupon_code in page


def test_registration_at_the_counter(client, owner, clock):
    client.force_login(owner)
    form = client.get("/quejas/nueva/")
    assert form.status_code == 200
    response = client.post("/quejas/nueva/", {"rules_code": "PE", "channel": "counter", "kind": "queja",
                                              "name": "Ana Pérez", "phone": "987 654 321",
                                              "description": "Nadie atendía en la caja rápida."})
    complaint = Complaint.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/quejas/{complaint.pk}/"
    assert (complaint.channel, complaint.phone, complaint.document_number) == ("counter", "+51987654321", "")
    bad = client.post("/quejas/nueva/", {"rules_code": "PE", "channel": "phone", "kind": "peticion",
                                         "name": "Ana", "phone": "987654321", "description": "Algo que pedir aquí"})
    assert bad.status_code == 200 and "Elija el tipo" in bad.content.decode()


def test_canned_answers_are_checked_templates_and_reps_cannot_edit_them(client, owner, rep, clock):
    client.force_login(owner)
    bad = client.post("/quejas/respuestas/", {"title": "Mala", "subject": "Hola", "body": "{{ desconocida }}",
                                              "is_active": "on"})
    assert bad.status_code == 400 and "variable desconocida" in bad.content.decode()
    ok = client.post("/quejas/respuestas/", {"title": "Buena", "subject": "Su {{ codigo }}",
                                             "body": "Hola {{ nombre }}, plazo {{ fecha_limite }}", "is_active": "on"})
    assert ok.status_code == 302 and CannedAnswer.objects.count() == 1
    client.force_login(rep)
    assert client.post("/quejas/respuestas/", {"title": "X", "subject": "X", "body": "X"}).status_code == 403


def test_every_staff_page_answers_for_the_owner(client, owner, book):
    client.force_login(owner)
    for url in ("/quejas/", "/quejas/?estado=all&fuera_de_plazo=1", "/quejas/nueva/", "/quejas/informe/?meses=3&dias=30",
                "/quejas/respuestas/", f"/quejas/{book['mine'].pk}/", "/en/quejas/informe/"):
        assert client.get(url).status_code == 200, url
