import pytest
from django.test import Client
from django.urls import reverse

from fideliza.customers.models import ConsentRecord, Customer
from fideliza.segments.funnel import funnel, stage_customers
from fideliza.segments.services import segment_create

pytestmark = pytest.mark.django_db


def _by_hand() -> dict[str, set[int]]:
    stages, alive = {}, set()
    for c in Customer.objects.filter(is_active=True, merged_into__isnull=True):
        alive.add(c.pk)
    stages["registered"] = alive
    stages["identified"] = {c.pk for c in Customer.objects.filter(pk__in=alive)
                            if (c.first_name or c.last_name or c.company_name) and (c.email or c.phone)}
    stages["differentiated"] = {pk for pk in stages["identified"] if hasattr(Customer.objects.get(pk=pk), "metrics")}
    granted = set(ConsentRecord.objects.filter(status="granted").values_list("customer_id", flat=True))
    stages["interacted"] = {pk for pk in stages["differentiated"]
                            if Customer.objects.get(pk=pk).orders.exists() or pk in granted}
    return stages


def test_funnel_narrows_and_matches_hand_counts(shop, owner):
    # Give half the customers an e-mail so "identified" is a real cut.
    for c in shop["customers"][::2]:
        Customer.objects.filter(pk=c.pk).update(email=f"c{c.pk}@ejemplo.es")
    segment_create(user=owner, name="Con pedidos", rules={"op": "and", "rules": [
        {"field": "orders_count", "cmp": "gte", "value": 2}]})
    rows = {r["stage"].key: r for r in funnel()}
    hand = _by_hand()
    for key in ("registered", "identified", "differentiated", "interacted"):
        assert rows[key]["count"] == len(hand[key]), key
        assert set(stage_customers(key).values_list("pk", flat=True)) == hand[key]
    counts = [r["count"] for r in rows.values() if not r["stage"].side]
    assert counts == sorted(counts, reverse=True)  # a funnel only narrows
    assert rows["personalised"]["count"] == 0  # no message sent yet
    # A sent marketing message makes a segmented customer "personalised"; a queued one does not.
    from django.utils import timezone

    from fideliza.engagement.models import Message

    segmented = sorted(stage_customers("segmented").values_list("pk", flat=True))
    assert len(segmented) >= 2
    for pk, status in ((segmented[0], "sent"), (segmented[1], "queued")):
        Message.objects.create(customer_id=pk, channel="email", kind="marketing", source="test",
                               dedupe_key=f"t{pk}", address="x@ejemplo.es", status=status,
                               send_at=timezone.now())
    assert list(stage_customers("personalised").values_list("pk", flat=True)) == [segmented[0]]
    assert {r["stage"].key: r["count"] for r in funnel()}["personalised"] == 1
    repeat = set(stage_customers("repeat").values_list("pk", flat=True))
    assert repeat == {pk for pk in hand["interacted"] if Customer.objects.get(pk=pk).orders.count() >= 2}


def test_funnel_pages(shop, owner):
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("segments:funnel"))
    assert page.status_code == 200 and b"Registrados" in page.content
    assert client.get(reverse("segments:funnel_stage", args=["registered"])).status_code == 200
    assert client.get(reverse("segments:funnel_stage", args=["personalised"])).status_code == 200
