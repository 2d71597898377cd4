"""Fixtures for import tests: files written on the fly in each encoding and format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fideliza.accounts.services import Actor


@pytest.fixture
def actor(owner) -> Actor:
    return Actor.of(owner, via="import")


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """write_csv(text, name=..., encoding=...) -> path; lines may use any separator."""

    def write(text: str, name: str = "datos.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write


@pytest.fixture
def table_counts() -> Callable[[], dict[str, int]]:
    """Row counts of every table an import may write."""
    from fideliza.accounts.models import AuditLog
    from fideliza.catalog.models import Category, Product
    from fideliza.customers.models import ConsentRecord, Customer, CustomerSourceId, Tag
    from fideliza.sales.models import Order, OrderLine, Store

    models = (AuditLog, Category, Product, ConsentRecord, Customer, CustomerSourceId, Tag, Order,
              OrderLine, Store, Customer.interests.through)

    def counts() -> dict[str, int]:
        return {m._meta.label: m.objects.count() for m in models}

    return counts


@pytest.fixture(autouse=True)
def _language_reset(settings):
    """A request in English (LocaleMiddleware) leaves English active in the thread: each test
    starts and ends in the site's language."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
