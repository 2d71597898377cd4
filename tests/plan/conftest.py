"""A small shop for the plan's lines, with the clock pinned on a Monday morning in Madrid."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

TZ = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 6, 15, 11, 0, tzinfo=TZ)  # a Monday


def at(y: int, m: int, d: int, hour: int = 12) -> datetime:
    return datetime(y, m, d, hour, 0, tzinfo=TZ)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def rep(django_user_model):
    return django_user_model.objects.create_user(username="comercial1", password="clave-segura-1",
                                                 role="sales_rep", first_name="Javier")


@pytest.fixture
def rep2(django_user_model):
    return django_user_model.objects.create_user(username="comercial2", password="clave-segura-1",
                                                 role="sales_rep", first_name="Marta")
