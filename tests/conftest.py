"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(
        username="duena", password="clave-segura-1", role="owner", email="duena@example.com"
    )
