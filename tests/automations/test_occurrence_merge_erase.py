"""Occurrences (folded causes, and what already held at switching on) when two cards are
merged and when a card is erased."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fideliza.accounts.services import Actor
from fideliza.automations.models import Occurrence
from fideliza.automations.services import occurrences_erase
from fideliza.customers.merging import customer_merge, customer_merge_undo
from fideliza.customers.privacy import ERASED, erasure_handler, erasure_policy
from fideliza.loyalty.models import Member, Program, Referral

from .conftest import make_automation, make_customer

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=ZoneInfo("Europe/Madrid"))
ACTOR = Actor.system("tests")


def _occurrence(automation, customer, key, **context):
    return Occurrence.objects.create(automation=automation, customer=customer, trigger_key=key, context=context,
                                     outcome="existing", recorded_at=NOON)


def test_merging_keeps_one_copy_of_each_occurrence_and_undo_restores_them():
    automation = make_automation("birthday")
    survivor, duplicate = make_customer(first_name="Ana"), make_customer(first_name="Ana")
    _occurrence(automation, survivor, "birthday:2026", local_date="2026-05-09")
    same = _occurrence(automation, duplicate, "birthday:2026", local_date="2026-05-09")
    other = _occurrence(automation, duplicate, "birthday:2025", local_date="2025-05-09")
    merge = customer_merge(actor=ACTOR, survivor=survivor, duplicate=duplicate)
    assert sorted(Occurrence.objects.filter(customer=survivor).values_list("trigger_key", flat=True)) == \
        ["birthday:2025", "birthday:2026"]
    assert not Occurrence.objects.filter(pk=same.pk).exists()
    customer_merge_undo(actor=ACTOR, merge=merge)
    assert sorted(Occurrence.objects.filter(customer=duplicate).values_list("pk", flat=True)) == \
        sorted([same.pk, other.pk])
    assert Occurrence.objects.filter(customer=survivor).count() == 1


def test_erasure_drops_trigger_data_and_the_friends_name():
    program = Program.objects.create(name="Club")
    referrer, friend = make_customer(first_name="Rosa"), make_customer(first_name="Teodora")
    member = Member.objects.create(program=program, customer=referrer, joined_at=NOON, referral_code="ROSA01")
    referral = Referral.objects.create(program=program, referrer=member, referred=friend, first_contact_at=NOON)
    thanks = make_automation("referral_thanks")
    birthday = make_automation("birthday")
    folded = _occurrence(thanks, referrer, f"referral:{referral.pk}", friend="Teodora")
    own = _occurrence(birthday, friend, "birthday:2026", local_date="2026-05-09")
    assert occurrences_erase([friend.pk], {"Teodora"}) == 2
    folded.refresh_from_db()
    own.refresh_from_db()
    assert folded.context == {"friend": ERASED} and folded.trigger_key == f"referral:{referral.pk}"
    assert own.context == {} and own.trigger_key == "birthday:2026"
    assert erasure_policy(Occurrence) == "handler"
    assert erasure_handler("automations.Occurrence") is occurrences_erase
