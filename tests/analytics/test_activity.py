"""Activity states relative to each customer's rhythm, reactivation lists."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fideliza.analytics import activity


def _tx(rows):
    return pl.DataFrame(rows, schema=["customer_id", "ts", "amount"], orient="row").with_columns(
        pl.col("ts").cast(pl.Datetime("us"))
    )


AS_OF = dt.date(2024, 6, 30)
TX = _tx(
    [
        # a: every 30 days, last 2024-06-20 -> 10 days since, gap 30 -> active
        ("a", dt.datetime(2024, 4, 21), 10.0),
        ("a", dt.datetime(2024, 5, 21), 10.0),
        ("a", dt.datetime(2024, 6, 20), 10.0),
        # b: gaps 10, 20, 10 days; last 2024-05-21
        ("b", dt.datetime(2024, 4, 11), 5.0),
        ("b", dt.datetime(2024, 4, 21), 5.0),
        ("b", dt.datetime(2024, 5, 11), 5.0),
        ("b", dt.datetime(2024, 5, 21), 5.0),
        # c: one purchase 2024-02-01 -> population gap = median(30, 10) = 20; 150 days -> lost
        ("c", dt.datetime(2024, 2, 1), 100.0),
        # d: two purchases the same day count once; one-time buyer, 100 days -> dormant (5x)
        ("d", dt.datetime(2024, 3, 22, 9), 1.0),
        ("d", dt.datetime(2024, 3, 22, 18), 1.0),
    ]
)


def test_states_by_hand():
    out = activity.activity_states(TX, as_of=AS_OF, min_gap_days=1)
    got = {r["customer_id"]: r for r in out.iter_rows(named=True)}
    assert got["a"]["gap_days"] == 30 and got["a"]["gap_source"] == "own"
    assert got["a"]["state"] == "active" and got["a"]["days_since_last"] == 10
    assert got["a"]["expected_next"] == dt.date(2024, 7, 20)
    # b: gaps 10, 20, 10 -> median 10; 40 days since -> overdue 4 -> dormant
    assert got["b"]["gap_days"] == 10 and got["b"]["overdue"] == 4.0
    assert got["b"]["state"] == "dormant"
    # population gap = median of own medians (30, 10) = 20
    assert got["c"]["gap_source"] == "population" and got["c"]["gap_days"] == 20
    assert got["c"]["days_since_last"] == 150 and got["c"]["state"] == "lost"
    assert got["d"]["purchase_days"] == 1
    assert got["d"]["days_since_last"] == 100 and got["d"]["state"] == "dormant"


def test_multipliers_and_floor():
    out = activity.activity_states(TX, as_of=AS_OF, multipliers=(2.0, 5.0, 10.0), min_gap_days=25)
    got = dict(zip(out["customer_id"], out["state"], strict=True))
    # floor 25: b gap 25 -> 40/25 = 1.6 -> active; c 150/25 = 6 -> dormant; d 4 -> at_risk
    assert got == {"a": "active", "b": "active", "c": "dormant", "d": "at_risk"}
    with pytest.raises(ValueError):
        activity.activity_states(TX, multipliers=(3.0, 2.0, 1.0))


def test_default_gap_when_nobody_repeats():
    tx = _tx([("a", dt.datetime(2024, 1, 1), 1.0), ("b", dt.datetime(2024, 6, 1), 1.0)])
    out = activity.activity_states(tx, as_of=AS_OF, default_gap_days=60)
    assert out["gap_source"].to_list() == ["default", "default"]
    assert out["state"].to_list() == ["dormant", "active"]  # 181/60 = 3.02 > 3; 29/60


def test_full_months_between():
    frame = pl.DataFrame(
        {
            "a": [dt.date(2024, 1, 15), dt.date(2024, 1, 31), dt.date(2023, 6, 30)],
            "b": [dt.date(2024, 3, 14), dt.date(2024, 2, 29), dt.date(2024, 6, 30)],
        }
    )
    got = frame.select(activity.full_months_between(pl.col("a"), pl.col("b"))).to_series()
    assert got.to_list() == [1, 0, 12]


def test_reactivation_years_and_months():
    tx = _tx(
        [
            ("a", dt.datetime(2024, 6, 1), 10.0),
            ("b", dt.datetime(2023, 6, 30), 50.0),  # exactly 1 year
            ("c", dt.datetime(2023, 7, 1), 80.0),  # 11 months
            ("d", dt.datetime(2021, 5, 1), 20.0),  # 3 years
            ("d", dt.datetime(2021, 1, 1), 20.0),
            ("e", dt.datetime(2015, 1, 1), 5.0),  # 9 years -> "5 or more"
            ("f", dt.datetime(2022, 6, 1), 90.0),  # 2 years
        ]
    )
    years = activity.reactivation_list(tx, as_of=AS_OF)
    assert years.select("customer_id", "bucket").rows() == [
        ("b", 1),
        ("f", 2),
        ("d", 3),
        ("e", 5),
    ]
    d = years.filter(pl.col("customer_id") == "d").row(0, named=True)
    assert d["orders"] == 2 and d["revenue"] == 40.0 and d["months_since_last"] == 37
    months = activity.reactivation_list(tx, as_of=AS_OF, unit="month", thresholds=(6, 12))
    # sorted by bucket, then revenue descending: c (11 months) in bucket 6
    assert months.select("customer_id", "bucket").rows() == [
        ("c", 6),
        ("f", 12),
        ("b", 12),
        ("d", 12),
        ("e", 12),
    ]
