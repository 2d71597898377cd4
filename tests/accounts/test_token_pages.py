"""The owner's API-token pages: the secret is shown once, never stored, and revocable."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from fideliza.accounts.models import ApiToken, AuditLog
from fideliza.accounts.services import api_token_create, token_digest

pytestmark = pytest.mark.django_db

TOKENS = "/cuenta/tokens/"
CREATE = "/cuenta/tokens/nuevo/"


@pytest.fixture
def rep(django_user_model):
    return django_user_model.objects.create_user(username="rep1", password="x", role="sales_rep")


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


def _plain_from(html: str) -> str:
    values = re.findall(r'data-testid="plain-token"|value="(fz_[^"]+)"', html)
    values = [v for v in values if v]
    assert len(values) == 1
    return values[0]


def _whole_database_text() -> str:
    """Every row of the tables that could hold it, as text."""
    tables = [ApiToken._meta.db_table, AuditLog._meta.db_table, Session._meta.db_table]
    chunks = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")
            chunks.append(repr(cursor.fetchall()))
    return "\n".join(chunks)


def test_owner_creates_a_token_shown_once_that_works_and_is_not_stored(owner_client, owner, rep):
    page = owner_client.get(TOKENS)
    assert page.status_code == 200 and "Tokens de API" in page.content.decode()
    r = owner_client.post(CREATE, {"name": "  TPV   centro ", "user": rep.pk})
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    plain = _plain_from(r.content.decode())
    token = ApiToken.objects.get()
    assert token.name == "TPV centro" and token.user == rep and token.created_by == owner
    assert token.digest == token_digest(plain)
    # Shown once: the list never shows it again, and no table (sessions, audit) holds it.
    assert plain not in owner_client.get(TOKENS).content.decode()
    assert plain not in _whole_database_text()
    # It works, as the representative.
    me = Client(headers={"Authorization": f"Bearer {plain}"}).get("/api/v1/me")
    assert me.status_code == 200 and me.json()["username"] == "rep1" and me.json()["role"] == "sales_rep"


def test_revoke(owner_client, owner):
    token, plain = api_token_create(user=owner, name="Tienda online", created_by=owner)
    api = Client(headers={"Authorization": f"Bearer {plain}"})
    assert api.get("/api/v1/me").status_code == 200
    r = owner_client.post(f"/cuenta/tokens/{token.pk}/revocar/")
    assert r.status_code == 302 and r["Location"] == TOKENS
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api.get("/api/v1/me").status_code == 401
    page = owner_client.get(TOKENS).content.decode()
    assert "Revocado" in page and "revocado: deja de funcionar" in page
    assert AuditLog.objects.filter(entity="accounts.apitoken", entity_id=str(token.pk), action="update").exists()
    assert owner_client.get(f"/cuenta/tokens/{token.pk}/revocar/").status_code == 405


def test_invalid_form_creates_nothing(owner_client):
    r = owner_client.post(CREATE, {"name": "", "user": 999})
    assert r.status_code == 422
    assert ApiToken.objects.count() == 0
    assert "obligatorio" in r.content.decode()


@pytest.mark.parametrize("role", ["marketing", "support", "sales_rep"])
def test_only_the_owner_manages_tokens(django_user_model, owner, role):
    token, _plain = api_token_create(user=owner, name="TPV", created_by=owner)
    user = django_user_model.objects.create_user(username=role, password="x", role=role)
    client = Client()
    client.force_login(user)
    assert client.get(TOKENS).status_code == 403
    assert client.post(CREATE, {"name": "Mío", "user": user.pk}).status_code == 403
    assert client.post(f"/cuenta/tokens/{token.pk}/revocar/").status_code == 403
    assert ApiToken.objects.count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None


def test_anonymous_is_sent_to_login():
    r = Client().get(TOKENS)
    assert r.status_code == 302 and "login" in r["Location"]


def test_create_api_token_command(owner):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", user="duena", name="TPV tienda centro", stdout=out, stderr=err)
    plain = out.getvalue().strip()
    assert plain.startswith("fz_") and "Copy it now" in err.getvalue()
    token = ApiToken.objects.get()
    assert token.digest == token_digest(plain) and token.user == owner
    assert Client(headers={"Authorization": f"Bearer {plain}"}).get("/api/v1/me").status_code == 200
    with pytest.raises(CommandError):
        call_command("create_api_token", user="nadie", name="X", stdout=io.StringIO())
