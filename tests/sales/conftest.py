"""Sales fixtures: the clock pinned on the day Madrid moved to summer time, a small
hardware catalog with costs, and a loyalty program, all made through the services."""

from __future__ import annotations

import pytest

from tests.clock import SPRING_FORWARD
from tests.factories.catalog import hardware_catalog
from tests.factories.customers import customer_make
from tests.factories.loyalty import program_make


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """Noon of 30 March 2025 (a 23-hour day in Madrid), frozen: every timestamp is exact."""
    time_machine.move_to(SPRING_FORWARD, tick=False)


@pytest.fixture
def products(db):
    return hardware_catalog()


@pytest.fixture
def customer(db):
    return customer_make(first_name="Lucía", last_name="García", email="lucia@example.com")


@pytest.fixture
def program(db):
    """1 point per whole euro, no welcome points: an order's points equal its euros."""
    return program_make(name="Club Martillo")
