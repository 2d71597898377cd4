"""The interaction log: who, when, outcome and text; the next step's follow-up in the same
transaction (both saved or neither); the card's timeline interleaving every kind."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from fideliza.accounts.services import Actor
from fideliza.engagement.models import Message
from fideliza.followups.models import FollowUp, FollowUpOrigin, FollowUpPriority
from fideliza.followups.services import followup_create, local_moment
from fideliza.interactions.models import Interaction
from fideliza.interactions.selectors import interactions_visible_to
from fideliza.interactions.services import NextStep, interaction_log
from fideliza.loyalty.models import EarningRule, Program
from fideliza.web.timeline import customer_timeline
from tests.factories.sales import order_make

from .conftest import NOW

pytestmark = pytest.mark.django_db


def test_an_interaction_records_who_when_outcome_and_text(people, rep):
    logged = interaction_log(actor=Actor.of(rep), customer=people["mine"], kind="call", outcome="reached",
                             text="  Quiere el catálogo de jardín.  ", contact_name="Lucía")
    assert (logged.user, logged.occurred_at, logged.outcome, logged.text, logged.created_by) == (
        rep, NOW, "reached", "Quiere el catálogo de jardín.", rep)
    assert logged.next_followup is None and not FollowUp.objects.exists()


def test_a_next_step_creates_its_follow_up_linked_both_ways(people, rep):
    due = local_moment(date(2026, 6, 18), time(10))
    logged = interaction_log(actor=Actor.of(rep), customer=people["mine"], kind="visit",
                             next_step=NextStep(title="Enviar presupuesto", due_at=due,
                                                priority=FollowUpPriority.HIGH))
    followup = logged.next_followup
    assert followup is not None
    assert (followup.title, followup.due_at, followup.assignee, followup.priority) == (
        "Enviar presupuesto", due, rep, FollowUpPriority.HIGH)
    assert (followup.origin_kind, followup.origin_id) == (FollowUpOrigin.INTERACTION, logged.pk)


def test_a_next_step_that_cannot_be_created_leaves_no_interaction_either(people, owner, rep):
    with pytest.raises(ValidationError) as exc:
        interaction_log(actor=Actor.of(owner), customer=people["theirs"], kind="call", text="Hablamos",
                        next_step=NextStep(title="Llamar otra vez", due_at=NOW + timedelta(days=1), assignee=rep))
    assert "next_step.assignee" in exc.value.message_dict
    assert not Interaction.objects.exists() and not FollowUp.objects.exists()


def test_no_future_interactions_and_no_unknown_kinds(people, rep):
    with pytest.raises(ValidationError):
        interaction_log(actor=Actor.of(rep), customer=people["mine"], kind="call",
                        occurred_at=NOW + timedelta(hours=1))
    with pytest.raises(ValidationError):
        interaction_log(actor=Actor.of(rep), customer=people["mine"], kind="telegram")
    # A clock a few minutes ahead is not the future.
    assert interaction_log(actor=Actor.of(rep), customer=people["mine"], kind="note",
                           occurred_at=NOW + timedelta(minutes=2)).pk


def test_a_representative_sees_only_their_customers_interactions(people, owner, rep):
    for who in ("mine", "theirs", "nobody"):
        interaction_log(actor=Actor.of(owner), customer=people[who], kind="note", text=who)
    assert list(interactions_visible_to(rep).values_list("text", flat=True)) == ["mine"]
    assert interactions_visible_to(owner).count() == 3


def test_the_timeline_interleaves_purchases_interactions_messages_and_points_newest_first(people, rep):
    customer = people["mine"]
    program = Program.objects.create(name="Club", point_value=Decimal("0.01"), join_points=50, expiry_days=365)
    EarningRule.objects.create(program=program, name="Base", kind="per_amount", points=1)
    order = order_make(customer, external_id="T-1", total="25.00", placed_at=NOW - timedelta(days=3))
    call = interaction_log(actor=Actor.of(rep), customer=customer, kind="call", occurred_at=NOW - timedelta(days=2))
    message = Message.objects.create(customer=customer, channel="email", kind="marketing", source="campaign:1",
                                     dedupe_key="m-1", address="lucia@example.com", subject="Ofertas de junio",
                                     status="sent", send_at=NOW - timedelta(days=1), sent_at=NOW - timedelta(days=1))
    note = interaction_log(actor=Actor.of(rep), customer=customer, kind="note")
    everything = customer_timeline(customer)
    # A purchase and the points it earned share their moment: the purchase comes first.
    assert [i.kind for i in everything] == ["interacciones", "mensajes", "interacciones", "compras", "puntos",
                                            "puntos"]
    assert [i.obj for i in everything if i.kind != "puntos"] == [note, message, call, order]
    points = [i.obj for i in customer_timeline(customer, kind="puntos")]
    assert sum(e.points for e in points) == 75 and all(e.occurred_at == order.placed_at for e in points)
    assert [i.obj for i in customer_timeline(customer, kind="interacciones")] == [note, call]
    assert [i.obj for i in customer_timeline(customer, kind="mensajes")] == [message]
    assert order.total == Decimal("25.00")


def test_who_had_it_may_be_named_by_an_integration_within_the_visibility_rules(people, owner, rep, rep2):
    logged = interaction_log(actor=Actor.of(owner, via="centralita"), customer=people["mine"], kind="call",
                             user=rep)
    assert (logged.user, logged.created_by) == (rep, owner)
    with pytest.raises(ValidationError) as exc:
        interaction_log(actor=Actor.of(owner), customer=people["mine"], kind="call", user=rep2)
    assert "user" in exc.value.message_dict
    with pytest.raises(ValidationError):
        interaction_log(actor=Actor.of(rep), customer=people["mine"], kind="call", user=owner)


def test_a_contact_may_mark_done_the_follow_up_it_answers_in_the_same_save(people, owner, rep):
    pending = followup_create(actor=Actor.of(owner), customer=people["mine"], title="Llamar",
                              due_at=NOW - timedelta(days=1))
    logged = interaction_log(actor=Actor.of(rep), customer=people["mine"], kind="call", text="Vendrá el lunes",
                             completes=pending,
                             next_step=NextStep(title="Preparar el pedido", due_at=NOW + timedelta(days=3)))
    pending.refresh_from_db()
    assert (pending.status, pending.outcome, pending.closed_by) == ("done", "Vendrá el lunes", rep)
    assert logged.next_followup.status == "open"
    other = followup_create(actor=Actor.of(owner), customer=people["nobody"], title="Visitar", due_at=NOW)
    with pytest.raises(ValidationError):
        interaction_log(actor=Actor.of(owner), customer=people["mine"], kind="call", completes=other)
    with pytest.raises(ValidationError):  # already done: nothing of this second save remains
        interaction_log(actor=Actor.of(rep), customer=people["mine"], kind="note", completes=pending)
    assert Interaction.objects.count() == 1 and FollowUp.objects.filter(status="open").count() == 2
