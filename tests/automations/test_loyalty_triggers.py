"""Triggers fed by loyalty: tier changes, expiry notices, referrals."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fideliza.automations.models import Enrollment, TierSeen
from fideliza.automations.selectors import automations_dry_run
from fideliza.automations.services import automations_run
from fideliza.automations.triggers import points_expiring_hits, referral_thanks_hits
from fideliza.engagement.models import Message
from fideliza.loyalty.models import ExpiryNotice, Member, Program, Referral, Tier

from .conftest import make_automation, make_customer, make_order

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=MADRID)


@pytest.fixture
def club():
    program = Program.objects.create(name="Club", expiry_days=365)
    tiers = [Tier.objects.create(program=program, name=n, rank=r, threshold=t)
             for n, r, t in (("Bronce", 0, 0), ("Plata", 1, 200), ("Oro", 2, 1000))]
    return program, tiers


def _member(program, tier=None, since=None, **customer):
    c = make_customer(**customer)
    return Member.objects.create(program=program, customer=c, joined_at=NOON - timedelta(days=400), tier=tier,
                                 tier_since=since, referral_code=f"R{c.pk:06d}")


def test_tier_up_and_down_are_told_apart(club):
    program, (bronze, silver, gold) = club
    old_gold = _member(program, gold, NOON - timedelta(days=200))     # long-standing: no greeting
    new_silver = _member(program, silver, NOON - timedelta(hours=3))  # reached silver today
    climber = _member(program, bronze, NOON - timedelta(days=90))
    faller = _member(program, gold, NOON - timedelta(days=300))
    ups = make_automation("tier_change", params={"direction": "up"})
    downs = make_automation("tier_change", params={"direction": "down"})
    automations_run(now=NOON)
    assert set(Enrollment.objects.filter(automation=ups).values_list("customer_id", flat=True)) == \
        {new_silver.customer_id}
    assert not Enrollment.objects.filter(automation=downs).exists()
    assert TierSeen.objects.count() == 4  # everybody remembered from now on
    later = NOON + timedelta(days=1)
    Member.objects.filter(pk=climber.pk).update(tier=gold, tier_since=later - timedelta(hours=1))
    Member.objects.filter(pk=faller.pk).update(tier=silver, tier_since=later - timedelta(hours=1))
    automations_run(now=later)
    automations_run(now=later + timedelta(minutes=15))
    up = Enrollment.objects.filter(automation=ups).exclude(customer=new_silver.customer)
    assert [(e.customer_id, e.context["direction"], e.context["tier"]) for e in up] == \
        [(climber.customer_id, "up", "Oro")]
    down = Enrollment.objects.filter(automation=downs)
    assert [(e.customer_id, e.context["direction"]) for e in down] == [(faller.customer_id, "down")]
    assert not Enrollment.objects.filter(customer=old_gold.customer).exists()
    assert Message.objects.filter(customer=climber.customer).count() == 1


def test_dry_run_does_not_remember_tiers(club):
    program, (_bronze, silver, _gold) = club
    fresh = _member(program, silver, NOON - timedelta(hours=2))
    make_automation("tier_change")
    rows = automations_dry_run(now=NOON)
    assert [r.customer_id for r in rows] == [fresh.customer_id]
    assert not TierSeen.objects.exists()


def test_points_expiring_uses_loyalty_notices(club):
    program, _tiers = club
    member = _member(program)
    other = _member(program)
    notice = ExpiryNotice.objects.create(member=member, expires_on=date(2026, 7, 1), points=120)
    ExpiryNotice.objects.create(member=other, expires_on=date(2026, 7, 1), points=3)
    ExpiryNotice.objects.filter(pk=notice.pk).update(created_at=NOON - timedelta(hours=5))
    ExpiryNotice.objects.exclude(pk=notice.pk).update(created_at=NOON - timedelta(hours=5))
    automation = make_automation("points_expiring", params={"min_points": 10})
    hits = points_expiring_hits(automation, NOON)
    assert [(h.customer_id, h.trigger_key, h.context["points"]) for h in hits] == \
        [(member.customer_id, "expiry:2026-07-01", 120)]
    assert points_expiring_hits(automation, NOON + timedelta(days=3)) == []  # outside the look-back


def test_referral_thanks_goes_to_the_referrer(club):
    program, _tiers = club
    referrer = _member(program, first_name="Rosa")
    friend = make_customer(first_name="Pablo")
    order = make_order(friend, NOON - timedelta(days=1))
    Referral.objects.create(program=program, referrer=referrer, referred=friend, status="qualified",
                            first_contact_at=NOON - timedelta(days=3), qualifying_order=order)
    pending = make_customer()
    Referral.objects.create(program=program, referrer=referrer, referred=pending, status="pending",
                            first_contact_at=NOON - timedelta(days=1))
    automation = make_automation("referral_thanks")
    hits = referral_thanks_hits(automation, NOON)
    assert [(h.customer_id, h.context["friend"]) for h in hits] == [(referrer.customer_id, "Pablo")]
