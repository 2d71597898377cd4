"""Capacity under concurrency (PostgreSQL): many guests saying sí at the same moment to an
event with few seats never confirm more than its capacity; the rest wait, in order."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import connection

from fideliza.accounts.services import Actor
from fideliza.events.models import Invitation, Response
from fideliza.events.services import event_save, invitations_send, rsvp_answer
from fideliza.segments.models import Segment, SegmentKind, SegmentMember

from .conftest import NOW, event_data, guest

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _all_at_once(invitation_ids: list[int], answer: str) -> list[str]:
    barrier = threading.Barrier(len(invitation_ids))

    def one(pk: int) -> str:
        try:
            with time_machine.travel(NOW, tick=True):
                invitation = Invitation.objects.get(pk=pk)
                barrier.wait()
                return rsvp_answer(invitation=invitation, answer=answer).invitation.response
        except Exception as exc:  # shown by the assertion
            return repr(exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(len(invitation_ids)) as pool:
        return list(pool.map(one, invitation_ids))


def test_twelve_at_once_for_three_seats(owner):
    with time_machine.travel(NOW, tick=False):
        segment = Segment.objects.create(name="Todos", kind=SegmentKind.STATIC)
        for n in range(12):
            SegmentMember.objects.create(segment=segment, customer=guest(owner, first_name=f"Invitado{n}",
                                                                         email=f"i{n}@example.com"))
        event = event_save(actor=Actor.of(owner), data=event_data(capacity=3, audience_segment=segment))
        invitations_send(actor=Actor.of(owner), event=event)
    ids = list(Invitation.objects.filter(event=event).values_list("pk", flat=True))
    answers = _all_at_once(ids, "yes")
    assert sorted(answers) == ["waiting"] * 9 + ["yes"] * 3
    assert Invitation.objects.filter(event=event, response=Response.YES).count() == 3
    # Two confirmed guests decline at once: exactly two of the waiting list move up, the
    # first two to have said sí.
    confirmed = list(Invitation.objects.filter(event=event, response=Response.YES).values_list("pk", flat=True))
    queue = list(Invitation.objects.filter(event=event, response=Response.WAITING)
                 .order_by("waitlisted_at", "id").values_list("pk", flat=True))
    assert _all_at_once(confirmed[:2], "no") == ["no", "no"]
    now_yes = set(Invitation.objects.filter(event=event, response=Response.YES).values_list("pk", flat=True))
    assert now_yes == {confirmed[2], *queue[:2]}
