"""RFM values, quantile scores, grid segments, monthly history and movement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from fideliza.analytics import rfm


def _tx(rows):
    return pl.DataFrame(rows, schema=["customer_id", "ts", "amount"], orient="row").with_columns(
        pl.col("ts").cast(pl.Datetime("us"))
    )


# Five customers, observation end 2024-03-31.
TX = _tx(
    [
        ("a", dt.datetime(2024, 3, 30, 10), 100.0),
        ("a", dt.datetime(2024, 3, 1, 9), 100.0),
        ("a", dt.datetime(2024, 2, 1, 9), 100.0),
        ("b", dt.datetime(2024, 3, 20, 18), 50.0),
        ("b", dt.datetime(2024, 1, 5, 12), 30.0),
        ("c", dt.datetime(2024, 1, 10, 8), 500.0),
        ("d", dt.datetime(2023, 6, 1, 8), 10.0),
        ("e", dt.datetime(2024, 3, 31, 23, 59), 20.0),
        ("e", dt.datetime(2024, 4, 2, 10), 999.0),  # after as_of: ignored
    ]
)


def test_rfm_values_by_hand():
    out = rfm.rfm_table(TX, as_of=dt.date(2024, 3, 31))
    got = {r["customer_id"]: r for r in out.iter_rows(named=True)}
    assert list(got) == ["a", "b", "c", "d", "e"]
    assert got["a"]["recency_days"] == 1 and got["a"]["frequency"] == 3
    assert got["a"]["monetary"] == 300.0
    assert got["b"]["recency_days"] == 11 and got["b"]["revenue"] == 80.0
    assert got["c"]["recency_days"] == 81
    assert got["d"]["recency_days"] == 304  # 2023-06-01 -> 2024-03-31
    assert got["e"]["recency_days"] == 0 and got["e"]["monetary"] == 20.0
    # n = 5, q = 5: each distinct value its own quintile.
    # recency 1,11,81,304,0 -> ranks (most recent best) e=5, a=4, b=3, c=2, d=1
    assert [got[c]["r_score"] for c in "abcde"] == [4, 3, 2, 1, 5]
    # frequency 3,2,1,1,1 -> rank_min: c,d,e = 1 -> score 1; b = 4 -> 4; a = 5 -> 5
    assert [got[c]["f_score"] for c in "abcde"] == [5, 4, 1, 1, 1]
    # monetary 300,80,500,10,20 -> ascending d,e,b,a,c
    assert [got[c]["m_score"] for c in "abcde"] == [4, 3, 5, 1, 2]
    assert got["a"]["rfm_score"] == "4-5-4"
    # a: R=4, FM=round((5+4)/2)=5 -> loyal; e: R=5, FM=round(1.5)=2 -> potential_loyal
    # b: R=3, FM=round(3.5)=4 -> loyal; c: R=2, FM=3 -> at_risk; d: R=1, FM=1 -> lost
    assert {c: got[c]["segment"] for c in "abcde"} == {
        "a": "loyal",
        "b": "loyal",
        "c": "at_risk",
        "d": "lost",
        "e": "potential_loyal",
    }


def test_monetary_mean_and_default_as_of():
    out = rfm.rfm_table(TX.filter(pl.col("amount") < 900), monetary="mean")
    b = out.filter(pl.col("customer_id") == "b").row(0, named=True)
    assert b["monetary"] == 40.0  # 80 / 2 orders
    assert b["recency_days"] == 11  # default as_of = last date, 2024-03-31


def test_order_id_counts_distinct_orders():
    tx = TX.with_columns(order_id=pl.Series([1, 1, 2, 3, 4, 5, 6, 7, 8]))
    out = rfm.rfm_table(tx, as_of=dt.date(2024, 3, 31))
    assert out.filter(pl.col("customer_id") == "a")["frequency"].item() == 2


def test_quantile_scores_ties_and_formula():
    v = np.array([5.0, 1.0, 1.0, 1.0, 2.0, 9.0, 9.0, 3.0, 4.0, 0.0])
    # sorted: 0,1,1,1,2,3,4,5,9,9 ; rank_min: 0->1, 1->2, 2->5, 3->6, 4->7, 5->8, 9->9
    # score = 1 + floor((rank_min - 1) * 5 / 10)
    expected = [1 + (r - 1) * 5 // 10 for r in [8, 2, 2, 2, 5, 9, 9, 6, 7, 1]]
    assert rfm.quantile_scores(v, 5).tolist() == expected
    assert rfm.quantile_scores(v, 5, descending=True).tolist()[9] == 5
    assert rfm.quantile_scores(np.array([]), 5).size == 0
    assert rfm.quantile_scores(np.array([7.0, 7.0, 7.0]), 5).tolist() == [1, 1, 1]


def test_grid_cells_and_other_q():
    assert rfm.segment_of(5, 5, 5) == "champions"
    assert rfm.segment_of(5, 1, 1) == "new"
    assert rfm.segment_of(4, 1, 1) == "promising"
    assert rfm.segment_of(3, 3, 3) == "need_attention"
    assert rfm.segment_of(3, 1, 2) == "about_to_sleep"
    assert rfm.segment_of(1, 5, 5) == "cannot_lose"
    assert rfm.segment_of(2, 3, 4) == "at_risk"
    assert rfm.segment_of(2, 1, 1) == "hibernating"
    assert rfm.segment_of(1, 1, 1) == "lost"
    # q = 3: score s -> ceil(5 s / 3): 1 -> 2, 2 -> 4, 3 -> 5
    assert rfm.segment_of(3, 3, 3, q=3) == "champions"
    assert rfm.segment_of(1, 1, 1, q=3) == "hibernating"
    assert set(rfm.DEFAULT_GRID.values()) == set(rfm.SEGMENTS)
    with pytest.raises(ValueError):
        rfm.segment_of(1, 1, 1, grid={(1, 1): "x"})


def test_decimal_money_stays_decimal():
    tx = TX.with_columns(pl.col("amount").cast(pl.Decimal(12, 2)))
    out = rfm.rfm_table(tx, as_of=dt.date(2024, 3, 31))
    assert isinstance(out.schema["revenue"], pl.Decimal)
    assert out.filter(pl.col("customer_id") == "b")["revenue"].item() == Decimal("80.00")


def test_tz_aware_timestamps_use_local_dates():
    tx = pl.DataFrame(
        {
            "customer_id": ["a", "b"],
            "ts": [dt.datetime(2024, 3, 31, 23, 30), dt.datetime(2024, 3, 30, 12)],
            "amount": [1.0, 2.0],
        }
    ).with_columns(pl.col("ts").dt.replace_time_zone("America/Argentina/Buenos_Aires"))
    out = rfm.rfm_table(tx, as_of=dt.datetime(2024, 4, 1, 2, 0, tzinfo=dt.UTC))
    # 02:00 UTC on 1 April is 23:00 on 31 March in Buenos Aires.
    assert out["recency_days"].to_list() == [0, 1]


def test_history_matches_point_in_time_tables():
    rng = np.random.default_rng(3)
    n = 400
    tx = pl.DataFrame(
        {
            "customer_id": rng.integers(0, 60, n),
            "ts": np.datetime64("2023-01-01") + rng.integers(0, 500, n).astype("timedelta64[D]"),
            "amount": rng.integers(1, 50, n).astype(float),
        }
    ).with_columns(pl.col("ts").cast(pl.Datetime("us")))
    hist = rfm.rfm_history(tx, start=dt.date(2023, 6, 1), end=dt.date(2024, 3, 31))
    ends = hist["period_end"].unique().sort().to_list()
    assert ends[0] == dt.date(2023, 6, 30) and ends[-1] == dt.date(2024, 3, 31)
    assert len(ends) == 10
    for month_end in (dt.date(2023, 6, 30), dt.date(2023, 12, 31), dt.date(2024, 3, 31)):
        point = rfm.rfm_table(tx, as_of=month_end).drop("first_purchase", "last_purchase")
        at = hist.filter(pl.col("period_end") == month_end).drop("period_end")
        assert at.equals(point.select(at.columns))


def test_history_decimal_and_mean():
    tx = TX.filter(pl.col("amount") < 900).with_columns(pl.col("amount").cast(pl.Decimal(10, 2)))
    hist = rfm.rfm_history(tx, end=dt.date(2024, 3, 31), monetary="mean")
    row = hist.filter(
        (pl.col("period_end") == dt.date(2024, 2, 29)) & (pl.col("customer_id") == "a")
    )
    assert row["revenue"].item() == Decimal("100.00")
    assert row["recency_days"].item() == 28
    assert isinstance(hist.schema["revenue"], pl.Decimal)
    empty = rfm.rfm_history(tx, start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 15))
    assert empty.height == 0 and "segment" in empty.columns


def test_movement_matrix():
    before = pl.DataFrame({"customer_id": [1, 2, 3], "segment": ["new", "new", "lost"]})
    after = pl.DataFrame({"customer_id": [1, 2, 3, 4], "segment": ["loyal", "new", "lost", "new"]})
    m = rfm.segment_movement(before, after)
    got = {(r["from_segment"], r["to_segment"]): r["customers"] for r in m.iter_rows(named=True)}
    assert got == {("lost", "lost"): 1, ("new", "loyal"): 1, ("new", "new"): 1, ("none", "new"): 1}
    assert m.filter(pl.col("from_segment") == "new")["share_of_from"].to_list() == [0.5, 0.5]
    mv = rfm.rfm_movement(TX, from_date=dt.date(2024, 1, 31), to_date=dt.date(2024, 3, 31))
    assert mv["customers"].sum() == 5
    assert mv.filter(pl.col("from_segment") == "none")["customers"].sum() == 2  # a and e


def test_rfm_scores_of_aggregated_table_match_rfm_table():
    full = rfm.rfm_table(TX, as_of=dt.date(2024, 3, 31))
    scored = rfm.rfm_scores(full.select("customer_id", "recency_days", "frequency", "monetary"))
    assert scored["segment"].to_list() == full["segment"].to_list()
    assert scored["rfm_score"].to_list() == full["rfm_score"].to_list()
