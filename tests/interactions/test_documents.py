"""Documents on the card and on an interaction: accepted kinds checked by content, the size
limit, downloads only for users who may see the customer, files gone on erasure and on a
failed save."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from fideliza.accounts.services import Actor
from fideliza.customers.privacy import customer_erase
from fideliza.followups.models import FollowUp
from fideliza.interactions.models import Document, Interaction

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
EML = (b"From: Luc\xc3\xada <lucia@example.com>\r\nTo: tienda@example.com\r\nSubject: Presupuesto\r\n\r\n"
       b"Me interesa el presupuesto de la terraza.\r\n")


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_a_forwarded_email_attached_to_a_call_and_downloaded_only_by_who_may_see_it(people, owner, rep, rep2, media):
    client = _client(rep)
    response = client.post(f"/clientes/{people['mine'].pk}/interaccion/", {
        "kind": "email", "text": "Me reenvió su pedido", "next_priority": "2",
        "document": SimpleUploadedFile("pedido de Lucía.eml", EML, content_type="text/html")})
    assert response.status_code == 302
    document = Document.objects.get()
    assert (document.interaction, document.customer, document.name, document.content_type, document.size) == (
        Interaction.objects.get(), people["mine"], "pedido de Lucía.eml", "message/rfc822", len(EML))
    # Stored under a random name, not the one the user gave.
    [stored] = _files(media)
    assert "Lucía" not in stored.name and stored.suffix == ".eml"
    card = client.get(f"/clientes/{people['mine'].pk}/").content.decode()
    assert f"/documentos/{document.pk}/" in card
    download = client.get(f"/documentos/{document.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == EML
    assert download["Content-Type"] == "message/rfc822"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert _client(owner).get(f"/documentos/{document.pk}/").status_code == 200
    assert _client(rep2).get(f"/documentos/{document.pk}/").status_code == 404
    assert Client().get(f"/documentos/{document.pk}/").status_code == 302  # to the login page


def test_a_pdf_on_the_card(people, owner, media):
    response = _client(owner).post(f"/clientes/{people['nobody'].pk}/documento/", {
        "file": SimpleUploadedFile("contrato.pdf", PDF), "description": "Contrato de mantenimiento"})
    assert response.status_code == 302
    document = Document.objects.get()
    assert (document.interaction, document.content_type, document.description) == (
        None, "application/pdf", "Contrato de mantenimiento")
    assert "contrato.pdf" in _client(owner).get(f"/clientes/{people['nobody'].pk}/").content.decode()


@pytest.mark.parametrize(("name", "content", "message"), [
    ("pagina.html", b"<html><script>alert(1)</script></html>", "Tipo de archivo no admitido"),
    ("factura.pdf", b"<html><script>alert(1)</script></html>", "no corresponde a su extensi"),
    ("nota.txt", b"<svg onload=alert(1)>", "no corresponde a un texto"),
    ("foto.png", b"GIF89a...", "no corresponde a su extensi"),
    ("vacio.pdf", b"", "vac"),
])
def test_what_is_not_accepted(people, owner, media, name, content, message):
    response = _client(owner).post(f"/clientes/{people['nobody'].pk}/documento/", {
        "file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Document.objects.exists() and _files(media) == []


def test_the_size_limit(people, owner, media, settings):
    settings.FIDELIZA_DOCUMENT_MAX_MB = 1
    big = PDF + b"0" * (1024 * 1024)
    response = _client(owner).post(f"/clientes/{people['nobody'].pk}/documento/", {
        "file": SimpleUploadedFile("grande.pdf", big)})
    assert response.status_code == 400 and "pesa más de 1 MB" in response.content.decode()
    assert _files(media) == []


def test_a_failed_save_leaves_no_interaction_no_follow_up_and_no_file(people, rep, rep2, media):
    # The next step names another representative: refused; nothing of the save remains.
    response = _client(rep).post(f"/clientes/{people['mine'].pk}/interaccion/", {
        "kind": "email", "next_title": "Responder", "next_priority": "2", "next_assignee": rep2.pk,
        "document": SimpleUploadedFile("pedido.eml", EML)})
    assert response.status_code == 400
    assert not Interaction.objects.exists() and not FollowUp.objects.exists() and not Document.objects.exists()
    assert _files(media) == []


def test_a_document_on_another_representatives_card_cannot_be_uploaded(people, rep, media):
    response = _client(rep).post(f"/clientes/{people['theirs'].pk}/documento/", {
        "file": SimpleUploadedFile("contrato.pdf", PDF)})
    assert response.status_code == 404 and _files(media) == []


def test_erasure_deletes_the_rows_and_the_files(people, owner, media, django_capture_on_commit_callbacks):
    client = _client(owner)
    client.post(f"/clientes/{people['nobody'].pk}/documento/", {"file": SimpleUploadedFile("dni.pdf", PDF)})
    client.post(f"/clientes/{people['mine'].pk}/documento/", {"file": SimpleUploadedFile("otro.pdf", PDF)})
    assert len(_files(media)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        customer_erase(actor=Actor.of(owner), customer=people["nobody"])
    assert list(Document.objects.values_list("name", flat=True)) == ["otro.pdf"]
    assert len(_files(media)) == 1


def test_a_transaction_that_fails_after_storing_a_document_deletes_its_file(people, owner, media):
    from django.db import transaction

    from fideliza.interactions.documents import document_add, files_removed_on_error

    with pytest.raises(RuntimeError), files_removed_on_error(), transaction.atomic():
        document_add(customer=people["nobody"], upload=SimpleUploadedFile("dni.pdf", PDF), user=owner)
        assert len(_files(media)) == 1
        raise RuntimeError("the rest of the save failed")
    assert not Document.objects.exists() and _files(media) == []


def test_an_integration_attaches_a_forwarded_email_through_the_api(people, owner, rep, rep2, media):
    from fideliza.accounts.services import api_token_create
    from fideliza.interactions.services import interaction_log

    call = interaction_log(actor=Actor.of(rep), customer=people["mine"], kind="email")

    def client(user) -> Client:
        _token, plain = api_token_create(user=user, name=f"correo-{user.username}", created_by=user)
        return Client(headers={"Authorization": f"Bearer {plain}"})

    url = f"/api/v1/interactions/{call.pk}/documents"
    created = client(rep).post(url, {"file": SimpleUploadedFile("pedido.eml", EML), "description": "Pedido"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["interaction_id"], body["customer_id"], body["content_type"], body["size"]) == (
        call.pk, people["mine"].pk, "message/rfc822", len(EML))
    assert _client(rep).get(body["url"]).status_code == 200
    refused = client(rep).post(url, {"file": SimpleUploadedFile("pedido.pdf", EML)})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "file"]
    assert client(rep2).post(url, {"file": SimpleUploadedFile("x.eml", EML)}).status_code == 404
    assert Document.objects.count() == 1 and len(_files(media)) == 1
