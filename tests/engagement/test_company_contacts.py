"""A company is reached through its contact persons: a message to a company goes to its
primary contact (or the one the request names) and needs THAT person's consent for the
channel — not the company card's. A company with no consenting contact gets nothing.

Queued through the one gate (`messages_queue`), re-checked at send time, and sent to a real
SMTP server on loopback."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client

from fideliza.accounts.services import Actor
from fideliza.customers.contacts import (
    contact_consent_record,
    contact_create,
    contact_deactivate,
    contact_set_primary,
)
from fideliza.customers.selectors import consent_current, contact_consents_current
from fideliza.customers.services import consent_record, customer_create
from fideliza.engagement.models import ContactDecision, Message, MessageStatus, Suppression
from fideliza.engagement.outbox import messages_send
from fideliza.engagement.services import bounce_record, channel_choose, messages_queue, sms_inbound

from .conftest import make_customer, request

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


@pytest.fixture(autouse=True)
def _clock(time_machine, noon):
    """Tuesday 10 March 2026 at noon, ticking (the SMTP sink runs in real time)."""
    time_machine.move_to(noon, tick=True)


def _company(*, consent=("email", "sms"), **data):
    """A company card whose own e-mail and phone have consent (the old, card-level way)."""
    data = {"kind": "company", "company_name": "Construcciones Vega S.L.", "email": "info@vega.example",
            "phone": "+34911000001", **data}
    company = customer_create(actor=ACTOR, data=data)
    for channel in consent:
        consent_record(customer=company, channel=channel, granted=True, source="tests")
    return company


def _contact(company, name, email, phone, *, consents=None, **data):
    return contact_create(actor=ACTOR, customer=company, data={"name": name, "email": email, "phone": phone, **data},
                          consents=consents or {}, consent_source="tests")


def test_marketing_to_a_company_goes_to_the_primary_contact_with_their_consent(smtp_sink):
    company = _company()
    buyer = _contact(company, "Ana García", "ana@vega.example", "+34611000001", consents={"email": True, "sms": True})
    _contact(company, "Luis Romero", "luis@vega.example", "+34611000002", consents={"email": True})
    assert buyer.is_primary  # the first contact of a company becomes its primary one

    email, sms = messages_queue([request(company), request(company, channel="sms")])
    assert (email.status, sms.status) == ("queued", "queued")
    assert Message.objects.get(pk=email.message_id).address == "ana@vega.example"
    assert Message.objects.get(pk=sms.message_id).address == "+34611000001"
    assert messages_send([email.message_id]) == {"sent": 1}
    [mail] = smtp_sink.messages
    assert mail["To"] == "ana@vega.example"


def test_the_primary_contacts_consent_decides_not_the_companys(smtp_sink):
    """The company card consents, its primary contact does not: nothing goes, by e-mail or SMS."""
    company = _company()
    _contact(company, "Ana García", "ana@vega.example", "+34611000001", consents={"email": False})
    _contact(company, "Luis Romero", "luis@vega.example", "+34611000002", consents={"email": True, "sms": True})
    decisions = messages_queue([request(company), request(company, channel="sms")])
    assert [(d.status, d.reason) for d in decisions] == [("skipped", "no_consent"), ("skipped", "no_consent")]
    assert not Message.objects.exists()
    assert set(ContactDecision.objects.values_list("reason", flat=True)) == {"no_consent"}
    # A company card without a consent of its own, whose primary contact consents: it goes.
    other = _company(consent=(), company_name="Reformas Gil", email="info@gil.example", phone="+34911000002")
    _contact(other, "Pilar Gil", "pilar@gil.example", "+34611000003", consents={"email": True, "sms": True})
    decisions = messages_queue([request(other), request(other, channel="sms")])
    assert [d.status for d in decisions] == ["queued", "queued"]


def test_a_withdrawal_after_queuing_cancels_at_send_time_and_a_new_grant_lets_it_go(smtp_sink):
    company = _company()
    ana = _contact(company, "Ana García", "ana@vega.example", "+34611000001", consents={"email": True})
    [d] = messages_queue([request(company)])
    contact_consent_record(contact=ana, channel="email", granted=False, source="teléfono")
    assert messages_send([d.message_id]) == {"cancelled": 1}
    assert smtp_sink.messages == []
    assert ContactDecision.objects.get(message_id=d.message_id).reason == "no_consent"

    contact_consent_record(contact=ana, channel="email", granted=True, source="formulario")
    [again] = messages_queue([request(company, source="campaign:2")])
    assert again.status == "queued"
    assert messages_send([again.message_id]) == {"sent": 1}
    assert [m["To"] for m in smtp_sink.messages] == ["ana@vega.example"]


def test_no_primary_contact_means_no_address_and_no_contacts_means_the_card_itself(noon):
    company = _company()
    ana = _contact(company, "Ana García", "ana@vega.example", "+34611000001", consents={"email": True, "sms": True})
    _contact(company, "Luis Romero", "luis@vega.example", "+34611000002", consents={"email": True, "sms": True})
    contact_deactivate(actor=ACTOR, contact=ana)
    # Luis is active but nobody made him primary after Ana left: no address to write to.
    decisions = messages_queue([request(company), request(company, channel="sms"),
                                request(company, kind="transactional", source="loyalty:coupon")])
    assert [(d.status, d.reason) for d in decisions] == [("skipped", "no_address")] * 3
    assert channel_choose([company.pk], ["email", "sms"]) == {company.pk: None}

    # No contacts at all: the card is its own contact — its address and the consent recorded
    # on it (company cards imported before contacts existed keep what they agreed to).
    bare = _company(company_name="Talleres Ruiz", email="info@ruiz.example", phone="+34911000003",
                    consent=("email",))
    decisions = messages_queue([request(bare), request(bare, channel="sms"),
                                request(bare, kind="transactional", source="loyalty:coupon")])
    assert [(d.status, d.reason) for d in decisions] == [("queued", ""), ("skipped", "no_consent"),
                                                         ("queued", "")]
    assert set(Message.objects.values_list("address", flat=True)) == {"info@ruiz.example"}
    Message.objects.all().delete()

    contact_set_primary(actor=ACTOR, contact=company.contacts.get(name="Luis Romero"))
    [d] = messages_queue([request(company, source="campaign:2")])
    assert (d.status, Message.objects.get(pk=d.message_id).address) == ("queued", "luis@vega.example")


def test_a_message_may_name_another_contact_of_the_company(noon):
    company = _company()
    _contact(company, "Ana García", "ana@vega.example", "+34611000001", consents={"email": True})
    luis = _contact(company, "Luis Romero", "luis@vega.example", "+34611000002", consents={"sms": True})
    stranger = _contact(_company(company_name="Otra S.L.", email="o@otra.example", phone="+34911000009"),
                        "Eva Otra", "eva@otra.example", "+34611000009", consents={"email": True})
    base = request(company, channel="sms")
    named = [
        type(base)(**{**base.__dict__, "contact_id": luis.pk}),
        type(base)(**{**request(company).__dict__, "contact_id": luis.pk}),      # Luis has no e-mail consent
        type(base)(**{**request(company).__dict__, "contact_id": stranger.pk}),  # not this company's
    ]
    decisions = messages_queue(named)
    assert [(d.status, d.reason) for d in decisions] == [("queued", ""), ("skipped", "no_consent"),
                                                         ("skipped", "no_address")]
    assert Message.objects.get().address == "+34611000002"


def test_persons_are_unchanged_by_contacts(noon):
    person = make_customer()
    _contact(person, "Su hija", "hija@example.com", "+34611000005", consents={})
    [d] = messages_queue([request(person)])
    assert d.status == "queued" and Message.objects.get().address == person.email


def test_unsubscribing_from_a_companys_message_withdraws_the_contacts_consent(smtp_sink):
    company = _company()
    ana = _contact(company, "Ana García", "ana@vega.example", "+34611000001", consents={"email": True})
    [d] = messages_queue([request(company)])
    messages_send([d.message_id])
    url = urlsplit(str(smtp_sink.messages[0]["List-Unsubscribe"]).strip().strip("<>")).path
    answer = Client().post(url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200
    assert contact_consents_current([ana.pk])[ana.pk]["email"] is False
    assert consent_current(company)["email"] is True  # the card's own stays as it was
    assert Suppression.objects.get(channel="email", address="ana@vega.example").reason == "unsubscribed"
    [later] = messages_queue([request(company, source="campaign:2")])
    assert later.status == "skipped"
    assert Message.objects.get(pk=d.message_id).status == MessageStatus.SENT


def test_a_stop_reply_or_a_hard_bounce_withdraws_the_contacts_consent(noon):
    company = _company()
    ana = _contact(company, "Ana García", "ana@vega.example", "+34611000001", consents={"email": True, "sms": True})
    sms, email = messages_queue([request(company, channel="sms", not_before=noon.replace(hour=18)),
                                 request(company, not_before=noon.replace(hour=18))])
    assert (sms.status, email.status) == ("queued", "queued")
    sms_inbound(phone="611 00 00 01", text="BAJA")
    assert contact_consents_current([ana.pk])[ana.pk] == {"email": True, "sms": False}
    assert Message.objects.get(pk=sms.message_id).status == MessageStatus.CANCELLED
    bounce_record(address="ana@vega.example", hard=True)
    assert contact_consents_current([ana.pk])[ana.pk] == {"email": False, "sms": False}
    assert Message.objects.get(pk=email.message_id).status == MessageStatus.CANCELLED
    assert consent_current(company) == {"email": True, "sms": True}  # the card's own is another address
