"""Per-customer BTYD summary and transaction loading.

Reference values marked "lifetimes" were produced by lifetimes 0.11.3
(``summary_data_from_transaction_data`` / ``calibration_and_holdout_data``) on the same
input; ``cdnow_customers_summary_with_transactions.csv`` is the CDNOW calibration summary
that ships with lifetimes (Fader & Hardie's x, t_x, T and mean repeat spend, 2 decimals).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fideliza.analytics.summary import (
    calibration_and_holdout_data,
    summary_data_from_transaction_data,
)
from fideliza.analytics.transactions import (
    ColumnMapping,
    normalize_transactions,
    read_cdnow,
    read_transactions,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    return read_cdnow(DATA / "CDNOW_sample.txt")


@pytest.fixture
def small() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2, 3],
            "ts": [
                "2020-01-05",
                "2020-01-06",
                "2020-03-31",
                "2020-02-29",
                "2020-02-01",
                "2020-04-01",
            ],
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    ).with_columns(pl.col("ts").str.to_datetime())


# Hand-checked and identical to lifetimes for freq "D", "W" and "M".
@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("day", [(2, 86.0, 101.0, 2.5), (1, 28.0, 74.0, 4.0), (0, 0.0, 14.0, 0.0)]),
        # 2020-01-05 is a Sunday and 2020-01-06 a Monday: different calendar weeks.
        ("week", [(2, 13.0, 15.0, 2.5), (1, 4.0, 11.0, 4.0), (0, 0.0, 2.0, 0.0)]),
        # Months last 30.436875 days (numpy's mean Gregorian month), Feb 1 & 29 collapse.
        (
            "month",
            [
                (1, 60 / 30.436875, 91 / 30.436875, 3.0),
                (0, 0.0, 60 / 30.436875, 0.0),
                (0, 0.0, 0.0, 0.0),
            ],
        ),
    ],
)
def test_small_summary_matches_lifetimes(small, period, expected):
    out = summary_data_from_transaction_data(small, period=period, observation_end="2020-04-15")
    got = list(out.select("frequency", "recency", "T", "monetary_value").iter_rows())
    assert out["customer_id"].to_list() == [1, 2, 3]
    np.testing.assert_allclose(np.array(got, dtype=float), np.array(expected), rtol=1e-12)


def test_first_purchase_excluded_from_monetary_and_same_day_amounts_summed():
    tx = pl.DataFrame(
        {
            "customer_id": ["a"] * 4,
            "ts": [
                dt.datetime(2021, 1, 1, 9),
                dt.datetime(2021, 1, 1, 18),
                dt.datetime(2021, 1, 3, 10),
                dt.datetime(2021, 1, 3, 11),
            ],
            "amount": [100.0, 50.0, 7.0, 3.0],
        }
    )
    out = summary_data_from_transaction_data(tx, observation_end="2021-01-10")
    row = out.row(0, named=True)
    assert (row["frequency"], row["recency"], row["T"]) == (1, 2.0, 9.0)
    assert row["monetary_value"] == 10.0  # only the repeat day: 7 + 3
    assert row["total_amount"] == 160.0
    incl = summary_data_from_transaction_data(
        tx, observation_end="2021-01-10", include_first_transaction=True
    )
    assert incl["frequency"][0] == 2
    assert incl["monetary_value"][0] == 80.0  # (150 + 10) / 2


def test_observation_end_truncates_and_freq_multiplier_divides(small):
    out = summary_data_from_transaction_data(small, observation_end="2020-03-01", freq_multiplier=7)
    assert out["customer_id"].to_list() == [1, 2]
    assert out["frequency"].to_list() == [1, 1]
    np.testing.assert_allclose(out["T"].to_numpy(), [56 / 7, 29 / 7])


def test_cdnow_calibration_summary_matches_published(cdnow):
    """The CDNOW calibration summary of Fader & Hardie (as shipped with lifetimes)."""
    ours = calibration_and_holdout_data(
        cdnow, calibration_end="1997-09-30", observation_end="1998-06-30", freq_multiplier=7
    )
    ref = pl.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    assert ours.height == ref.height == 2357
    joined = ours.join(ref, left_on="customer_id", right_on="ID")
    assert (joined["frequency_cal"] == joined["x"]).all()
    np.testing.assert_allclose(joined["recency_cal"], joined["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(joined["T_cal"], joined["T"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(joined["monetary_value_cal"], joined["zbar"], atol=0.005 + 1e-9)
    assert (joined["frequency_cal"] > 0).sum() == 946
    # lifetimes' holdout columns (calibration_and_holdout_data, freq="D", freq_multiplier=7)
    assert ours["frequency_holdout"].sum() == 1882
    assert ours["duration_holdout"].unique().to_list() == [39.0]
    assert ours["monetary_value_holdout"].mean() == pytest.approx(10.564735, abs=1e-6)
    row = ours.filter(pl.col("customer_id") == 1).row(0, named=True)
    assert row["frequency_holdout"] == 1 and row["monetary_value_holdout"] == pytest.approx(26.48)


def test_calibration_holdout_month_matches_lifetimes(small):
    out = calibration_and_holdout_data(
        small, calibration_end="2020-02-15", observation_end="2020-04-15", period="month"
    )
    assert out["customer_id"].to_list() == [1, 2]
    assert out["frequency_cal"].to_list() == [0, 0]
    assert out["frequency_holdout"].to_list() == [1, 1]
    assert out["monetary_value_holdout"].to_list() == [3.0, 4.0]
    assert out["duration_holdout"].to_list() == [2.0, 2.0]  # months Feb -> Apr


def test_calibration_holdout_errors(small):
    with pytest.raises(ValueError, match="no transactions in the holdout"):
        calibration_and_holdout_data(
            small, calibration_end="2020-04-10", observation_end="2020-04-15"
        )
    with pytest.raises(ValueError, match="after calibration_end"):
        calibration_and_holdout_data(
            small, calibration_end="2020-04-10", observation_end="2020-04-01"
        )


def test_decimal_amounts_stay_exact():
    tx = pl.DataFrame(
        {
            "customer_id": [1, 1, 1],
            "ts": [dt.datetime(2022, 1, d) for d in (1, 2, 3)],
            "amount": [Decimal("0.10"), Decimal("0.20"), Decimal("0.40")],
        },
        schema_overrides={"amount": pl.Decimal(12, 2)},
    )
    out = summary_data_from_transaction_data(tx)
    assert isinstance(out.schema["total_amount"], pl.Decimal)
    assert out["total_amount"][0] == Decimal("0.70")
    assert out.schema["monetary_value"] == pl.Float64
    assert out["monetary_value"][0] == pytest.approx(0.3)


def test_read_transactions_csv_mapping_and_exact_money(tmp_path):
    path = tmp_path / "ventas.csv"
    path.write_text(
        "cliente;fecha;importe;margen\n00417;2024-03-01;10.10;2.00\n00417;2024-03-05;0.20;0.05\n9;2024-03-02;5;1\n"
    )
    mapping = ColumnMapping(customer="cliente", ts="fecha", amount="importe", margin="margen")
    tx = read_transactions(path, mapping, separator=";", decimal_scale=2)
    assert tx.columns == ["customer_id", "ts", "amount", "margin"]
    assert tx["customer_id"].to_list() == ["00417", "00417", "9"]
    assert tx.schema["ts"] == pl.Datetime("us")
    assert tx["amount"].sum() == Decimal("15.30")
    parquet = tmp_path / "ventas.parquet"
    tx.write_parquet(parquet)
    again = read_transactions(parquet, ColumnMapping(margin="margin"))
    assert again.equals(tx)


def test_normalize_transactions_parses_and_checks():
    frame = pl.DataFrame({"c": [1, 2], "d": [19970101, 19970325], "m": [1, 2]})
    tx = normalize_transactions(frame, ColumnMapping(customer="c", ts="d", amount="m"))
    assert tx["ts"].to_list() == [dt.datetime(1997, 1, 1), dt.datetime(1997, 3, 25)]
    assert tx.schema["amount"] == pl.Float64
    aware = pl.DataFrame(
        {"customer_id": [1], "ts": [dt.datetime(2024, 1, 1, 23, 30)]}
    ).with_columns(pl.col("ts").dt.replace_time_zone("Europe/Madrid"))
    local = normalize_transactions(aware, ColumnMapping(amount=None))
    assert local["ts"][0] == dt.datetime(2024, 1, 1, 23, 30)  # wall-clock day kept
    with pytest.raises(ValueError, match="missing transaction columns: fecha"):
        normalize_transactions(frame, ColumnMapping(customer="c", ts="fecha", amount="m"))
    with pytest.raises(ValueError, match=r"row 1, column .ts.: is empty"):
        normalize_transactions(
            pl.DataFrame(
                {"customer_id": [1], "ts": [None], "amount": [1.0]},
                schema_overrides={"ts": pl.Date},
            )
        )


def test_read_cdnow(cdnow):
    assert cdnow.height == 6919
    assert cdnow["customer_id"].n_unique() == 2357
    assert cdnow["ts"].min() == dt.datetime(1997, 1, 1)
    assert cdnow["ts"].max() == dt.datetime(1998, 6, 30)


_tx_rows = st.lists(
    st.tuples(
        st.integers(0, 6),  # customer within a set
        st.integers(0, 120),  # day offset
        st.integers(0, 500),  # cents
    ),
    min_size=1,
    max_size=40,
)


def _frame(rows: list[tuple[int, int, int]], prefix: str) -> pl.DataFrame:
    start = dt.datetime(2023, 1, 1)
    return pl.DataFrame(
        {
            "customer_id": [f"{prefix}{c}" for c, _, _ in rows],
            "ts": [start + dt.timedelta(days=d, hours=c) for c, d, _ in rows],
            "amount": [a / 100 for _, _, a in rows],
        },
        schema={"customer_id": pl.String, "ts": pl.Datetime("us"), "amount": pl.Float64},
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=_tx_rows, b=_tx_rows, period=st.sampled_from(["day", "week", "month"]))
def test_summary_of_disjoint_union_is_union_of_summaries(a, b, period):
    left, right = _frame(a, "a"), _frame(b, "b")
    kwargs = {"period": period, "observation_end": "2023-06-30", "freq_multiplier": 1.0}
    whole = summary_data_from_transaction_data(pl.concat([left, right]), **kwargs)
    parts = pl.concat(
        [
            summary_data_from_transaction_data(left, **kwargs),
            summary_data_from_transaction_data(right, **kwargs),
        ]
    ).sort("customer_id")
    assert whole.height == left["customer_id"].n_unique() + right["customer_id"].n_unique()
    assert whole.drop("monetary_value", "total_amount").equals(
        parts.drop("monetary_value", "total_amount")
    )
    np.testing.assert_allclose(whole["monetary_value"], parts["monetary_value"], rtol=1e-12)
    np.testing.assert_allclose(whole["total_amount"], parts["total_amount"], rtol=1e-12)
    # BTYD invariants
    assert (whole["recency"] <= whole["T"]).all()
    assert ((whole["frequency"] == 0) == (whole["recency"] == 0)).all()


def test_partitioned_summary_equals_single_pass(cdnow):
    one = summary_data_from_transaction_data(cdnow, freq_multiplier=7, partitions=1)
    many = summary_data_from_transaction_data(cdnow, freq_multiplier=7, partitions=5)
    # Float sums: order of addition may differ; times: see test_sorted_and_hashed_paths_agree.
    inexact = ["monetary_value", "total_amount", "recency", "T"]
    assert one.drop(inexact).equals(many.drop(inexact))
    for col in inexact:
        np.testing.assert_allclose(one[col], many[col], rtol=1e-13)


def test_sorted_and_hashed_paths_agree(cdnow):
    """Integer ids take the sort-based path, other ids the hash group-by; same numbers."""
    by_int = summary_data_from_transaction_data(cdnow, freq_multiplier=7, period="week")
    by_str = summary_data_from_transaction_data(
        cdnow.with_columns(pl.col("customer_id").cast(pl.String).str.zfill(5)),
        freq_multiplier=7,
        period="week",
    )
    assert by_str["customer_id"].to_list() == [f"{i:05d}" for i in by_int["customer_id"]]
    # Float sums depend on the order of addition; Polars may divide times by multiplying
    # with 1/unit (last-bit differences from the dense path's true division).
    inexact = ["monetary_value", "total_amount", "recency", "T"]
    assert by_int.drop("customer_id", *inexact).equals(by_str.drop("customer_id", *inexact))
    for col in inexact:
        np.testing.assert_allclose(by_int[col], by_str[col], rtol=1e-13)


_dense_rows = st.lists(
    st.tuples(
        st.integers(0, 30),  # customer
        st.integers(0, 200),  # day
        st.integers(0, 23),  # hour
        st.integers(-2_000, 50_000),  # cents
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=_dense_rows,
    period=st.sampled_from(["day", "week", "month"]),
    decimal=st.booleans(),
    first=st.booleans(),
)
def test_dense_path_equals_lazy_query(rows, period, decimal, first):
    """Integer ids take the NumPy path; it must give the lazy query's frame exactly."""
    from fideliza.analytics.summary import _summary_lazy

    start = dt.datetime(2023, 1, 1)
    money = pl.Series([a for *_, a in rows]) / 100
    tx = pl.DataFrame(
        {
            "customer_id": [7 + 5 * c for c, *_ in rows],
            "ts": [start + dt.timedelta(days=d, hours=h) for _, d, h, _ in rows],
            "amount": money.cast(pl.Decimal(12, 2)) if decimal else money,
            "margin": (money / 3).round(2).cast(pl.Decimal(12, 2)) if decimal else money / 3,
        },
    )
    kwargs = {
        "period": period,
        "freq_multiplier": 7.0,
        "include_first_transaction": first,
        "count_rows": True,
        "sum_cols": ("margin",),
    }
    end = dt.date(2023, 5, 31)  # some rows fall after it
    dense = summary_data_from_transaction_data(tx, observation_end=end, **kwargs)
    lazy = (
        _summary_lazy(
            tx.lazy(),
            customer_col="customer_id",
            ts_col="ts",
            amount_col="amount",
            end=end,
            **kwargs,
        )
        .collect()
        .sort("customer_id")
    )
    # Times: Polars may divide by multiplying with 1/unit (last-bit differences); float
    # money sums depend on the order of addition.
    inexact = ["recency", "T"] + (
        [] if decimal else ["monetary_value", "total_amount", "total_margin"]
    )
    assert dense.drop(inexact).equals(lazy.drop(inexact))
    for col in inexact:
        np.testing.assert_allclose(dense[col], lazy[col], rtol=1e-14, atol=1e-9)
    if period == "day":
        assert dense["n_transactions"].sum() == tx.filter(pl.col("ts").dt.date() <= end).height


@pytest.mark.parametrize("decimal", [False, True])
@pytest.mark.parametrize("first", [False, True])
def test_dense_path_treats_a_missing_amount_as_the_lazy_query_does(decimal, first):
    """A file row may leave the amount empty (only customer and date are required). The
    NumPy path summed the null as NaN: NaN totals for Float64, and for Decimal a NaN cast
    to Int64 (-92,233,720,368,547,758.08), or a TypeError when a column had no amount."""
    from fideliza.analytics.summary import _summary_lazy

    start = dt.datetime(2023, 1, 1)
    for cents in ([None, 500, None, 1250, 300], [None, None, None, None, None]):
        money = pl.Series([None if c is None else c / 100 for c in cents], dtype=pl.Float64)
        tx = pl.DataFrame({
            "customer_id": [1, 1, 2, 2, 3],
            "ts": [start + dt.timedelta(days=d) for d in (0, 10, 3, 40, 7)],
            "amount": money.cast(pl.Decimal(12, 2)) if decimal else money,
        })
        kwargs = {"period": "day", "freq_multiplier": 7.0, "include_first_transaction": first}
        end = dt.date(2023, 5, 31)
        dense = summary_data_from_transaction_data(tx, observation_end=end, **kwargs)
        lazy = (_summary_lazy(tx.lazy(), customer_col="customer_id", ts_col="ts", amount_col="amount",
                              end=end, **kwargs)
                .collect().sort("customer_id"))
        assert dense.drop("recency", "T").equals(lazy.drop("recency", "T")), (cents, dense, lazy)
        assert dense["total_amount"].to_list() == lazy["total_amount"].to_list()
