"""The demo's complaints book: a few dozen complaints in every state, nothing sent."""

from __future__ import annotations

from collections import Counter

import pytest

from fideliza.accounts.services import Actor
from fideliza.complaints.demo import PLAN, complaints_demo_create
from fideliza.complaints.models import CannedAnswer, Complaint, ComplaintStatus, RecoveryGesture
from fideliza.complaints.selectors import complaints_report, overdue_count
from fideliza.engagement.models import Message
from fideliza.followups.models import FollowUp
from tests.factories.customers import customer_make

from .conftest import NOW

pytestmark = pytest.mark.django_db


def test_the_demo_book_has_every_state_and_sends_nothing(owner, rep, rep2, clock):
    actor = Actor.of(owner)
    for n in range(60):
        customer_make(actor=actor, first_name=f"Cliente{n}", email=f"c{n}@example.com",
                      account_executive=(rep, rep2, None)[n % 3])
    created = complaints_demo_create(today=NOW.date())
    assert created == sum(count for _s, count, _d in PLAN) == Complaint.objects.count()
    states = Counter(Complaint.objects.values_list("status", flat=True))
    assert set(states) == set(ComplaintStatus.values)
    assert overdue_count() >= 3        # the new ones received 18–30 days ago
    assert not Message.objects.exists()
    assert RecoveryGesture.objects.exists() and CannedAnswer.objects.count() == 4
    open_ones = Complaint.objects.filter(status__in=("new", "in_progress", "waiting"))
    assert FollowUp.objects.filter(origin_kind="complaint").count() == open_ones.count()
    assert not FollowUp.objects.filter(assignee=rep).exclude(customer__account_executive=rep).exists()
    report = complaints_report(user=owner)
    assert report.total == created and report.reasons and report.first_response.count > 0
    assert complaints_demo_create(today=NOW.date()) == 0   # once
