"""Hypothesis property tests for the invariants of the descriptive analytics."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fideliza.analytics import abc, activity, cohorts, metrics, rfm, tiers

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EPOCH = dt.datetime(2022, 1, 1)

row = st.tuples(
    st.integers(0, 15),  # customer
    st.integers(0, 900),  # day offset
    st.integers(-5, 200),  # amount in whole units (returns are negative)
    st.integers(-50, 80),  # margin
    st.integers(0, 6),  # product
)
rows = st.lists(row, min_size=1, max_size=60)


def frame(data, offset: int = 0) -> pl.DataFrame:
    c, d, a, m, p = zip(*data, strict=True)
    return pl.DataFrame(
        {
            "customer_id": [x + offset for x in c],
            "ts": [EPOCH + dt.timedelta(days=x, hours=10) for x in d],
            "amount": [float(x) for x in a],
            "margin": [float(x) for x in m],
            "product_id": list(p),
        }
    )


@SETTINGS
@given(rows, st.sampled_from(["revenue", "margin"]), st.integers(0, 900))
def test_abc_one_class_each_and_shares_sum_to_one(data, basis, cut):
    tx = frame(data)
    classes = abc.abc_classes(tx, basis=basis, end=(EPOCH + dt.timedelta(days=cut)).date())
    bought = tx.filter(pl.col("ts") < EPOCH + dt.timedelta(days=cut + 1))["customer_id"]
    assert classes["customer_id"].sort().to_list() == bought.unique().sort().to_list()
    assert set(classes[f"abc_{basis}"]) <= {"A", "B", "C", "N"}
    if classes.height:
        summary = abc.abc_summary(classes, basis=basis)
        assert summary["customers"].sum() == classes.height
        total = classes[basis].sum()
        if abs(total) > 1e-9:
            assert abs(summary["value_share"].sum() - 1.0) < 1e-9
        # a larger value never gets a worse class
        rank = {"A": 0, "B": 1, "C": 2, "N": 3}
        ordered = classes.sort(basis, descending=True)
        codes = [rank[k] for k in ordered[f"abc_{basis}"]]
        assert codes == sorted(codes)
        positive = classes.filter(pl.col(basis) > 0)
        if positive.height:
            assert "A" in positive[f"abc_{basis}"].to_list()


@SETTINGS
@given(rows, st.integers(1, 30))
def test_pareto_curve_monotone_from_origin_to_one(data, points):
    curve = abc.pareto_curve(frame(data), points=points)
    for col in ("revenue_share", "margin_share"):
        values = curve[col]
        if values.null_count():
            assert values.null_count() == values.len()  # nobody with positive value
            continue
        v = values.to_numpy()
        assert v[0] == 0.0 and v[-1] == 1.0
        assert np.all(np.diff(v) >= -1e-12)
    assert curve["customer_share"].to_list()[-1] == 1.0


@SETTINGS
@given(rows, st.integers(1, 7), st.sampled_from(["total", "mean"]))
def test_rfm_scores_in_range_and_monotone(data, q, monetary):
    tx = frame(data).filter(pl.col("amount") > 0)
    if tx.height == 0:
        return
    out = rfm.rfm_table(tx, q=q, monetary=monetary)
    for col in ("r_score", "f_score", "m_score"):
        assert out[col].min() >= 1 and out[col].max() <= q
    assert set(out["segment"]) <= set(rfm.SEGMENTS)
    # more recent never scores lower on R; more orders never lower on F
    by_r = out.sort("recency_days")
    assert np.all(np.diff(by_r["r_score"].to_numpy().astype(int)) <= 0)
    by_f = out.sort("frequency")
    assert np.all(np.diff(by_f["f_score"].to_numpy().astype(int)) >= 0)


@SETTINGS
@given(rows)
def test_rfm_history_equals_point_in_time(data):
    tx = frame(data)
    hist = rfm.rfm_history(tx)
    if hist.height == 0:
        return
    month_end = hist["period_end"].max()
    point = rfm.rfm_table(tx, as_of=month_end)
    at = hist.filter(pl.col("period_end") == month_end).drop("period_end")
    assert at.equals(point.select(at.columns))


@SETTINGS
@given(rows, st.sampled_from(["1mo", "1q", "1y"]))
def test_churn_plus_retention_is_one(data, freq):
    out = metrics.period_metrics(frame(data), freq=freq)
    based = out.filter(pl.col("customers_start") > 0)
    total = (based["churn_rate"] + based["retention_rate"]).to_numpy()
    assert np.allclose(total, 1.0)
    assert (out["customers"] == out["retained"] + out["new"] + out["reactivated"]).all()
    assert (out["lost"] == out["customers_start"] - out["retained"]).all()
    assert out.filter(pl.col("customers_start") == 0)["churn_rate"].null_count() == (
        out.filter(pl.col("customers_start") == 0).height
    )


@SETTINGS
@given(rows, rows)
def test_disjoint_customer_sets_add_up(left, right):
    a, b = frame(left), frame(right, offset=100)
    both = pl.concat([a, b])
    start = dt.date(2022, 1, 1)
    end = both["ts"].max().date()
    kw = dict(freq="1q", start=start, end=end)
    whole = metrics.period_metrics(both, **kw)
    parts = (
        pl.concat([metrics.period_metrics(a, **kw), metrics.period_metrics(b, **kw)])
        .group_by("period")
        .agg(pl.all().exclude("period").sum())
    )
    joined = whole.join(parts, on="period", suffix="_p")
    additive = (
        "customers_start",
        "retained",
        "lost",
        "new",
        "reactivated",
        "customers",
        "orders",
        "revenue",
        "margin",
        "churn_cost_revenue",
    )
    for c in additive:
        assert np.allclose(joined[c].to_numpy(), joined[f"{c}_p"].to_numpy()), c
    # cohort sizes and active counts add up as well
    ca = cohorts.cohort_retention(a, as_of=end)
    cb = cohorts.cohort_retention(b, as_of=end)
    cw = cohorts.cohort_retention(both, as_of=end)
    summed = (
        pl.concat([ca, cb])
        .group_by("cohort", "period_index")
        .agg(pl.col("cohort_size", "active").sum())
    )
    check = cw.join(summed, on=["cohort", "period_index"], how="left", suffix="_p")
    assert (check["active"] == check["active_p"].fill_null(0)).all()
    overall = metrics.segment_metrics(both).row(0, named=True)
    sa, sb = (
        metrics.segment_metrics(a).row(0, named=True),
        metrics.segment_metrics(b).row(0, named=True),
    )
    assert overall["customers"] == sa["customers"] + sb["customers"]
    assert np.isclose(overall["revenue"], sa["revenue"] + sb["revenue"])


@SETTINGS
@given(rows, st.sampled_from(["1mo", "1q"]))
def test_cohort_month_zero_is_full(data, freq):
    out = cohorts.cohort_retention(frame(data), freq=freq)
    zero = out.filter(pl.col("period_index") == 0)
    assert (zero["retention"] == 1.0).all()
    assert zero["cohort_size"].sum() == frame(data)["customer_id"].n_unique()
    assert (out["retention"] <= 1.0).all() and (out["retention"] >= 0.0).all()


@SETTINGS
@given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=1, max_size=50))
def test_every_customer_gets_one_tier(values):
    customers = pl.DataFrame(
        {"customer_id": list(range(len(values))), "v": values}, schema_overrides={"v": pl.Float64}
    )
    out = tiers.value_tiers(customers, value_col="v")
    assert out.height == len(values)
    assert set(out["tier"]) <= set(tiers.TIERS)
    order = {"platino": 0, "oro": 1, "plata": 2, "bronce": 3}
    ranked = out.drop_nulls("v").sort("v", descending=True)
    codes = [order[t] for t in ranked["tier"]]
    assert codes == sorted(codes)


@SETTINGS
@given(rows)
def test_activity_state_follows_overdue(data):
    out = activity.activity_states(frame(data))
    order = {s: i for i, s in enumerate(activity.STATES)}
    ranked = out.sort("overdue")
    codes = [order[s] for s in ranked["state"]]
    assert codes == sorted(codes)
    assert (out["gap_days"] >= 7.0).all()
