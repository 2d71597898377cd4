"""Engagement rows under the customers app's merges and erasure."""

from __future__ import annotations

import pytest

from fideliza.accounts.services import Actor
from fideliza.customers.merging import customer_merge, customer_merge_undo
from fideliza.customers.privacy import customer_erase
from fideliza.engagement.models import (
    BudgetScope,
    ContactBudget,
    ContactDecision,
    DeliveryEvent,
    Message,
    Suppression,
    TopicPreference,
)
from fideliza.engagement.services import event_record, messages_queue

from .conftest import make_customer, request

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def test_merge_moves_messages_and_an_opt_out_on_either_card_wins_until_undone():
    survivor, duplicate = make_customer(first_name="Ana"), make_customer(first_name="Ana M.")
    TopicPreference.objects.create(customer=survivor, topic="ofertas", subscribed=True)
    TopicPreference.objects.create(customer=duplicate, topic="ofertas", subscribed=False)
    TopicPreference.objects.create(customer=duplicate, topic="eventos", subscribed=False)
    ContactBudget.objects.create(scope=BudgetScope.CUSTOMER, customer=survivor, max_messages=1, window_days=7)
    ContactBudget.objects.create(scope=BudgetScope.CUSTOMER, customer=duplicate, max_messages=5, window_days=7)
    [d] = messages_queue([request(duplicate)])
    merge = customer_merge(actor=ACTOR, survivor=survivor, duplicate=duplicate)
    assert Message.objects.get(pk=d.message_id).customer_id == survivor.pk
    prefs = dict(TopicPreference.objects.filter(customer=survivor).values_list("topic", "subscribed"))
    assert prefs == {"ofertas": False, "eventos": False}
    assert ContactBudget.objects.get(customer=survivor).max_messages == 1
    customer_merge_undo(actor=ACTOR, merge=merge)
    assert Message.objects.get(pk=d.message_id).customer_id == duplicate.pk
    assert dict(TopicPreference.objects.filter(customer=survivor).values_list("topic", "subscribed")) == {
        "ofertas": True}
    assert ContactBudget.objects.get(customer=duplicate).max_messages == 5


def test_erasure_blanks_messages_but_keeps_the_suppression():
    c = make_customer(first_name="Borrar", email="borrar@example.com")
    [d] = messages_queue([request(c, subject="Hola Borrar", body_text="Hola Borrar",
                                  body_html="<p>Hola Borrar</p>")])
    message = Message.objects.get(pk=d.message_id)
    event_record(message=message, kind="clicked", detail={"url": "https://x.example/?email=borrar@example.com"})
    Suppression.objects.create(channel="email", address="borrar@example.com", reason="unsubscribed")
    customer_erase(actor=ACTOR, customer=c)
    message.refresh_from_db()
    assert (message.address, message.subject, message.body_text, message.body_html) == ("[suprimido]", "", "", "")
    assert DeliveryEvent.objects.get(message=message).detail == {}
    assert Suppression.objects.filter(address="borrar@example.com").exists()
    # The erased card gets nothing more: it is inactive and has no address.
    [later] = messages_queue([request(c)])
    assert later.status == "skipped"
    assert ContactDecision.objects.filter(customer=c).exists()
