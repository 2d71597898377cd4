"""Campaign results on hand-built data: delivery events, conversions inside the window
only, attribution from the send, the holdout comparison and coupon redemptions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from fideliza.campaigns.models import CampaignRecipient, RecipientGroup
from fideliza.campaigns.selectors import campaign_results
from fideliza.campaigns.services import campaign_launch
from fideliza.engagement.models import DeliveryEvent, Message, MessageStatus
from fideliza.loyalty.models import CouponRedemption
from fideliza.sales.models import Order
from tests.factories.sales import order_row_without_hooks

from .conftest import LAUNCH, customer_make, segment_make

pytestmark = pytest.mark.django_db
SENT = LAUNCH + timedelta(hours=1)


def order(customer_id: int, at, total: str) -> Order:
    """A bare order row: the results read purchases in the window, nothing the reactions add."""
    return order_row_without_hooks(customer_id, placed_at=at, total=total)


@pytest.fixture
def launched(make_campaign):
    people = [customer_make(i) for i in range(10)]
    campaign = make_campaign(segment_make("Diez", people), holdout="0.200", offer=True, conversion_days=14)
    campaign_launch(campaign, now=LAUNCH)
    campaign.refresh_from_db()
    Message.objects.filter(source=f"campaign:{campaign.pk}").update(status=MessageStatus.SENT, sent_at=SENT)
    treated = list(CampaignRecipient.objects.filter(campaign=campaign, group=RecipientGroup.TREATED)
                   .order_by("customer_id").select_related("coupon"))
    holdout = list(CampaignRecipient.objects.filter(campaign=campaign, group=RecipientGroup.HOLDOUT)
                   .order_by("customer_id"))
    return campaign, treated, holdout


def events(recipient: CampaignRecipient, *kinds: str) -> None:
    for kind in kinds:
        DeliveryEvent.objects.create(message_id=recipient.message_id, customer_id=recipient.customer_id,
                                     kind=kind, at=SENT + timedelta(minutes=5))


def test_delivery_counts_are_messages_not_events(launched):
    campaign, treated, _holdout = launched
    assert len(treated) == 8
    for r in treated:
        events(r, "sent")
    for r in treated[:6]:
        events(r, "delivered")
    for r in treated[:4]:
        events(r, "opened", "opened")  # opened twice: one message opened
    events(treated[0], "clicked", "clicked", "clicked")
    events(treated[1], "clicked")
    events(treated[7], "bounced")
    events(treated[5], "unsubscribed")
    r = campaign_results(campaign, now=LAUNCH + timedelta(days=30))
    assert (r["sent"], r["delivered"], r["opened"], r["clicked"], r["bounced"], r["unsubscribed"]) == (8, 6, 4, 2, 1, 1)
    assert r["treated"] == 8 and r["holdout"] == 2 and r["queued"] == 8 and r["pending"] == 0


def test_conversions_inside_the_window_only_and_revenue(launched):
    campaign, treated, holdout = launched
    a, b, c, d, e = (r.customer_id for r in treated[:5])
    order(a, LAUNCH + timedelta(days=2), "50.00")             # converted
    order(b, LAUNCH - timedelta(days=1), "99.00")             # before the launch: not counted
    order(c, SENT + timedelta(days=14, minutes=1), "70.00")   # after the 14-day window: not counted
    order(d, LAUNCH + timedelta(days=3), "30.00")             # two orders, one conversion
    order(d, LAUNCH + timedelta(days=13), "20.00")
    order(e, LAUNCH + timedelta(minutes=30), "10.00")         # before its message left: not attributed
    order(holdout[0].customer_id, LAUNCH + timedelta(days=3), "40.00")
    order(holdout[1].customer_id, LAUNCH + timedelta(days=15), "40.00")  # outside the window
    r = campaign_results(campaign, now=LAUNCH + timedelta(days=30))
    assert r["converted"] == 2
    assert r["revenue"] == Decimal("100.00")
    # The uplift compares the whole groups from the launch, so `e` counts there.
    t, h = r["treated_outcome"], r["holdout_outcome"]
    assert (t.size, t.converted, t.revenue) == (8, 3, Decimal("110.00"))
    assert (h.size, h.converted, h.revenue) == (2, 1, Decimal("40.00"))
    u = r["uplift"]
    assert u.status == "ok"
    assert u.conversion_diff == pytest.approx(3 / 8 - 1 / 2)
    low, high = u.conversion_diff_ci
    assert low < u.conversion_diff < high
    assert u.incremental_revenue == pytest.approx((110 / 8 - 40 / 2) * 8)
    assert "grupo de control" in u.explanation
    assert r["window_open"] is False


def test_window_still_open_is_reported(launched):
    campaign, _treated, _holdout = launched
    r = campaign_results(campaign, now=LAUNCH + timedelta(days=3))
    assert r["window_open"] is True
    assert r["window_ends"] == SENT + timedelta(days=14)


def test_coupon_redemptions(launched):
    campaign, treated, _holdout = launched
    coupon = treated[0].coupon
    CouponRedemption.objects.create(coupon=coupon, customer_id=treated[0].customer_id, order_reference="x",
                                    discount=Decimal("5.00"), redeemed_at=LAUNCH + timedelta(days=1))
    r = campaign_results(campaign, now=LAUNCH + timedelta(days=30))
    assert (r["coupons_issued"], r["coupons_redeemed"], r["coupon_discount"]) == (8, 1, Decimal("5.00"))
