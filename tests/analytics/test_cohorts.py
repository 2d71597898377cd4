"""Cohort retention matrix (by hand)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fideliza.analytics import cohorts


def _tx(rows):
    return pl.DataFrame(rows, schema=["customer_id", "ts", "amount"], orient="row").with_columns(
        pl.col("ts").cast(pl.Datetime("us"))
    )


TX = _tx(
    [
        ("a", dt.datetime(2024, 1, 3), 10.0),
        ("b", dt.datetime(2024, 1, 20), 20.0),
        ("a", dt.datetime(2024, 2, 1), 5.0),
        ("c", dt.datetime(2024, 2, 10), 7.0),
        ("b", dt.datetime(2024, 3, 1), 8.0),
        ("a", dt.datetime(2024, 3, 2), 1.0),
        ("a", dt.datetime(2024, 3, 9), 1.0),
    ]
)


def test_monthly_cohorts_by_hand():
    out = cohorts.cohort_retention(TX, as_of=dt.date(2024, 4, 15))
    jan = out.filter(pl.col("cohort") == dt.date(2024, 1, 1))
    assert jan["period_index"].to_list() == [0, 1, 2, 3]
    assert jan["cohort_size"].to_list() == [2, 2, 2, 2]
    assert jan["active"].to_list() == [2, 1, 2, 0]
    assert jan["retention"].to_list() == [1.0, 0.5, 1.0, 0.0]
    assert jan["revenue"].to_list() == [30.0, 5.0, 10.0, 0.0]
    assert jan["cumulative_revenue_per_customer"].to_list() == [15.0, 17.5, 22.5, 22.5]
    feb = out.filter(pl.col("cohort") == dt.date(2024, 2, 1))
    assert feb["active"].to_list() == [1, 0, 0]
    matrix = cohorts.cohort_matrix(out)
    assert matrix.columns == ["cohort", "cohort_size", "0", "1", "2", "3"]
    assert matrix.row(1) == (dt.date(2024, 2, 1), 1, 1.0, 0.0, 0.0, None)
    assert cohorts.cohort_matrix(out, max_periods=1).columns == ["cohort", "cohort_size", "0", "1"]


def test_quarterly_and_yearly():
    q = cohorts.cohort_retention(TX, freq="1q")
    assert q.rows()[0][:4] == (dt.date(2024, 1, 1), 0, 3, 3)
    y = cohorts.cohort_retention(TX, freq="1y")
    assert y.height == 1 and y["retention"].item() == 1.0
    with pytest.raises(ValueError):
        cohorts.cohort_retention(TX, freq="1w")
