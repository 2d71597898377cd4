"""Token and session authentication of the API; tokens are stored only as digests."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from fideliza.accounts.models import ApiToken
from fideliza.accounts.services import api_token_create, api_token_revoke, token_digest

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def test_bearer_and_token_spellings_work_and_act_as_the_user(owner):
    token, plain = api_token_create(user=owner, name="TPV centro", created_by=owner)
    for header in (f"Bearer {plain}", f"Token {plain}", f"bearer   {plain}  "):
        r = Client().get(ME, headers={"Authorization": header})
        assert r.status_code == 200, header
        assert r.json()["username"] == "duena" and r.json()["role"] == "owner"
        assert r.json()["token"] == "TPV centro"
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer fz_nope", "Basic dXNlcjpwYXNz", "fz_x" * 100])
def test_missing_or_bad_credentials_are_401_in_the_documented_shape(header, customer):
    headers = {"Authorization": header} if header is not None else {}
    client = Client(headers=headers)
    for response in (client.get("/api/v1/customers"), client.post("/api/v1/orders", "{}",
                                                                   content_type="application/json")):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization" in response.json()["detail"]


def test_revoked_token_stops_working(owner):
    token, plain = api_token_create(user=owner, name="TPV", created_by=owner)
    client = Client(headers={"Authorization": f"Bearer {plain}"})
    assert client.get(ME).status_code == 200
    api_token_revoke(token=token, by=owner)
    assert client.get(ME).status_code == 401


def test_token_of_a_deactivated_user_stops_working(owner, rep):
    _token, plain = api_token_create(user=rep, name="TPV", created_by=owner)
    rep.is_active = False
    rep.save()
    assert Client(headers={"Authorization": f"Bearer {plain}"}).get(ME).status_code == 401


def test_tokens_are_not_stored_in_plain_text(owner):
    token, plain = api_token_create(user=owner, name="Tienda online", created_by=owner)
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert row["digest"] == token_digest(plain) != plain
    assert len(row["digest"]) == 64 and plain not in row["digest"]
    assert all(plain not in str(value) for value in row.values())
    # And not anywhere in the table, whatever the column: read it raw from the database.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        raw = repr(cursor.fetchall())
    assert plain not in raw and plain[len(token.prefix):] not in raw
    assert token.prefix == plain[: len(token.prefix)] and len(token.prefix) < len(plain) // 4


def test_session_of_a_logged_in_user_works_and_writes_need_csrf(owner, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.get(ME).json()["token"] is None
    assert client.get(f"/api/v1/customers/{customer.pk}").status_code == 200
    r = client.patch(f"/api/v1/customers/{customer.pk}", '{"city": "Cádiz"}', content_type="application/json")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    # What htmx does: send the CSRF cookie's secret back in the X-CSRFToken header.
    secret = "k" * 32
    client.cookies["csrftoken"] = secret
    r = client.patch(f"/api/v1/customers/{customer.pk}", '{"city": "Cádiz"}', content_type="application/json",
                     headers={"X-CSRFToken": secret})
    assert r.status_code == 200 and r.json()["city"] == "Cádiz"


def test_a_token_request_does_not_need_csrf(owner, customer):
    _token, plain = api_token_create(user=owner, name="TPV", created_by=owner)
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {plain}"})
    r = client.patch(f"/api/v1/customers/{customer.pk}", '{"city": "Cádiz"}', content_type="application/json")
    assert r.status_code == 200
