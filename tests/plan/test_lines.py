"""The plan's lines on small shops: each equals a hand-written query; the dormant buckets
agree with the analytics core's reactivation list; a representative's lines hold only
their customers; a line registered by another app appears without editing the plan."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from django.urls import reverse

from fideliza.accounts.services import Actor
from fideliza.analytics.activity import reactivation_list
from fideliza.plan.lines import Line, line_get, line_register, line_unregister
from fideliza.plan.selectors import line_context, move_lines
from tests.factories.catalog import hardware_catalog
from tests.factories.customers import customer_make
from tests.factories.sales import order_make, return_make

from .conftest import NOW, at

pytestmark = pytest.mark.django_db


def _ids(key: str, user) -> set[int]:
    line = line_get(key)
    assert line is not None
    return set(line.customers(line_context(user)).values_list("pk", flat=True))


@pytest.fixture
def dormant(owner, rep, clock):
    """Last purchases on either side of each whole-year boundary (today is 15 June 2026)."""
    actor = Actor.of(owner)
    lasts = {"y1": date(2025, 6, 15), "m11": date(2025, 6, 16), "y1_11": date(2024, 6, 16), "y2": date(2024, 6, 15),
             "y4_11": date(2021, 6, 16), "y5": date(2021, 6, 15), "y3": date(2023, 6, 15)}
    people = {}
    for name, last in lasts.items():
        c = customer_make(actor=actor, first_name=name, account_executive=rep if name in ("y1", "y2") else None)
        order_make(c, placed_at=at(last.year, last.month, last.day, 23) - timedelta(days=400), total="10.00")
        order_make(c, placed_at=at(last.year, last.month, last.day, 23), total="25.00")
        people[name] = c
    return people


def test_dormant_buckets_are_whole_years_as_the_analytics_count_them(dormant, owner):
    pk = {name: c.pk for name, c in dormant.items()}
    assert _ids("dormant_1_2", owner) == {pk["y1"], pk["y1_11"]}
    assert _ids("dormant_2_3", owner) == {pk["y2"]}
    assert _ids("dormant_3_5", owner) == {pk["y3"], pk["y4_11"]}
    # The same buckets from the analytics core, on the same purchases.
    rows = [(c.pk, order.placed_at.astimezone(NOW.tzinfo).replace(tzinfo=None), float(order.total))
            for c in dormant.values() for order in c.orders.all()]
    frame = pl.DataFrame(rows, schema={"customer_id": pl.Int64, "ts": pl.Datetime, "amount": pl.Float64},
                         orient="row")
    core = reactivation_list(frame, as_of=NOW.date(), thresholds=(1, 2, 3, 5), margin_col=None, order_col=None)
    buckets = {b: set(core.filter(pl.col("bucket") == b)["customer_id"].to_list()) for b in (1, 2, 3)}
    assert buckets == {1: _ids("dormant_1_2", owner), 2: _ids("dormant_2_3", owner), 3: _ids("dormant_3_5", owner)}


def test_a_representative_sees_only_their_customers_in_every_line(dormant, owner, rep, client):
    assert _ids("dormant_1_2", rep) == {dormant["y1"].pk}
    assert _ids("dormant_3_5", rep) == set()
    counts = {row.line.key: row.count for row in move_lines(move="reactivacion", user=rep)}
    assert counts["dormant_1_2"] == 1 and counts["dormant_2_3"] == 1
    client.force_login(rep)
    page = client.get(reverse("plan:line", args=["dormant_1_2"])).content.decode()
    assert "y1" in page and "y1_11" not in page
    move = client.get(reverse("web:move", kwargs={"slug": "reactivacion"})).content.decode()
    assert "1 cliente que no compra hace 1–2 años" in move


def test_returns_one_category_and_birthdays(owner, clock):
    actor = Actor.of(owner)
    shop = hardware_catalog()
    only_tools = customer_make(actor=actor, first_name="Herramientas")
    order_make(only_tools, placed_at=at(2026, 3, 1), items=[(shop["hammer"], 1)])
    order_make(only_tools, placed_at=at(2026, 5, 1), items=[(shop["hammer"], 2)])
    two = customer_make(actor=actor, first_name="Dos")
    order_make(two, placed_at=at(2026, 5, 2), items=[(shop["hammer"], 1), (shop["paint"], 1)])
    old = customer_make(actor=actor, first_name="Antiguo")  # one category, but not in the last 12 months
    order_make(old, placed_at=at(2025, 5, 1), items=[(shop["paint"], 1)])
    assert _ids("one_category", owner) == {only_tools.pk}
    returned = order_make(two, placed_at=at(2026, 6, 1), items=[(shop["drill"], 1)])
    return_make(returned, returned_at=at(2026, 6, 3), line_quantities={1: 1})
    long_ago = order_make(old, placed_at=at(2025, 5, 2), items=[(shop["paint"], 1)])
    return_make(long_ago, returned_at=at(2025, 5, 20), line_quantities={1: 1})
    assert _ids("returned_recently", owner) == {two.pk}
    soon = customer_make(actor=actor, first_name="Cumple", birth_date=date(1980, 6, 21))
    customer_make(actor=actor, first_name="Tarde", birth_date=date(1980, 6, 22))
    assert _ids("birthdays_week", owner) == {soon.pk}


def test_another_app_registers_its_own_line(owner, clock, client):
    actor = Actor.of(owner)
    vip = customer_make(actor=actor, first_name="Queja", last_name="Abierta")
    line_register(Line(key="late_complaints", move="recuperacion", singular="%(n)s queja fuera de plazo",
                       plural="%(n)s quejas fuera de plazo", action="Responder la queja", how="Prueba.",
                       customers=lambda ctx: ctx.base.filter(pk=vip.pk), order=5))
    try:
        client.force_login(owner)
        page = client.get(reverse("web:move", kwargs={"slug": "recuperacion"})).content.decode()
        assert "1 queja fuera de plazo" in page and reverse("plan:line", args=["late_complaints"]) in page
    finally:
        line_unregister("late_complaints")
    assert line_get("late_complaints") is None


def test_the_move_page_makes_no_query_per_customer(owner, clock, client):
    """The same number of queries for 3 and for 30 dormant customers (one COUNT per line)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    actor = Actor.of(owner)
    client.force_login(owner)
    url = reverse("web:move", kwargs={"slug": "reactivacion"})

    def add(n: int) -> None:
        for i in range(n):
            c = customer_make(actor=actor, first_name=f"Dormida{i}")
            order_make(c, placed_at=at(2024, 12, 1), total="20.00")

    add(3)
    client.get(url)  # warm the per-process ABC list
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add(27)
    client.get(url)
    with CaptureQueriesContext(connection) as many:
        assert "30 clientes que no compran hace 1–2 años" in client.get(url).content.decode()
    assert len(many) == len(few)
