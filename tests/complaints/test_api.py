"""The complaints mailbox's inbound hook: the shared secret, the complaint it files, and
field-level 422s."""

from __future__ import annotations

import pytest

from fideliza.complaints.models import Complaint
from fideliza.engagement.models import Message

pytestmark = pytest.mark.django_db

URL = "/api/v1/complaints/inbound/email"
MAIL = {"email": "rosa@example.com", "name": "Rosa Quispe", "subject": "Taladro roto",
        "text": "El taladro que compré dejó de funcionar.", "rules": "PE"}


@pytest.fixture
def secret(settings):
    settings.FIDELIZA_INBOUND_SECRET = "s3cret-inbound"
    return "s3cret-inbound"


def test_the_hook_needs_the_secret(client, secret, clock):
    assert client.post(URL, MAIL, content_type="application/json").status_code == 401
    assert client.post(URL, MAIL, content_type="application/json",
                       HTTP_X_FIDELIZA_SECRET="otro").status_code == 401
    assert not Complaint.objects.exists()


def test_an_unset_secret_refuses_everyone(client, settings, clock):
    settings.FIDELIZA_INBOUND_SECRET = ""
    assert client.post(URL, MAIL, content_type="application/json", HTTP_X_FIDELIZA_SECRET="").status_code == 401


def test_a_mail_becomes_a_complaint_with_its_copy(client, secret, clock):
    response = client.post(URL, MAIL, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 201, response.content
    body = response.json()
    complaint = Complaint.objects.get(pk=body["id"])
    assert body["tracking_code"] == complaint.tracking_code and complaint.channel == "email"
    assert complaint.kind == "reclamo" and complaint.description.startswith("Taladro roto\n\nEl taladro")
    assert body["due_at"].startswith("2026-08-15T05:00:00")
    assert Message.objects.filter(source=f"complaint:{complaint.pk}", address="rosa@example.com").exists()


@pytest.mark.parametrize(("change", "loc"), [({"email": "no-es-correo"}, "email"),
                                             ({"rules": "PE", "kind": "peticion"}, "kind"),
                                             ({"text": "corto"}, "text")])
def test_bad_input_is_a_field_level_422(client, secret, clock, change, loc):
    response = client.post(URL, {**MAIL, **change}, content_type="application/json",
                           HTTP_X_FIDELIZA_SECRET=secret)
    assert response.status_code == 422
    assert loc in {item["loc"][-1] for item in response.json()["detail"]}
    assert not Complaint.objects.exists()
