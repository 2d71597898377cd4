"""The demo's relationship content: a few hundred interactions, mostly with the customers
that matter most, and open follow-ups for each representative on their own customers."""

from __future__ import annotations

import pytest

from fideliza.accounts.services import Actor
from fideliza.followups.models import FollowUp, FollowUpStatus
from fideliza.followups.selectors import my_day
from fideliza.interactions.demo import INTERACTIONS, relationship_demo_create
from fideliza.interactions.models import Interaction
from tests.factories.customers import customer_make

from .conftest import NOW

pytestmark = pytest.mark.django_db


def test_the_demo_gives_every_representative_a_day_of_work_on_their_own_customers(owner, rep, rep2, clock):
    actor = Actor.of(owner)
    for n in range(60):
        customer_make(actor=actor, first_name=f"Cliente{n}", account_executive=(rep, rep2, None)[n % 3])
    counts = relationship_demo_create(today=NOW.date())
    assert counts["interactions"] == INTERACTIONS == Interaction.objects.count()
    assert Interaction.objects.filter(occurred_at__gte=NOW).count() == 0
    for person in (rep, rep2):
        assert not FollowUp.objects.filter(assignee=person).exclude(customer__account_executive=person).exists()
        day = my_day(user=person)
        assert day.today and day.overdue and day.returning
    assert FollowUp.objects.filter(assignee__isnull=True, assignee_role="support").count() == 2
    assert FollowUp.objects.filter(status=FollowUpStatus.OPEN, origin_kind="interaction").exists()
    # Run again: nothing is added.
    assert relationship_demo_create(today=NOW.date())["interactions"] == 0
