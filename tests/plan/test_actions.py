"""One-click actions on a line: exactly the line's customers get a follow-up (origin: the
plan) or land in the segment; a second click in the same week adds only customers who
entered the list since (what we chose for idempotency); a representative's click covers
only their customers; «preparar una campaña» opens the campaign form on that segment."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from fideliza.accounts.models import Role
from fideliza.accounts.services import Actor
from fideliza.campaigns.permissions import can_edit_campaigns
from fideliza.followups.models import FollowUp
from fideliza.plan.lines import line_get
from fideliza.plan.models import LineAction, PlanItem
from fideliza.plan.services import followup_due, line_followups_create, line_segment_save
from fideliza.plan.views import can_edit_campaigns as plan_can_edit_campaigns
from fideliza.segments.models import Segment, SegmentMember
from tests.factories.customers import customer_make
from tests.factories.sales import order_make

from .conftest import NOW, TZ, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def sleepers(owner, rep, rep2, clock):
    """Four customers whose last purchase is 18 months old: two of rep's, one of rep2's, one of nobody."""
    actor = Actor.of(owner)
    people = [customer_make(actor=actor, first_name=f"Dormido{n}", account_executive=ae)
              for n, ae in enumerate((rep, rep, rep2, None))]
    for c in people:
        order_make(c, placed_at=at(2024, 12, 10), total="40.00")
    return people


def _plan_followups() -> set[tuple[int, int | None]]:
    return set(FollowUp.objects.filter(origin_kind="plan").values_list("customer_id", "assignee_id"))


def test_followups_are_created_once_per_customer_and_week(sleepers, owner, rep, rep2, clock):
    line = line_get("dormant_1_2")
    assert line is not None
    action, created = line_followups_create(actor=Actor.of(owner), line=line)
    assert created == 4
    # Each goes to the customer's account executive, else to whoever clicked.
    assert _plan_followups() == {(sleepers[0].pk, rep.pk), (sleepers[1].pk, rep.pk), (sleepers[2].pk, rep2.pk),
                                 (sleepers[3].pk, owner.pk)}
    f = FollowUp.objects.filter(origin_kind="plan").first()
    assert f is not None and f.origin_id == action.pk and f.title == "Llamar: ¿por qué no ha vuelto?"
    assert f.due_at == followup_due(NOW.date()) and f.due_at.astimezone(TZ).date() == date(2026, 6, 19)
    # Clicked twice: nothing new.
    assert line_followups_create(actor=Actor.of(owner), line=line)[1] == 0
    assert FollowUp.objects.filter(origin_kind="plan").count() == 4
    # A customer who enters the list later in the week gets theirs on the next click.
    late = customer_make(actor=Actor.of(owner), first_name="Nuevo")
    order_make(late, placed_at=at(2025, 1, 5), total="15.00")
    again, created = line_followups_create(actor=Actor.of(owner), line=line)
    assert (again.pk, created, again.customers) == (action.pk, 1, 5)
    # Next week: a new action, and a new follow-up for everyone still in the list.
    clock.shift(timedelta(days=7))
    assert line_followups_create(actor=Actor.of(owner), line=line)[1] == 5
    assert LineAction.objects.filter(line_key="dormant_1_2", kind="followups").count() == 2


def test_a_representatives_click_covers_only_their_customers(sleepers, rep, client):
    client.force_login(rep)
    response = client.post(reverse("plan:followups", args=["dormant_1_2"]))
    assert response.status_code == 302
    assert _plan_followups() == {(sleepers[0].pk, rep.pk), (sleepers[1].pk, rep.pk)}
    # Representatives may build segments (of their own customers), not campaigns.
    assert client.post(reverse("plan:campaign", args=["dormant_1_2"])).status_code == 403
    page = client.get(reverse("plan:line", args=["dormant_1_2"])).content.decode()
    assert "Preparar una campaña" not in page and "Dormido2" not in page and "Dormido3" not in page


def test_segment_holds_exactly_the_line_and_is_reused(sleepers, owner, clock):
    line = line_get("dormant_1_2")
    assert line is not None
    segment, added = line_segment_save(actor=Actor.of(owner), line=line)
    assert added == 4 and segment.kind == "static" and segment.member_count == 4
    members = set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))
    assert members == {c.pk for c in sleepers}
    same, added = line_segment_save(actor=Actor.of(owner), line=line)
    assert (same.pk, added) == (segment.pk, 0) and Segment.objects.count() == 1


def test_prepare_a_campaign_opens_the_form_on_the_segment(sleepers, owner, client):
    client.force_login(owner)
    response = client.post(reverse("plan:campaign", args=["dormant_1_2"]))
    segment = Segment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{reverse('campaigns:create')}?segment={segment.pk}"
    form = client.get(response["Location"])
    assert form.status_code == 200 and form.context["form"].initial["segment"] == segment.pk
    # A second click reuses the same list.
    client.post(reverse("plan:campaign", args=["dormant_1_2"]))
    assert Segment.objects.count() == 1


def test_plan_restates_the_campaign_editors_rule(django_user_model):
    for role in Role.values:
        user = django_user_model(username=role, role=role)
        assert plan_can_edit_campaigns(user) == can_edit_campaigns(user), role


def test_plan_items_are_edited_by_owner_and_their_status_by_whoever_owns_them(owner, rep, client, clock):
    client.force_login(owner)
    response = client.post(reverse("plan:item_create"), {
        "move": "reactivacion", "action": "Llamar a los dormidos", "when": "Cada lunes", "who": "Comerciales",
        "how": "Teléfono", "owner": rep.pk, "due_date": "2026-06-19", "status": "pending", "line_key": "dormant_1_2"})
    assert response.status_code == 302
    item = PlanItem.objects.get()
    page = client.get(reverse("web:move", kwargs={"slug": "reactivacion"})).content.decode()
    assert "Llamar a los dormidos" in page and "Cada lunes" in page
    assert client.post(reverse("plan:item_create"), {"move": "reactivacion", "action": "", "owner": rep.pk,
                                                     "due_date": "2026-06-19", "status": "pending"}).status_code == 200
    assert client.post(reverse("plan:item_edit", args=[item.pk]), {
        "move": "recuperacion", "action": "Llamar a los dormidos", "owner": rep.pk, "due_date": "2026-06-26",
        "status": "in_progress"}).status_code == 302
    item.refresh_from_db()
    assert (item.move, item.due_date, item.status, item.when) == ("recuperacion", date(2026, 6, 26), "in_progress", "")
    client.force_login(rep)
    assert client.get(reverse("plan:item_edit", args=[item.pk])).status_code == 403
    assert client.post(reverse("plan:item_status", args=[item.pk]), {"status": "done"}).status_code == 302
    item.refresh_from_db()
    assert item.status == "done"
    # The home «Hoy» block counts the plan.
    home = client.get("/").content.decode()
    assert 'id="today-plan"' in home and "clientes en la lista de la semana" in home


def test_a_customer_whose_executive_left_gets_the_follow_up_of_whoever_clicked(sleepers, owner, rep2, clock):
    rep2.is_active = False
    rep2.save(update_fields=["is_active"])
    line = line_get("dormant_1_2")
    assert line is not None
    line_followups_create(actor=Actor.of(owner), line=line)
    assert FollowUp.objects.get(origin_kind="plan", customer=sleepers[2]).assignee_id == owner.pk
