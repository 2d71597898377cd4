"""Period and segment metrics, customer metrics, CAC and share of wallet (by hand)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from fideliza.analytics import metrics


def _tx(rows):
    return pl.DataFrame(
        rows,
        schema=["customer_id", "ts", "amount", "margin", "product_id"],
        orient="row",
    ).with_columns(pl.col("ts").cast(pl.Datetime("us")))


# 2022: a.  2023: b, c, d.  2024: a (back), b (kept), e (new).
TX = _tx(
    [
        ("a", dt.datetime(2022, 3, 1), 50.0, 10.0, 1),
        ("b", dt.datetime(2023, 4, 1), 30.0, -5.0, 2),
        ("c", dt.datetime(2023, 5, 1), 10.0, 3.0, 1),
        ("d", dt.datetime(2023, 6, 1), 10.0, 0.0, 1),
        ("e", dt.datetime(2024, 1, 5), 40.0, 8.0, 2),
        ("a", dt.datetime(2024, 2, 1), 5.0, 1.0, 2),
        ("b", dt.datetime(2024, 3, 1), 60.0, 20.0, 3),
        ("a", dt.datetime(2024, 3, 5), 5.0, 1.0, 1),
    ]
)


def test_yearly_flows_by_hand():
    out = metrics.period_metrics(TX, freq="1y")
    assert out["period"].to_list() == [
        dt.date(2022, 1, 1),
        dt.date(2023, 1, 1),
        dt.date(2024, 1, 1),
    ]
    y24 = out.row(2, named=True)
    assert y24["customers_start"] == 3  # b, c, d bought in 2023
    assert (y24["retained"], y24["lost"], y24["new"], y24["reactivated"]) == (1, 2, 1, 1)
    assert y24["customers"] == 3
    assert y24["retention_rate"] == pytest.approx(1 / 3)
    assert y24["churn_rate"] == pytest.approx(2 / 3)
    assert y24["revenue"] == 110.0 and y24["margin"] == 30.0 and y24["orders"] == 4
    assert y24["average_purchase"] == pytest.approx(110 / 3)
    assert y24["average_order_value"] == 27.5
    assert y24["purchase_frequency"] == pytest.approx(4 / 3)
    # distinct products: e {2}, a {2, 1}, b {3} -> 4 / 3
    assert y24["products_per_customer"] == pytest.approx(4 / 3)
    assert y24["units_per_customer"] == pytest.approx(4 / 3)
    # a (reactivated) 10 + b (retained) 60 out of 110
    assert y24["recurring_revenue_share"] == pytest.approx(70 / 110)
    # lost c and d bought 10 + 10 in 2023 (margin 3 + 0)
    assert y24["churn_cost_revenue"] == 20.0 and y24["churn_cost_margin"] == 3.0
    # each: revenue up to 2023 = 10, years from 2023-01-01 to 2024-01-01 = 1
    assert y24["churn_cost_annual_revenue"] == pytest.approx(20.0)
    y23 = out.row(1, named=True)
    assert (y23["customers_start"], y23["lost"], y23["new"]) == (1, 1, 3)
    assert y23["churn_rate"] == 1.0 and y23["churn_cost_revenue"] == 50.0
    y22 = out.row(0, named=True)
    assert y22["customers_start"] == 0 and y22["retention_rate"] is None


def test_monthly_periods_include_empty_months():
    out = metrics.period_metrics(TX, freq="1mo", start=dt.date(2024, 1, 1))
    assert out["period"].to_list() == [dt.date(2024, m, 1) for m in (1, 2, 3)]
    feb = out.row(1, named=True)
    # January buyers: e. In February only a (reactivated): e lost
    assert (feb["customers_start"], feb["lost"], feb["reactivated"]) == (1, 1, 1)
    mar = out.row(2, named=True)
    # February buyer a buys again in March: retained; b reactivated
    assert (mar["retained"], mar["reactivated"], mar["lost"]) == (1, 1, 0)


def test_segments_add_up_to_totals():
    segs = pl.DataFrame({"customer_id": ["a", "b", "c", "d", "e"], "seg": list("xyxyx")})
    by_seg = metrics.period_metrics(TX, segments=segs, segment_col="seg")
    total = metrics.period_metrics(TX)
    summed = by_seg.group_by("period").agg(
        pl.col("customers_start", "retained", "lost", "new", "customers", "revenue").sum()
    )
    joined = total.join(summed, on="period", suffix="_s")
    for c in ("customers_start", "retained", "lost", "new", "customers", "revenue"):
        assert joined[c].to_list() == joined[f"{c}_s"].to_list()
    x24 = by_seg.filter((pl.col("seg") == "x") & (pl.col("period") == dt.date(2024, 1, 1)))
    # x = a, c, e: start {c}, lost c, new e, reactivated a
    assert x24.select("customers_start", "lost", "new", "reactivated").row(0) == (1, 1, 1, 1)
    with pytest.raises(ValueError):
        metrics.period_metrics(TX, segments=segs)


def test_decimal_money_in_period_metrics():
    tx = TX.with_columns(pl.col("amount", "margin").cast(pl.Decimal(10, 2)))
    out = metrics.period_metrics(tx)
    assert isinstance(out.schema["revenue"], pl.Decimal)
    assert out["revenue"].to_list()[2] == Decimal("110.00")
    assert out["churn_cost_revenue"].to_list()[2] == Decimal("20.00")
    assert out.schema["average_purchase"] == pl.Float64


def test_customer_and_segment_metrics():
    cm = metrics.customer_metrics(TX, as_of=dt.date(2024, 12, 31))
    a = cm.filter(pl.col("customer_id") == "a").row(0, named=True)
    assert (a["orders"], a["revenue"], a["margin"], a["products"]) == (3, 60.0, 12.0, 2)
    assert a["lifespan_days"] == 735  # 2022-03-01 -> 2024-03-05
    assert a["tenure_days"] == 1036
    assert a["annual_revenue"] == pytest.approx(60.0 / (1036 / 365.25))
    assert a["repeat"] is True and a["average_order_value"] == 20.0
    overall = metrics.segment_metrics(TX).row(0, named=True)
    assert overall["customers"] == 5 and overall["revenue"] == 210.0
    assert overall["average_purchase"] == 42.0  # 210 / 5: historic CLV by revenue
    assert overall["historic_clv_margin"] == pytest.approx(38 / 5)
    assert overall["repeat_rate"] == 0.4  # a and b
    assert overall["recurring_revenue_share"] == pytest.approx(150 / 210)
    assert overall["average_lifespan_days"] == pytest.approx((735 + 335) / 5)
    segs = pl.DataFrame({"customer_id": ["a", "b"], "tier": ["oro", "plata"]})
    per = metrics.segment_metrics(TX, segments=segs, segment_col="tier")
    assert per["tier"].to_list() == ["oro", "plata", None]
    assert per["customers"].to_list() == [1, 1, 3]


def test_acquisition_cost():
    customers = pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "acquired_at": [
                dt.date(2024, 1, 3),
                dt.date(2024, 1, 20),
                dt.date(2024, 2, 2),
                None,
            ],
            "acquisition_cost": [10.0, None, 30.0, 99.0],
        }
    )
    out = metrics.acquisition_cost(customers)
    assert out.rows() == [
        (dt.date(2024, 1, 1), 2, 1, 10.0, 5.0),
        (dt.date(2024, 2, 1), 1, 1, 30.0, 30.0),
    ]


def test_share_of_wallet():
    customers = pl.DataFrame(
        {"customer_id": ["a", "b", "z", "e"], "potential_annual_spend": [100.0, None, 50.0, 0.0]}
    )
    out = metrics.share_of_wallet(TX, customers, as_of=dt.date(2024, 12, 31))
    assert out["customer_id"].to_list() == ["a", "b", "z", "e"]
    assert out["spend"].to_list() == [10.0, 60.0, 0.0, 40.0]
    assert out["share_of_wallet"].to_list() == [0.1, None, 0.0, None]


def test_resolve_as_of_and_empty():
    lf = TX.lazy()
    assert metrics.resolve_as_of(lf, None) == dt.date(2024, 3, 5)
    assert metrics.resolve_as_of(lf, dt.datetime(2024, 1, 2, 23)) == dt.date(2024, 1, 2)
    with pytest.raises(ValueError):
        metrics.resolve_as_of(TX.head(0).lazy(), None)
