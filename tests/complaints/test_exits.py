"""Exit reasons: the unsubscribe page asks why (optionally), deactivating a card requires a
reason, and the report shows their Pareto beside the complaint reasons."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from fideliza.accounts.services import Actor
from fideliza.complaints.models import ExitReasonRecord
from fideliza.complaints.selectors import complaints_report, pareto
from fideliza.customers.privacy import customer_erase
from fideliza.customers.services import customer_deactivate
from fideliza.engagement.models import Message
from fideliza.engagement.services import MessageRequest, messages_queue
from tests.factories.customers import consent_grant, customer_make

pytestmark = pytest.mark.django_db


def _message(customer) -> Message:
    [decision] = messages_queue([MessageRequest(customer_id=customer.pk, channel="email", kind="transactional",
                                                source="tests", dedupe_key=f"t:{customer.pk}", subject="Hola",
                                                body_text="Hola")])
    return Message.objects.get(pk=decision.message_id)


@pytest.fixture
def customer(clock, owner):
    person = customer_make(actor=Actor.of(owner), first_name="Ana", email="ana@example.com")
    consent_grant(person, at=person.created_at, channel="email")
    return person


@pytest.mark.parametrize(("post", "kept"), [
    ({"exit_reason": "too_many"}, [("unsubscribe", "too_many", "")]),
    ({"exit_reason": "other", "exit_text": "  Me cambié de correo  "}, [("unsubscribe", "other", "Me cambié de correo")]),
    ({"exit_reason": "other"}, [("unsubscribe", "other", "")]),    # never stands in the way
    ({"exit_reason": "no-existe"}, []),
    ({}, []),                                                       # optional
    ({"List-Unsubscribe": "One-Click"}, []),                        # a mail provider's one-click
])
def test_the_unsubscribe_page_asks_why_optionally(client, customer, post, kept):
    message = _message(customer)
    page = client.get(f"/m/u/{message.token}")
    assert "¿Por qué se da de baja? (opcional)" in page.content.decode()
    response = client.post(f"/m/u/{message.token}", post)
    assert response.status_code == 200 and "Baja confirmada" in response.content.decode()
    assert list(ExitReasonRecord.objects.values_list("source", "reason", "text")) == kept


def test_deactivating_a_card_requires_a_reason(customer, owner):
    actor = Actor.of(owner)
    with pytest.raises(ValidationError) as missing:
        customer_deactivate(actor=actor, customer=customer, reason="")
    assert "exit_reason" in missing.value.message_dict
    with pytest.raises(ValidationError) as unexplained:
        customer_deactivate(actor=actor, customer=customer, reason="other")
    assert "exit_text" in unexplained.value.message_dict
    customer.refresh_from_db()
    assert customer.is_active
    customer_deactivate(actor=actor, customer=customer, reason="price")
    customer.refresh_from_db()
    assert not customer.is_active
    assert list(ExitReasonRecord.objects.values_list("source", "reason")) == [("deactivation", "price")]


def test_the_report_has_the_exit_reasons_pareto(clock, owner):
    actor = Actor.of(owner)
    for i, reason in enumerate(["price", "price", "service", "price", "moved"]):
        person = customer_make(actor=actor, first_name=f"P{i}")
        customer_deactivate(actor=actor, customer=person, reason=reason)
    report = complaints_report(user=owner)
    assert [(r.label, r.count, r.share, r.cumulative) for r in report.exit_reasons] == [
        ("Los precios", 3, 60.0, 60.0), ("Me mudé o ya no lo necesito", 1, 20.0, 80.0),
        ("Una mala experiencia con la atención", 1, 20.0, 100.0)]


def test_pareto_of_nothing_is_empty():
    assert pareto([]) == [] and pareto([("a", 0)]) == []


def test_erasure_keeps_the_reason_not_the_words(customer, owner):
    customer_deactivate(actor=Actor.of(owner), customer=customer, reason="other", reason_text="Ana se muda a Lima")
    customer_erase(actor=Actor.of(owner), customer=customer)
    assert list(ExitReasonRecord.objects.values_list("reason", "text")) == [("other", "")]
