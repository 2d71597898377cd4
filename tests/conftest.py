"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest

from tests.rq_support import rq_backend  # noqa: F401  (a fixture for every test folder)


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(
        username="duena", password="clave-segura-1", role="owner", email="duena@example.com"
    )


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on 127.0.0.1 (aiosmtpd); Django's SMTP backend points at it."""
    from tests.smtp_sink import SmtpSink

    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = sink.host
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield sink
    finally:
        sink.stop()
