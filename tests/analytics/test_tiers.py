"""Value tiers by percentile and by absolute thresholds."""

from __future__ import annotations

import polars as pl
import pytest

from fideliza.analytics import tiers

CUSTOMERS = pl.DataFrame(
    {
        "customer_id": list(range(1, 11)),
        "value": [100.0, 90.0, 80.0, 80.0, 50.0, 40.0, 30.0, 20.0, 10.0, None],
    }
)


def test_percentile_tiers_by_hand():
    out = tiers.value_tiers(CUSTOMERS, value_col="value", shares=(0.1, 0.3, 0.6))
    # n = 10: platino above < 1, oro above < 3, plata above < 6
    # above: 100->0, 90->1, 80->2 (both), 50->4, 40->5, 30->6, 20->7, 10->8
    assert out["tier"].to_list() == [
        "platino",
        "oro",
        "oro",
        "oro",
        "plata",
        "plata",
        "bronce",
        "bronce",
        "bronce",
        "bronce",
    ]
    assert out["customer_id"].to_list() == list(range(1, 11))


def test_absolute_tiers():
    out = tiers.value_tiers(
        CUSTOMERS,
        value_col="value",
        method="absolute",
        thresholds={"platino": 90, "oro": 50, "plata": 20},
        tier_col="nivel",
    )
    assert out["nivel"].to_list() == [
        "platino",
        "platino",
        "oro",
        "oro",
        "oro",
        "plata",
        "plata",
        "plata",
        "bronce",
        "bronce",
    ]


def test_invalid_configuration():
    with pytest.raises(ValueError):
        tiers.value_tiers(CUSTOMERS, value_col="value", shares=(0.5, 0.2, 0.9))
    with pytest.raises(ValueError):
        tiers.value_tiers(CUSTOMERS, value_col="value", method="absolute")
    with pytest.raises(ValueError):
        tiers.value_tiers(
            CUSTOMERS,
            value_col="value",
            method="absolute",
            thresholds={"platino": 1, "oro": 50, "plata": 20},
        )
