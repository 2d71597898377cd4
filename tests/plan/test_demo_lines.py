"""The six moves' lists on the demo business equal hand-written queries over the tables
(or, for the ABC ranking, a hand computation in Python), for the owner and for a sales
representative; the demo has goals and plan items; each page answers for every role.

The demo is built once for the module with the clock pinned on a Monday morning.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Q
from django.test import Client
from django.urls import reverse

from fideliza.accounts.models import User
from fideliza.complaints.models import Complaint
from fideliza.customers.models import Customer
from fideliza.demo.services import demo_populate
from fideliza.goals.models import RetentionGoal
from fideliza.insights.models import CustomerMetrics
from fideliza.interactions.models import Interaction
from fideliza.loyalty.models import PointLot, Program, Referral
from fideliza.plan.lines import lines_all
from fideliza.plan.models import PlanItem
from fideliza.plan.selectors import line_context
from fideliza.sales.models import Order, OrderLine, Return
from fideliza.surveys.models import Response

TZ = ZoneInfo("Europe/Madrid")
TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 11, 0, tzinfo=TZ)  # a Monday


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    with time_machine.travel(NOW, tick=False), django_db_blocker.unblock():
        try:
            demo_populate(customers=400, seed=7, years=5, today=TODAY, out_dir=tmp)
            yield
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def clock(demo):
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _current(user: User) -> set[int]:
    qs = Customer.objects.filter(merged_into__isnull=True, is_active=True)
    if user.is_sales_rep:
        qs = qs.filter(account_executive=user)
    return set(qs.values_list("pk", flat=True))


def _years_back(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _local(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def _class_a(revenue: dict[int, Decimal]) -> set[int]:
    """Class A by hand: a customer is A when the sales of those who sold strictly more are
    under 80 % of the total (ties share a class)."""
    total = sum(v for v in revenue.values() if v > 0)
    return {c for c, v in revenue.items() if v > 0 and sum(w for w in revenue.values() if w > v) < Decimal("0.8") * total}


def _hand() -> dict[str, set[int]]:
    """Every built-in line's customers, over all customers (visibility applied by the caller)."""
    out: dict[str, set[int]] = {}
    contacted = set(Interaction.objects.filter(occurred_at__gte=NOW - timedelta(days=30)).values_list("customer_id", flat=True))
    out["platinum_no_contact"] = set(CustomerMetrics.objects.filter(value_tier="platino")
                                     .values_list("customer_id", flat=True)) - contacted
    week = {((TODAY + timedelta(days=i)).month, (TODAY + timedelta(days=i)).day) for i in range(7)}
    out["birthdays_week"] = {pk for pk, born in Customer.objects.exclude(birth_date=None).values_list("pk", "birth_date")
                             if (born.month, born.day) in week}
    out["valuable_at_risk"] = set(CustomerMetrics.objects.filter(churn_band__in=["high", "critical"],
                                                                 value_tier__in=["platino", "oro"])
                                  .values_list("customer_id", flat=True))
    lots = Q()
    for program in Program.objects.filter(is_active=True, expiry_days__isnull=False):
        lots |= Q(member__program=program, expires_at__lte=NOW + timedelta(days=program.expiry_notice_days))
    out["points_expiring"] = set(PointLot.objects.filter(lots, points_remaining__gt=0, expires_at__gt=NOW)
                                 .values_list("member__customer_id", flat=True)) if lots else set()
    recent = set(Order.objects.filter(placed_at__gte=NOW - timedelta(days=365)).values_list("customer_id", flat=True))
    categories: dict[int, set[int]] = defaultdict(set)
    for customer_id, category_id in OrderLine.objects.exclude(product__category=None).values_list(
            "order__customer_id", "product__category_id"):
        categories[customer_id].add(category_id)
    out["one_category"] = {c for c in recent if len(categories.get(c, ())) == 1}
    referrers = set(Referral.objects.exclude(status="rejected").exclude(referrer=None)
                    .values_list("referrer__customer_id", flat=True))
    out["loyal_no_referrals"] = set(CustomerMetrics.objects.filter(rfm_segment__in=["champions", "loyal"])
                                    .values_list("customer_id", flat=True)) - referrers
    latest_nps: dict[int, int] = {}
    for customer_id, score in (Response.objects.filter(nps__isnull=False, customer__isnull=False)
                               .order_by("started_at", "pk").values_list("customer_id", "nps")):
        latest_nps[customer_id] = score  # the last one wins
    out["promoters_no_referrals"] = {c for c, score in latest_nps.items() if score >= 9} - referrers
    out["complaints_overdue"] = {c.customer_id for c in Complaint.objects.exclude(customer=None)
                                 if c.status in ("new", "in_progress", "waiting") and c.due_at is not None
                                 and c.due_at <= NOW}
    out["returned_recently"] = set(Return.objects.filter(returned_at__gte=NOW - timedelta(days=30))
                                   .values_list("order__customer_id", flat=True))
    last: dict[int, date] = {}
    for customer_id, placed in Order.objects.values_list("customer_id", "placed_at"):
        last[customer_id] = max(last.get(customer_id, date.min), _local(placed))
    for low, high in ((1, 2), (2, 3), (3, 5)):
        out[f"dormant_{low}_{high}"] = {c for c, d in last.items()
                                        if _years_back(TODAY, high) < d <= _years_back(TODAY, low)}
    # ABC by sales, net of refunds, in the 12 months before the last 12 and in the last 12.
    refunds: dict[int, Decimal] = defaultdict(Decimal)
    for order_id, amount in Return.objects.values_list("order_id", "refund_amount"):
        refunds[order_id] += amount
    windows = ((_years_back(TODAY, 2) + timedelta(days=1), _years_back(TODAY, 1)),
               (_years_back(TODAY, 1) + timedelta(days=1), TODAY))
    sales: list[dict[int, Decimal]] = [defaultdict(Decimal), defaultdict(Decimal)]
    for order_id, customer_id, placed, total in Order.objects.values_list("pk", "customer_id", "placed_at", "total"):
        net = total - refunds[order_id]
        if net <= 0 and refunds[order_id] > 0:
            continue  # refunded in full: not a purchase
        for i, (first, end) in enumerate(windows):
            if first <= _local(placed) <= end:
                sales[i][customer_id] += net
    out["a_dropped"] = _class_a(sales[0]) - _class_a(sales[1])
    return out


@pytest.mark.django_db
def test_every_line_equals_its_hand_written_query_for_each_role(clock):
    hand = _hand()
    assert set(hand) == {line.key for line in lines_all()}
    # The demo gives most lines something to show.
    assert sum(1 for ids in hand.values() if ids) >= 8, {k: len(v) for k, v in hand.items()}
    # The surveys' promoters and the complaints book's overdue complaints, from their demos.
    assert hand["promoters_no_referrals"] and hand["complaints_overdue"], {k: len(v) for k, v in hand.items()}
    for username in ("duena", "comercial1"):
        user = User.objects.get(username=username)
        visible = _current(user)
        ctx = line_context(user)
        for line in lines_all():
            got = set(line.customers(ctx).values_list("pk", flat=True))
            assert got == hand[line.key] & visible, (username, line.key, len(got), len(hand[line.key] & visible))
        if user.is_sales_rep:
            assert visible and visible != _current(User.objects.get(username="duena"))


@pytest.mark.django_db
def test_the_demo_has_goals_and_a_plan_and_every_page_answers(clock):
    assert RetentionGoal.objects.filter(period_start__year=2026, period_kind="year").count() >= 6
    assert RetentionGoal.objects.filter(period_kind="quarter", period_start=date(2026, 4, 1)).exists()
    assert RetentionGoal.objects.filter(period_kind="month", period_start=date(2026, 6, 1)).exists()
    assert set(PlanItem.objects.values_list("move", flat=True)) == {
        "relacion", "retencion", "rentabilizacion", "referenciacion", "recuperacion", "reactivacion"}
    for username in ("duena", "marketing", "comercial1", "soporte"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        for slug in ("relacion", "retencion", "rentabilizacion", "referenciacion", "recuperacion", "reactivacion"):
            page = client.get(reverse("web:move", kwargs={"slug": slug}))
            assert page.status_code == 200 and 'id="week-lines"' in page.content.decode(), (username, slug)
        goals = client.get(reverse("goals:list")).content.decode()
        assert "Fórmula:" in goals or (username == "soporte" and "Registrados" in goals)
        assert "sin datos" in goals or username.startswith("comercial")  # the NPS goal: no surveys yet
        for line in lines_all():
            assert client.get(reverse("plan:line", args=[line.key])).status_code == 200


@pytest.mark.django_db
def test_one_click_actions_on_the_demo_take_exactly_the_lines_customers(clock):
    from fideliza.accounts.services import Actor
    from fideliza.followups.models import FollowUp
    from fideliza.plan.lines import line_get
    from fideliza.plan.services import line_followups_create, line_segment_save
    from fideliza.segments.models import SegmentMember

    hand = _hand()
    rep = User.objects.get(username="comercial1")
    owner = User.objects.get(username="duena")
    line = line_get("platinum_no_contact")
    assert line is not None and hand[line.key]
    before = set(FollowUp.objects.filter(origin_kind="plan").values_list("pk", flat=True))
    _action, created = line_followups_create(actor=Actor.of(rep), line=line)
    mine = hand[line.key] & _current(rep)
    new = FollowUp.objects.filter(origin_kind="plan").exclude(pk__in=before)
    assert created == len(mine) and set(new.values_list("customer_id", flat=True)) == mine
    assert set(new.values_list("assignee_id", flat=True)) <= {rep.pk}
    _action, created = line_followups_create(actor=Actor.of(owner), line=line)
    everyone = hand[line.key] & _current(owner)
    assert created == len(everyone - mine)
    assert sorted(FollowUp.objects.filter(origin_kind="plan").exclude(pk__in=before)
                  .values_list("customer_id", flat=True)) == sorted(everyone)  # once each
    dormant = line_get("dormant_1_2")
    assert dormant is not None
    segment, _added = line_segment_save(actor=Actor.of(owner), line=dormant)
    assert set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True)) == \
        hand["dormant_1_2"] & _current(owner)
