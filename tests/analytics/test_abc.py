"""Pareto curve and summary, ABC classes, year-over-year transitions, dormant customers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from fideliza.analytics import abc


def _tx(rows):
    return pl.DataFrame(
        rows, schema=["customer_id", "ts", "amount", "margin"], orient="row"
    ).with_columns(pl.col("ts").cast(pl.Datetime("us")))


D23 = dt.datetime(2023, 5, 1)
D24 = dt.datetime(2024, 5, 1)
# 2023: a 50, b 30, c 10, d 10 (total 100). 2024: b 60, e 40, a 5, f 0 (only a return).
TX = _tx(
    [
        ("a", D23, 50.0, 10.0),
        ("b", D23, 30.0, -5.0),
        ("c", D23, 10.0, 3.0),
        ("d", D23, 10.0, 0.0),
        ("x", dt.datetime(2021, 1, 1), 5.0, 1.0),
        ("b", D24, 60.0, 20.0),
        ("e", D24, 40.0, 8.0),
        ("a", D24, 5.0, 1.0),
        ("f", dt.datetime(2022, 1, 1), 10.0, 1.0),
        ("f", D24, 0.0, 0.0),
        ("x", D24, 2.0, 0.5),
    ]
)


def test_abc_classes_by_hand():
    out = abc.abc_classes(TX, start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31))
    got = dict(zip(out["customer_id"], out["abc_revenue"], strict=True))
    # priors: a 0 -> A, b 0.5 -> A, c and d (tied) 0.8 -> B
    assert got == {"a": "A", "b": "A", "c": "B", "d": "B"}
    assert out["revenue_cum_share"].to_list() == [0.5, 0.8, 1.0, 1.0]
    # margin: a 10, c 3, d 0, b -5; positive total 13: a prior 0 -> A, c 10/13 -> A
    gotm = dict(zip(out["customer_id"], out["abc_margin"], strict=True))
    assert gotm == {"a": "A", "b": "N", "c": "A", "d": "N"}
    folded = abc.abc_classes(
        TX, basis="margin", nonpositive="C", start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31)
    )
    assert folded.filter(pl.col("customer_id") == "b")["abc_margin"].item() == "C"
    assert "abc_revenue" not in folded.columns


def test_custom_cutoffs_and_by_year():
    out = abc.abc_classes(TX, basis="revenue", cutoffs=(0.5, 0.9), by_year=True)
    y23 = out.filter(pl.col("year") == 2023)
    # priors a 0 -> A; b 0.5 (not < 0.5) -> B; c, d 0.8 -> B
    assert dict(zip(y23["customer_id"], y23["abc_revenue"], strict=True)) == {
        "a": "A",
        "b": "B",
        "c": "B",
        "d": "B",
    }
    y24 = out.filter(pl.col("year") == 2024)
    # 2024: b 60, e 40, a 5, x 2, f 0 -> total 107; priors 0, .561, .935, .981
    assert dict(zip(y24["customer_id"], y24["abc_revenue"], strict=True)) == {
        "a": "C",
        "b": "A",
        "e": "B",
        "f": "N",
        "x": "C",
    }
    with pytest.raises(ValueError):
        abc.abc_classes(TX, cutoffs=(0.9, 0.5))


def test_abc_summary_shares():
    classes = abc.abc_classes(TX, by_year=True)
    s = abc.abc_summary(classes).filter(pl.col("year") == 2023)
    assert s["abc_class"].to_list() == ["A", "B"]
    assert s["customers"].to_list() == [2, 2]
    assert s["value_share"].to_list() == [0.8, 0.2]
    assert s["customer_share"].to_list() == [0.5, 0.5]


def test_pareto_curve_and_summary():
    tx = _tx([(c, D24, v, v) for c, v in zip("abcde", [50.0, 20.0, 20.0, 10.0, 0.0], strict=True)])
    curve = abc.pareto_curve(tx, points=5, basis="revenue")
    assert curve["customer_share"].to_list() == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert curve["revenue_share"].to_list() == [0.0, 0.5, 0.7, 0.9, 1.0, 1.0]
    summary = abc.pareto_summary(tx, target=0.8, top=0.2)
    rev = summary.filter(pl.col("basis") == "revenue").row(0, named=True)
    assert rev["customers"] == 5 and rev["customers_with_value"] == 4
    assert rev["value_share_of_top"] == 0.5
    assert rev["customers_for_target"] == 3  # 50 + 20 + 20 = 90 >= 80
    assert rev["customer_share_for_target"] == 0.6
    assert rev["negative_total"] is None or rev["negative_total"] == 0


def test_pareto_with_negative_margin_is_monotone():
    tx = _tx([("a", D24, 10.0, 8.0), ("b", D24, 10.0, -4.0), ("c", D24, 10.0, 2.0)])
    curve = abc.pareto_curve(tx, points=3, basis="margin")
    assert curve["margin_share"].to_list() == [0.0, 0.8, 1.0, 1.0]
    s = abc.pareto_summary(tx, basis="margin").row(0, named=True)
    assert s["total"] == 6.0 and s["negative_total"] == -4.0


def test_transitions_calendar_year():
    t = abc.abc_transitions(TX, year=2024)
    got = {r["customer_id"]: (r["from_class"], r["to_class"]) for r in t.iter_rows(named=True)}
    assert got == {
        "a": ("A", "B"),  # 2024 prior of a = 100/107 = 0.935 < 0.95
        "b": ("A", "A"),
        "c": ("B", "absent"),
        "d": ("B", "absent"),
        "e": ("new", "A"),
        "f": ("absent", "N"),  # bought in 2022, not in 2023
        "x": ("absent", "C"),
    }
    a = t.filter(pl.col("customer_id") == "a").row(0, named=True)
    assert a["change"] == -45.0 and a["last_purchase"] == dt.date(2024, 5, 1)
    m = abc.abc_transition_matrix(t)
    assert m.select("from_class", "to_class", "customers").rows() == [
        ("A", "A", 1),
        ("A", "B", 1),
        ("B", "absent", 2),
        ("absent", "C", 1),
        ("absent", "N", 1),
        ("new", "A", 1),
    ]
    b_absent = m.filter(pl.col("from_class") == "B").row(0, named=True)
    assert b_absent["previous_value"] == 20.0 and b_absent["current_value"] == 0.0
    dormant = abc.dormant_customers(t)
    assert dormant["customer_id"].to_list() == ["a"]
    wider = abc.dormant_customers(t, from_classes=("A", "B"))
    assert wider["customer_id"].to_list() == ["a", "c", "d"]


def test_transitions_rolling_twelve_months():
    t = abc.abc_transitions(TX, as_of=dt.date(2024, 4, 30))
    # current window 2023-05-01..2024-04-30 holds the 2023 purchases; previous holds none
    got = dict(zip(t["customer_id"], t["from_class"], strict=True))
    assert got["a"] == "new"
    assert "f" not in got and "x" not in got  # no purchase in either window
    assert t.filter(pl.col("customer_id") == "a")["to_class"].item() == "A"


def test_decimal_values_stay_decimal():
    tx = TX.with_columns(pl.col("amount", "margin").cast(pl.Decimal(10, 2)))
    out = abc.abc_classes(tx, start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31))
    assert out["revenue"].to_list()[0] == Decimal("50.00")
    s = abc.abc_summary(out)
    assert isinstance(s.schema["value"], pl.Decimal)
    assert s.schema["value_share"] == pl.Float64


def test_abc_classify_customer_table():
    values = pl.DataFrame({"customer_id": [1, 2, 3, 4], "clv": [50.0, 30.0, 15.0, -1.0]})
    out = abc.abc_classify(values, basis="clv")
    # positive total 95: priors 0, 50/95 = 0.53, 80/95 = 0.84 -> A, A, B; -1 -> N
    assert out["abc_clv"].to_list() == ["A", "A", "B", "N"]
