"""Login throttling (issue 12): django-axes locks a username and an address, each at its own
limit, with a page in the user's language; the owner (and the admin) can lift it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fideliza.accounts.models import AuditLog

pytestmark = pytest.mark.django_db

PASSWORD = "clave-segura-1"


@pytest.fixture(autouse=True)
def limits(settings):
    """The limits the environment gives (FIDELIZA_LOGIN_*), read by the lockout handler."""
    settings.FIDELIZA_LOGIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 5
    settings.FIDELIZA_LOGIN_ADDRESS_FAILURE_LIMIT = 8
    settings.FIDELIZA_LOGIN_COOLOFF_MINUTES = 15
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    return settings


@pytest.fixture
def staff(django_user_model):
    return {name: django_user_model.objects.create_user(username=name, password=PASSWORD, role=role)
            for name, role in (("ana", "marketing"), ("berta", "support"), ("carlos", "sales_rep"))}


def _post(client: Client, username: str, password: str, *, ip: str = "203.0.113.5", lang: str = "es"):
    url = "/en/login/" if lang == "en" else "/login/"
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _fail(client: Client, username: str, times: int, **kw) -> None:
    for _ in range(times):
        response = _post(client, username, "mala", **kw)
        assert response.status_code in (200, 429)


def _logged_in(response) -> bool:
    return response.status_code == 302 and "/login/" not in response["Location"]


@pytest.mark.parametrize(("lang", "words"), [
    ("es", ("Demasiados intentos fallidos", "15 minutos")),
    ("en", ("Too many failed login attempts", "15 minutes")),
])
def test_failures_lock_the_user_even_with_the_right_password(owner, lang, words):
    client = Client()
    _fail(client, "duena", 4, lang=lang)
    assert _post(client, "duena", "mala", lang=lang).status_code == 429  # the 5th failure locks
    locked = _post(client, "duena", "clave-segura-1", lang=lang)
    assert locked.status_code == 429 and not _logged_in(locked)
    page = locked.content.decode()
    assert all(w in page for w in words), page
    assert 'role="alert"' in page and f'lang="{lang}"' in page
    assert "Account locked" not in page  # not axes' own English text
    # The user is locked from any address, not only the one that failed.
    assert _post(Client(), "duena", PASSWORD, ip="198.51.100.7").status_code == 429


def test_four_failures_then_the_right_password_logs_in_and_clears_them(owner):
    client = Client()
    _fail(client, "duena", 4)
    assert _logged_in(_post(client, "duena", PASSWORD))
    # The counter starts again: four more failures do not lock.
    _fail(Client(), "duena", 4)
    assert _logged_in(_post(Client(), "duena", PASSWORD))


def test_the_lock_ends_after_the_cool_off(owner):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _fail(Client(), "duena", 5)
        assert _post(Client(), "duena", PASSWORD).status_code == 429
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        assert _logged_in(_post(Client(), "duena", PASSWORD))


def test_user_limit_does_not_block_others_at_the_address_but_the_address_limit_does(owner, staff):
    _fail(Client(), "duena", 5)  # duena is locked; the address has 5 failures
    assert _post(Client(), "duena", PASSWORD).status_code == 429
    # Another user at the same address (e.g. the same shop's router) still logs in.
    assert _logged_in(_post(Client(), "ana", PASSWORD))
    # Guessing across usernames from one address: the address limit (8) stops it.
    _fail(Client(), "berta", 2)
    _fail(Client(), "nadie", 1)  # 8 failures from the address now
    assert _post(Client(), "carlos", PASSWORD).status_code == 429
    # ... only from that address.
    assert _logged_in(_post(Client(), "carlos", PASSWORD, ip="198.51.100.7"))


def test_forwarded_for_is_ignored_without_a_trusted_proxy(owner):
    client = Client()
    for n in range(5):
        client.post("/login/", {"username": "duena", "password": "mala"}, REMOTE_ADDR="203.0.113.5",
                    HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    from axes.models import AccessAttempt
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}


def test_behind_a_trusted_proxy_the_forwarded_address_counts(settings, owner):
    settings.FIDELIZA_TRUSTED_PROXY_COUNT = 1
    client = Client()
    client.post("/login/", {"username": "duena", "password": "mala"}, REMOTE_ADDR="10.0.0.2",
                HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.9")
    from axes.models import AccessAttempt
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["198.51.100.9"]


def test_the_owner_sees_and_lifts_a_lockout(owner, staff):
    _fail(Client(), "ana", 5)
    assert _post(Client(), "ana", PASSWORD).status_code == 429
    boss = Client()
    boss.force_login(owner)
    page = boss.get(reverse("accounts:lockouts"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "ana" in html and "Bloqueado hasta las" in html and "203.0.113.5" in html
    lifted = boss.post(reverse("accounts:lockout_lift"), {"kind": "username", "value": "ana"}, follow=True)
    assert "Usuario «ana» desbloqueado" in lifted.content.decode()
    assert _logged_in(_post(Client(), "ana", PASSWORD))
    assert AuditLog.objects.filter(entity="accounts.login_lockout", entity_id="ana").exists()


def test_the_owner_lifts_an_address_lockout(owner, staff):
    for name in ("x1", "x2", "x3", "x4"):
        _fail(Client(), name, 2)
    assert _post(Client(), "ana", PASSWORD).status_code == 429
    boss = Client()
    boss.force_login(owner)
    boss.post(reverse("accounts:lockout_lift"), {"kind": "ip_address", "value": "203.0.113.5"})
    assert _logged_in(_post(Client(), "ana", PASSWORD))


def test_only_the_owner_opens_the_lockout_page(staff):
    for user in staff.values():
        client = Client()
        client.force_login(user)
        assert client.get(reverse("accounts:lockouts")).status_code == 403
        assert client.post(reverse("accounts:lockout_lift"), {"kind": "username", "value": "x"}).status_code == 403


def test_the_admin_lists_the_failed_attempts(django_user_model, owner):
    _fail(Client(), "duena", 5)
    admin_user = django_user_model.objects.create_superuser(username="admin", password=PASSWORD, email="a@example.com")
    client = Client()
    client.force_login(admin_user)
    page = client.get(reverse("admin:axes_accessattempt_changelist"))
    html = page.content.decode()
    assert page.status_code == 200 and "duena" in html
    assert "Intentos fallidos" in html and "Failed Logins" not in html  # Spanish, not axes' English
    index = client.get(reverse("admin:index")).content.decode()
    assert "Bloqueos de acceso" in index and "Access logs" not in index  # no empty log tables


def test_the_admin_login_is_throttled_too(owner):
    client = Client()
    for _ in range(5):
        client.post("/admin/login/", {"username": "duena", "password": "mala"}, REMOTE_ADDR="203.0.113.5")
    assert _post(client, "duena", PASSWORD).status_code == 429


def test_limits_come_from_the_environment(tmp_path):
    env = {**os.environ, "FIDELIZA_LOGIN_FAILURE_LIMIT": "3", "FIDELIZA_LOGIN_ADDRESS_FAILURE_LIMIT": "9",
           "FIDELIZA_LOGIN_COOLOFF_MINUTES": "30", "FIDELIZA_VAR_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "fideliza.config.settings.test"}
    code = ("from django.conf import settings as s; "
            "print(s.AXES_FAILURE_LIMIT, s.FIDELIZA_LOGIN_ADDRESS_FAILURE_LIMIT, s.AXES_COOLOFF_TIME)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "9", "0:30:00"]
