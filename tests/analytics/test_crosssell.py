"""Cross-sell matrix, gaps, association rules, next best offer, relationship path."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fideliza.analytics import crosssell as cs

TX = pl.DataFrame(
    {
        "customer_id": [1, 1, 2, 2, 3, 3, 4],
        "order_id": [10, 10, 20, 20, 30, 31, 40],
        "ts": [dt.datetime(2024, 1, d) for d in (1, 1, 2, 2, 3, 4, 5)],
        "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        "category": ["pan", "leche", "pan", "leche", "pan", "queso", "leche"],
        "product_id": [1, 2, 1, 3, 1, 4, 2],
    }
)


def test_customer_item_matrix_and_gaps():
    m = cs.customer_item_matrix(TX)
    assert m.columns == ["customer_id", "leche", "pan", "queso", "items_bought"]
    assert m.row(2) == (3, 0.0, 5.0, 6.0, 2)
    flags = cs.customer_item_matrix(TX, value="flag")
    assert flags["pan"].to_list() == [1.0, 1.0, 1.0, 0.0]
    gaps = cs.item_gaps(TX)
    assert gaps.filter(pl.col("customer_id") == 4).row(0) == (4, ["leche"], ["pan", "queso"], 1, 2)
    catalogue = cs.item_gaps(TX, items=["pan", "leche", "queso", "vino"])
    assert catalogue["missing"].to_list()[0] == ["queso", "vino"]


def test_rules_by_order_by_hand():
    rules = cs.association_rules(TX, min_support=0.0)
    # baskets: {pan, leche} x2, {pan}, {queso}, {leche}: n = 5
    assert rules.select("antecedent", "consequent", "baskets").rows() == [
        ("leche", "pan", 2),
        ("pan", "leche", 2),
    ]
    r = rules.row(0, named=True)
    assert r["support"] == pytest.approx(0.4)
    assert r["confidence"] == pytest.approx(2 / 3)
    assert r["lift"] == pytest.approx((2 / 3) / (3 / 5))
    # min_support 0.5 keeps no item pair
    assert cs.association_rules(TX, min_support=0.5).height == 0


def test_rules_by_customer_and_without_order_id():
    rules = cs.association_rules(TX, level="customer", min_support=0.0)
    qp = rules.filter((pl.col("antecedent") == "queso") & (pl.col("consequent") == "pan"))
    # customers: {pan, leche} x2, {pan, queso}, {leche}: n = 4; queso -> pan conf 1
    assert qp["confidence"].item() == 1.0 and qp["lift"].item() == pytest.approx(4 / 3)
    # without order_id a basket is a customer's day: 3's two orders are on two days
    same = cs.association_rules(TX.drop("order_id"), min_support=0.0)
    assert same.height == 2
    assert cs.association_rules(TX.head(0), min_support=0.0).height == 0


def test_next_best_offer_rules_then_popularity():
    out = cs.next_best_offer(TX, min_support=0.0)
    rows = {r["customer_id"]: r for r in out.iter_rows(named=True)}
    # 1 and 2 own pan and leche: pan -> queso (lift 4/3) is the only rule left
    assert rows[1]["item"] == "queso" and rows[1]["source"] == "rule"
    assert rows[1]["antecedent"] == "pan" and rows[1]["lift"] == pytest.approx(4 / 3)
    assert "pan" in rows[1]["reason"] and "queso" in rows[1]["reason"]
    # 3 owns pan and queso: no rule left -> most popular missing (leche, 3 customers)
    assert (rows[3]["item"], rows[3]["source"]) == ("leche", "popular")
    # 4 owns leche: leche -> pan has lift 8/9 < 1, so popularity: pan
    assert (rows[4]["item"], rows[4]["source"]) == ("pan", "popular")
    english = cs.next_best_offer(TX, min_support=0.0, lang="en")
    assert english["reason"][0].startswith("Customers who buy")


def test_next_best_offer_nothing_left():
    tx = TX.filter(pl.col("customer_id") == 1)
    out = cs.next_best_offer(tx, min_support=0.0)
    assert out["item"].to_list() == [None]


def test_relationship_path():
    levels = {1: "entry", 2: "value", 3: "premium"}
    out = cs.relationship_path(TX, product_levels=levels)
    rows = {r["customer_id"]: r for r in out.iter_rows(named=True)}
    assert rows[1]["current_level"] == "value" and rows[1]["next_level"] == "main"
    assert rows[1]["suggested_product"] is None  # no product mapped to "main"
    assert rows[2]["current_level"] == "premium" and rows[2]["next_level"] is None
    assert rows[2]["skipped"] == ["value", "main"]
    assert rows[3]["current_step"] == 1 and rows[3]["suggested_product"] == 2
    assert rows[4]["skipped"] == ["entry"]
    frame = pl.DataFrame({"product_id": [1], "level": ["entry"]})
    only_entry = cs.relationship_path(TX, product_levels=frame)
    assert only_entry.filter(pl.col("customer_id") == 4)["current_step"].item() == 0
    assert only_entry.filter(pl.col("customer_id") == 4)["next_level"].item() == "entry"
    with pytest.raises(ValueError):
        cs.relationship_path(TX, product_levels={1: "gold"})


def test_rules_scale_sparse():
    rng = np.random.default_rng(0)
    n = 600_000  # ~100 k customers x 200 products
    tx = pl.DataFrame(
        {
            "customer_id": rng.integers(0, 100_000, n),
            "product_id": (rng.zipf(1.4, n) % 200),
        }
    )
    rules = cs.association_rules(tx, item_col="product_id", level="customer", min_support=0.001)
    assert rules.height > 0
    assert (rules["support"] >= 0.001).all()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 12), st.sampled_from(list("abcdef"))), min_size=1, max_size=50
    )
)
def test_next_best_offer_matches_brute_force(pairs):
    tx = pl.DataFrame(
        {"customer_id": [c for c, _ in pairs], "category": [i for _, i in pairs]}
    ).with_columns(ts=pl.lit(dt.datetime(2024, 1, 1)))
    rules = cs.association_rules(tx, level="customer", min_support=0.0)
    out = cs.next_best_offer(tx, rules=rules, min_lift=1.0, rules_per_item=100)
    owned: dict[int, set[str]] = {}
    for c, i in pairs:
        owned.setdefault(c, set()).add(i)
    ranked = sorted(
        rules.filter(pl.col("lift") > 1.0).iter_rows(named=True),
        key=lambda r: (-r["lift"], -r["confidence"], r["consequent"], r["antecedent"]),
    )
    popularity: dict[str, int] = {}
    for items in owned.values():
        for i in items:
            popularity[i] = popularity.get(i, 0) + 1
    by_popularity = sorted(popularity, key=lambda i: (-popularity[i], i))
    got = {r["customer_id"]: r for r in out.iter_rows(named=True)}
    assert set(got) == set(owned)
    for c, items in owned.items():
        rule = next(
            (r for r in ranked if r["antecedent"] in items and r["consequent"] not in items),
            None,
        )
        if rule is not None:
            assert (got[c]["item"], got[c]["source"]) == (rule["consequent"], "rule")
            assert got[c]["antecedent"] == rule["antecedent"]
        else:
            missing = [i for i in by_popularity if i not in items]
            expected = missing[0] if missing else None
            assert got[c]["item"] == expected
            assert got[c]["source"] == ("popular" if expected else None)
