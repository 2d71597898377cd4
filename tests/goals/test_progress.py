"""Retention goals: each measure equals a hand computation on a small business, for the
whole business, one representative and one store; an NPS goal says «sin datos» until a
survey app provides the NPS (then it shows it)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from fideliza.accounts.services import Actor
from fideliza.goals.models import GoalMetric, PeriodKind
from fideliza.goals.providers import NpsFigure, nps_provider_clear, nps_provider_register
from fideliza.goals.selectors import goal_progress, goals_progress
from fideliza.goals.services import goal_create
from fideliza.insights.services import snapshot_recompute
from tests.factories.customers import customer_make
from tests.factories.sales import order_make, order_row_without_hooks, store_make

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 6, 15, 11, 0, tzinfo=TZ)
JUNE = date(2026, 6, 1)


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 12, 0, tzinfo=TZ)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def rep(django_user_model):
    return django_user_model.objects.create_user(username="comercial1", password="clave-segura-1",
                                                 role="sales_rep", first_name="Javier")


@pytest.fixture
def shop(owner, rep, clock):
    """Seven customers; c1 and c2 are the representative's; S2 is a second store.

    May 2026 buyers: c1, c2, c3. June (to the 15th): c1, c3 (at S2), c4 (back after 2024),
    c5 (new, 9,000 €), c6 (bought in August 2025). c7 orders tomorrow (not counted).
    """
    actor = Actor.of(owner)
    s2 = store_make("S2", "Tienda Norte")
    c = {n: customer_make(actor=actor, first_name=f"C{n}", account_executive=rep if n in (1, 2) else None)
         for n in range(1, 8)}
    order_make(c[1], placed_at=at(2026, 5, 10), total="100.00")
    order_make(c[1], placed_at=at(2026, 6, 5), total="300.00")
    order_make(c[2], placed_at=at(2026, 5, 20), total="50.00")
    order_make(c[3], placed_at=at(2026, 5, 3), total="80.00", store=s2)
    order_make(c[3], placed_at=at(2026, 6, 10), total="120.00", store=s2)
    order_make(c[4], placed_at=at(2024, 3, 1), total="40.00")
    order_make(c[4], placed_at=at(2026, 6, 12), total="60.00")
    order_make(c[5], placed_at=at(2026, 6, 14), total="9000.00")
    order_make(c[6], placed_at=at(2025, 8, 1), total="30.00")
    order_make(c[6], placed_at=at(2026, 6, 2), total="20.00")
    order_row_without_hooks(c[7], placed_at=at(2026, 6, 16), total="500.00")
    snapshot_recompute(as_of=NOW.date())
    return {"customers": c, "s2": s2}


def _goal(owner, metric: str, target: str, **scope):
    return goal_create(user=owner, metric=metric, period_kind=PeriodKind.MONTH, period_start=JUNE,
                       target=Decimal(target), **scope)


def test_each_measure_equals_the_hand_computation(shop, owner):
    # May buyers {c1, c2, c3}; back in June: {c1, c3}.
    retention = goal_progress(_goal(owner, GoalMetric.RETENTION_RATE, "60"), viewer=owner)
    assert retention.value == Decimal("66.7") and retention.figures == "2 ÷ 3" and retention.status == "met"
    churn = goal_progress(_goal(owner, GoalMetric.CHURN_RATE, "20"), viewer=owner)
    assert churn.value == Decimal("33.3") and churn.figures == "1 ÷ 3" and churn.status == "behind"
    assert "mayo de 2026" in churn.formula and retention.partial
    # Bought in June, bought before, nothing in the 365 days before 1 June: only c4.
    reactivated = goal_progress(_goal(owner, GoalMetric.REACTIVATED, "2"), viewer=owner)
    assert reactivated.value == 1 and reactivated.status == "behind" and reactivated.share == 0.5
    # June: 300 + 120 + 60 + 9000 + 20 = 9,500 € over 5 buyers (c7's order of tomorrow is not in).
    average = goal_progress(_goal(owner, GoalMetric.AVERAGE_PURCHASE, "1500"), viewer=owner)
    assert average.value == Decimal("1900.00") and average.status == "met"
    assert "9500,00" in average.figures.replace(".", "").replace("\xa0", "") and average.figures.endswith("÷ 5")
    # Last 12 months: c5 9,000 of 9,760 € (92 %) is alone class A.
    class_a = goal_progress(_goal(owner, GoalMetric.CLASS_A, "3"), viewer=owner)
    assert class_a.value == 1 and "último cálculo" in class_a.formula


def test_a_representatives_goal_counts_their_customers_and_a_stores_goal_its_orders(shop, owner, rep):
    mine = _goal(owner, GoalMetric.RETENTION_RATE, "50", sales_rep=rep)
    progress = goal_progress(mine, viewer=rep)
    assert (progress.value, progress.figures) == (Decimal("50.0"), "1 ÷ 2")  # c1 back, c2 not
    assert goal_progress(mine, viewer=owner).value == Decimal("50.0")
    average = goal_progress(_goal(owner, GoalMetric.AVERAGE_PURCHASE, "1", sales_rep=rep), viewer=rep)
    assert average.value == Decimal("300.00")
    store = goal_progress(_goal(owner, GoalMetric.RETENTION_RATE, "90", store=shop["s2"]), viewer=owner)
    assert (store.value, store.figures) == (Decimal("100.0"), "1 ÷ 1")  # c3, both times at S2
    # A business-wide goal seen by the representative covers only what they may see.
    whole = _goal(owner, GoalMetric.REACTIVATED, "1")
    assert goal_progress(whole, viewer=rep).value == 0
    # The representative's page lists only their own goals.
    assert {p.goal.pk for p in goals_progress(viewer=rep)} == {mine.pk, average.goal.pk}


def test_an_nps_goal_says_sin_datos_until_surveys_provide_it(shop, owner, client):
    goal = _goal(owner, GoalMetric.NPS, "40")
    progress = goal_progress(goal, viewer=owner)
    assert progress.value is None and progress.status == "no_data" and progress.shown == "sin datos"
    client.force_login(owner)
    page = client.get(reverse("goals:list"))
    assert page.status_code == 200 and "sin datos" in page.content.decode()
    seen = {}

    def provider(*, since, until, customers):
        seen["customers"] = set(customers.values_list("pk", flat=True))
        return NpsFigure(promoters=5, passives=3, detractors=2)

    nps_provider_register(provider)
    try:
        progress = goal_progress(goal, viewer=owner)
    finally:
        nps_provider_clear()
    assert progress.value == Decimal("30.0") and progress.status == "behind"
    assert seen["customers"] == {c.pk for c in shop["customers"].values()}


def test_goals_are_validated_field_by_field(shop, owner, rep):
    with pytest.raises(ValidationError) as err:
        goal_create(user=owner, metric=GoalMetric.RETENTION_RATE, period_kind=PeriodKind.MONTH,
                    period_start=date(2026, 6, 2), target=Decimal("120"))
    assert set(err.value.message_dict) == {"period_start", "target"}
    _goal(owner, GoalMetric.CHURN_RATE, "10")
    with pytest.raises(ValidationError):
        _goal(owner, GoalMetric.CHURN_RATE, "12")  # one goal per measure, period and scope
    with pytest.raises(ValidationError) as err:
        _goal(owner, GoalMetric.REACTIVATED, "2.5", sales_rep=owner)
    assert set(err.value.message_dict) == {"sales_rep", "target"}


def test_goals_page_editing_is_for_owner_and_marketing(shop, owner, rep, client):
    client.force_login(rep)
    assert client.get(reverse("goals:create")).status_code == 403
    assert client.get(reverse("goals:list")).status_code == 200
    client.force_login(owner)
    response = client.post(reverse("goals:create"), {
        "metric": "retention_rate", "period_kind": "quarter", "period_day": "2026-05-20", "target": "70",
        "store": "", "sales_rep": "", "notes": "Segundo trimestre"})
    assert response.status_code == 302
    page = client.get(reverse("goals:list")).content.decode()
    assert "T2 2026" in page and "Fórmula:" in page and "Registrados" in page  # the funnel beside
    response = client.post(reverse("goals:create"), {
        "metric": "retention_rate", "period_kind": "quarter", "period_day": "2026-04-02", "target": "70"})
    assert response.status_code == 200 and "Ya hay una meta" in response.content.decode()


def test_an_nps_goal_reads_the_surveys_answers_of_its_customers_and_period(shop, owner, rep):
    """The surveys app is the NPS source: the answers of June by the goal's customers (a
    representative's goal: only theirs), hand-computed."""
    from fideliza.surveys.models import Response
    from fideliza.surveys.services import survey_from_template

    survey = survey_from_template(actor=Actor.of(owner), template="nps", name="NPS de junio")
    c = shop["customers"]

    def answer(customer, score, when):
        Response.objects.create(survey=survey, customer=customer, channel="email", started_at=when, nps=score)

    answer(c[1], 10, at(2026, 6, 3))   # promoter, the representative's
    answer(c[2], 4, at(2026, 6, 4))    # detractor, the representative's
    answer(c[3], 9, at(2026, 6, 5))    # promoter
    answer(c[4], 7, at(2026, 6, 6))    # passive
    answer(c[5], 10, at(2026, 5, 20))  # May: another period
    whole = goal_progress(_goal(owner, GoalMetric.NPS, "40"), viewer=owner)
    assert whole.value == Decimal("25.0")  # (2 promoters − 1 detractor) / 4 answers
    mine = goal_progress(_goal(owner, GoalMetric.NPS, "40", sales_rep=rep), viewer=rep)
    assert mine.value == Decimal("0.0")     # (1 − 1) / 2
