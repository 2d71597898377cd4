"""The demo's surveys: two finished rounds, NPS about +20 with Spanish comments, and no
message sent by them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fideliza.accounts.services import Actor
from fideliza.engagement.models import Message
from fideliza.followups.models import FollowUp
from fideliza.surveys.demo import surveys_demo_create
from fideliza.surveys.models import Response, Survey
from fideliza.surveys.models import Testimonial as Quote
from fideliza.surveys.selectors import nps
from tests.factories.customers import customer_make

from .conftest import NOW

pytestmark = pytest.mark.django_db


def test_demo_surveys_have_content_and_send_nothing(owner, rep, clock):
    for i in range(700):
        customer_make(actor=Actor.of(owner), first_name=f"Cliente{i}", email=f"demo{i}@example.com",
                      account_executive=rep if i % 3 == 0 else None)
    today = NOW.date()
    summary = surveys_demo_create(today=today)
    assert summary["surveys"] == 2 and summary["responses"] == 550
    assert Survey.objects.filter(status="closed").count() == 1
    result = nps(today - timedelta(days=200), today)
    assert result is not None and result.answers == 550
    assert 10 <= result.score <= 30, result
    assert Response.objects.exclude(verbatim="").count() > 200
    assert Quote.objects.filter(consent=True).count() == 2
    assert FollowUp.objects.filter(origin_kind="survey").exists()
    assert not Message.objects.exists()
    assert surveys_demo_create(today=today)["surveys"] == 0  # once
