"""Events through their services and the real outbox (locmem e-mail): invitations gated
like every message, answers with the waiting list and its promotion, the deadline, the
door (check-in, walk-ins, the timeline's interaction), reminders and cancellation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from fideliza.accounts.services import Actor
from fideliza.engagement.models import Message
from fideliza.events.models import Invitation, Response
from fideliza.events.services import (
    audience_customers,
    checkin_mark,
    event_cancel,
    event_save,
    invitations_send,
    reminders_send,
    rsvp_answer,
    rsvp_token,
    rsvp_token_read,
    walk_in_new_customer,
    walk_in_register,
)
from fideliza.interactions.models import Interaction, InteractionKind

from .conftest import DEADLINE, END, NOW, START, event_data, guest

pytestmark = pytest.mark.django_db


def _send(event, owner, capture, **kwargs):
    with capture(execute=True):
        return invitations_send(actor=Actor.of(owner), event=event, **kwargs)


def _inv(event, customer) -> Invitation:
    return Invitation.objects.get(event=event, customer=customer)


def test_invitations_go_through_the_outbox_to_the_segment_only(event, owner, guests, mailoutbox,
                                                                django_capture_on_commit_callbacks):
    summary = _send(event, owner, django_capture_on_commit_callbacks)
    assert summary.invited == 5 and summary.not_sent_total == 0
    messages = Message.objects.filter(source=f"event:{event.pk}")
    assert messages.count() == 5
    assert set(messages.values_list("kind", "topic")) == {("marketing", "eventos")}
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        f"{n}@example.com" for n in ("lucia", "tomas", "elena", "pablo", "nuria"))
    mail = next(m for m in mailoutbox if m.to[0] == "lucia@example.com")
    assert mail.subject == "Invitación: Jornada de fin de año"
    assert "Hola Lucía:" in mail.body and "/evento/" in mail.body
    [(name, content, mimetype)] = mail.attachments
    assert name == f"evento-{event.pk}.ics" and mimetype == "text/calendar"
    assert "BEGIN:VEVENT" in content and "SUMMARY:Jornada de fin de año" in content
    # Never twice: a second run finds everybody invited.
    again = _send(event, owner, django_capture_on_commit_callbacks)
    assert (again.invited, again.already) == (0, 5)
    assert len(mailoutbox) == 5


def test_the_gate_applies_no_consent_no_invitation(event, owner, guests, mailoutbox,
                                                   django_capture_on_commit_callbacks):
    from fideliza.segments.models import SegmentMember

    silent = guest(owner, consent=False, first_name="Sin", last_name="Permiso", email="sin@example.com")
    SegmentMember.objects.create(segment=guests["segment"], customer=silent)
    summary = _send(event, owner, django_capture_on_commit_callbacks)
    assert summary.invited == 5 and dict(summary.not_sent) == {"no_consent": 1}
    assert not Invitation.objects.filter(customer=silent).exists()
    assert "sin@example.com" not in [m.to[0] for m in mailoutbox]


def test_quiet_hours_defer_the_invitation(owner, guests, mailoutbox, django_capture_on_commit_callbacks):
    event = event_save(actor=Actor.of(owner), data=event_data(audience_segment=guests["segment"]))
    with time_machine.travel(NOW.replace(hour=22), tick=False):
        summary = _send(event, owner, django_capture_on_commit_callbacks, customer_ids=[guests["lucia"].pk])
    assert summary.invited == 1 and mailoutbox == []
    assert _inv(event, guests["lucia"]).delivery == "deferred"
    assert Message.objects.get(source=f"event:{event.pk}").status == "deferred"


def test_audience_by_tier_city_and_vip(owner, guests):
    from tests.automations.conftest import make_metrics, snapshot

    run = snapshot(NOW.date())
    tiers = {"lucia": "platino", "tomas": "oro", "elena": "plata", "outsider": "platino"}
    for name, tier in tiers.items():
        metrics = make_metrics(guests[name], run, days_since=20, interval=30)
        metrics.value_tier = tier
        metrics.save()
    vip = event_save(actor=Actor.of(owner), data=event_data(vip_only=True, audience_city="córdoba"))
    assert set(audience_customers(vip)) == {guests["lucia"], guests["tomas"]}
    silver = event_save(actor=Actor.of(owner), data=event_data(audience_tiers=["plata", "platino"]))
    assert set(audience_customers(silver)) == {guests["lucia"], guests["elena"], guests["outsider"]}
    with pytest.raises(ValidationError) as exc:
        event_save(actor=Actor.of(owner), data=event_data(audience_tiers=["diamante"]))
    assert "audience_tiers" in exc.value.message_dict


def test_a_full_event_waitlists_and_promotes_in_order_on_a_decline(event, owner, guests, mailoutbox,
                                                                    django_capture_on_commit_callbacks):
    _send(event, owner, django_capture_on_commit_callbacks)
    mailoutbox.clear()
    order = ["lucia", "tomas", "elena", "pablo"]
    results = {}
    for i, name in enumerate(order):
        with time_machine.travel(NOW + timedelta(minutes=i + 1), tick=False):
            results[name] = rsvp_answer(invitation=_inv(event, guests[name]), answer="yes").invitation.response
    assert results == {"lucia": "yes", "tomas": "yes", "elena": "waiting", "pablo": "waiting"}
    # A «sí» again from someone waiting changes nothing (keeps the place in the queue).
    assert not rsvp_answer(invitation=_inv(event, guests["elena"]), answer="yes").changed
    with time_machine.travel(NOW + timedelta(hours=1), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        result = rsvp_answer(invitation=_inv(event, guests["tomas"]), answer="no")
    assert [p.customer_id for p in result.promoted] == [guests["elena"].pk]
    assert _inv(event, guests["elena"]).response == Response.YES
    assert _inv(event, guests["elena"]).promoted_at is not None
    assert _inv(event, guests["pablo"]).response == Response.WAITING
    [mail] = mailoutbox
    assert mail.to == ["elena@example.com"] and mail.subject == "Tiene plaza: Jornada de fin de año"
    assert Message.objects.get(dedupe_key=f"event:{event.pk}:promoted:{guests['elena'].pk}").kind == "transactional"
    # A waiting guest who says «quizá» leaves the list; more seats promote the rest.
    event_save(actor=Actor.of(owner), data={"capacity": 4}, event=event)
    assert _inv(event, guests["pablo"]).response == Response.YES


def test_answers_change_until_the_deadline_then_only_staff(event, owner, guests,
                                                           django_capture_on_commit_callbacks):
    _send(event, owner, django_capture_on_commit_callbacks)
    invitation = _inv(event, guests["lucia"])
    rsvp_answer(invitation=invitation, answer="maybe")
    rsvp_answer(invitation=invitation, answer="yes")
    with time_machine.travel(DEADLINE + timedelta(minutes=1), tick=False):
        with pytest.raises(ValidationError) as exc:
            rsvp_answer(invitation=invitation, answer="no")
        assert "El plazo para responder terminó el" in exc.value.messages[0]
        # Staff record an answer given by phone.
        assert rsvp_answer(invitation=invitation, answer="no", actor=Actor.of(owner)).invitation.response == "no"
    with time_machine.travel(END + timedelta(minutes=1), tick=False), pytest.raises(ValidationError):
        rsvp_answer(invitation=invitation, answer="yes", actor=Actor.of(owner))
    with pytest.raises(ValidationError):
        rsvp_answer(invitation=invitation, answer="tal vez")


def test_tokens_name_one_invitation_and_refuse_forgeries(event):
    token = rsvp_token(event.pk, 42)
    assert rsvp_token_read(token) == (event.pk, 42)
    body, _sep, signature = token.rpartition(":")
    assert rsvp_token_read(f"{body}:{signature[:-1]}x") is None
    assert rsvp_token_read("WzEsMl0:abc") is None
    assert rsvp_token_read("") is None and rsvp_token_read("::::") is None


def test_check_in_logs_the_attendance_once_and_walk_ins_are_allowed(event, owner, rep, guests,
                                                                   django_capture_on_commit_callbacks):
    _send(event, owner, django_capture_on_commit_callbacks)
    rsvp_answer(invitation=_inv(event, guests["lucia"]), answer="yes")
    with pytest.raises(ValidationError):  # the door is not open yet
        checkin_mark(actor=Actor.of(rep), invitation=_inv(event, guests["lucia"]))
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        row = checkin_mark(actor=Actor.of(rep), invitation=_inv(event, guests["lucia"]))
        again = checkin_mark(actor=Actor.of(rep), invitation=_inv(event, guests["lucia"]))
        assert again.interaction_id == row.interaction_id
        interaction = Interaction.objects.get(customer=guests["lucia"])
        assert interaction.kind == InteractionKind.EVENT and "Jornada de fin de año" in interaction.text
        assert interaction.user == rep
        # Someone of the base who was not invited, and a newcomer.
        walk = walk_in_register(actor=Actor.of(owner), event=event, customer=guests["outsider"])
        assert walk.walk_in and walk.attended_at is not None and walk.response == "yes"
        new = walk_in_new_customer(actor=Actor.of(rep), event=event,
                                   data={"first_name": "Rosa", "last_name": "Nueva", "email": "rosa@example.com"})
    assert new.customer.account_executive == rep  # a representative's new card is theirs
    assert Interaction.objects.filter(customer=new.customer, kind=InteractionKind.EVENT).count() == 1


def test_attendance_typed_in_after_the_event_happened_at_the_event(event, owner, guests,
                                                                  django_capture_on_commit_callbacks):
    _send(event, owner, django_capture_on_commit_callbacks)
    with time_machine.travel(END + timedelta(days=1), tick=False):
        row = checkin_mark(actor=Actor.of(owner), invitation=_inv(event, guests["nuria"]))
    assert row.attended_at == START
    assert Interaction.objects.get(customer=guests["nuria"]).occurred_at == START


def test_reminders_the_day_before_to_those_who_said_yes_once(event, owner, guests, mailoutbox,
                                                            django_capture_on_commit_callbacks):
    _send(event, owner, django_capture_on_commit_callbacks)
    rsvp_answer(invitation=_inv(event, guests["lucia"]), answer="yes")
    rsvp_answer(invitation=_inv(event, guests["tomas"]), answer="no")
    mailoutbox.clear()
    with time_machine.travel(START - timedelta(days=2), tick=False):
        assert reminders_send() == 0  # two days before: nothing
    day_before = START.replace(hour=10) - timedelta(days=1)
    with time_machine.travel(day_before, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert reminders_send() == 1
        assert reminders_send() == 0  # the scheduler twice, a second worker: nothing new
    [mail] = mailoutbox
    assert mail.to == ["lucia@example.com"] and mail.subject == "Mañana: Jornada de fin de año"
    assert mail.attachments and mail.attachments[0][2] == "text/calendar"


def test_reminders_follow_the_business_calendar_across_a_dst_change(owner, guests,
                                                                   django_capture_on_commit_callbacks):
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Madrid")
    from datetime import datetime

    # Sunday 26 October 2025, 00:30 (the day has 25 hours); the day before is Saturday.
    start = datetime(2025, 10, 26, 0, 30, tzinfo=tz)
    with time_machine.travel(datetime(2025, 10, 20, 10, 0, tzinfo=tz), tick=False):
        event = event_save(actor=Actor.of(owner), data=event_data(
            starts_at=start, ends_at=start + timedelta(hours=3), rsvp_deadline=None, audience_segment=guests["segment"]))
        _send(event, owner, django_capture_on_commit_callbacks)
        rsvp_answer(invitation=_inv(event, guests["lucia"]), answer="yes")
    with time_machine.travel(datetime(2025, 10, 25, 23, 59, tzinfo=tz), tick=False):
        assert reminders_send() == 1
    with time_machine.travel(datetime(2025, 10, 24, 23, 59, tzinfo=tz), tick=False):
        assert reminders_send() == 0


def test_cancelling_tells_those_who_were_coming(event, owner, guests, mailoutbox,
                                                django_capture_on_commit_callbacks):
    _send(event, owner, django_capture_on_commit_callbacks)
    rsvp_answer(invitation=_inv(event, guests["lucia"]), answer="yes")
    rsvp_answer(invitation=_inv(event, guests["tomas"]), answer="no")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        event_cancel(actor=Actor.of(owner), event=event)
    assert [m.to[0] for m in mailoutbox] == ["lucia@example.com"]
    assert "STATUS:CANCELLED" in mailoutbox[0].attachments[0][1]
    with pytest.raises(ValidationError):
        rsvp_answer(invitation=_inv(event, guests["elena"]), answer="yes")


def test_event_rules_are_field_errors(owner, guests):
    with pytest.raises(ValidationError) as exc:
        event_save(actor=Actor.of(owner), data=event_data(ends_at=START - timedelta(hours=1)))
    assert "ends_at" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        event_save(actor=Actor.of(owner), data=event_data(rsvp_deadline=START + timedelta(hours=1)))
    assert "rsvp_deadline" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        event_save(actor=Actor.of(owner), data=event_data(place="", online_url=""))
    assert "place" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        event_save(actor=Actor.of(owner), data=event_data(capacity=0))
    assert "capacity" in exc.value.message_dict


def test_a_draft_cannot_be_sent(owner, guests, django_capture_on_commit_callbacks):
    draft = event_save(actor=Actor.of(owner), data=event_data(status="draft"))
    with pytest.raises(ValidationError):
        _send(draft, owner, django_capture_on_commit_callbacks)


def test_merge_and_erasure_keep_the_invitation(event, owner, guests, django_capture_on_commit_callbacks):
    from fideliza.customers.merging import customer_merge

    _send(event, owner, django_capture_on_commit_callbacks)
    twin = guest(owner, first_name="Lucía", last_name="García", email="lucia2@example.com")
    customer_merge(survivor=guests["lucia"], duplicate=twin, actor=Actor.of(owner))
    assert _inv(event, guests["lucia"]).response == "pending"
