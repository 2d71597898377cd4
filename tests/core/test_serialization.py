"""One conversion of Python values to JSON for every JSON column (core.serialization)."""

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pytest

from fideliza.accounts.models import AuditAction, AuditLog
from fideliza.accounts.services import Actor, audit_record
from fideliza.core.serialization import jsonable


def test_values_become_plain_json():
    when = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # the night Madrid moves to summer time
    value = {
        "when": when, "day": date(2026, 3, 29), "at": time(9, 5), "amount": Decimal("18486.62"),
        "ratio": 0.5, "nan": float("nan"), "inf": float("inf"), "n": np.int64(3),
        "p": np.float64(0.25), "flag": True, "none": None, 7: "key as text",
        "items": ("a", Decimal("1.10")), "id": uuid.UUID(int=1), "gap": timedelta(days=1),
    }
    out = jsonable(value)
    assert out == {
        "when": "2026-03-29T01:30:00+00:00", "day": "2026-03-29", "at": "09:05:00",
        "amount": "18486.62", "ratio": 0.5, "nan": None, "inf": None, "n": 3, "p": 0.25,
        "flag": True, "none": None, "7": "key as text", "items": ["a", "1.10"],
        "id": "00000000-0000-0000-0000-000000000001", "gap": "1 day, 0:00:00",
    }
    assert type(out["n"]) is int and type(out["p"]) is float
    assert json.loads(json.dumps(out, allow_nan=False)) == out


@pytest.mark.django_db
def test_a_model_row_is_its_key_and_audit_rows_store_iso_dates_and_lists(owner):
    when = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the night Madrid goes back to winter time
    audit_record(actor=Actor.of(owner), action=AuditAction.UPDATE, entity="tests.thing", entity_id=1,
                 changes={"by": (None, owner), "when": (None, when), "tags": ([], ["a", "b"])})
    row = AuditLog.objects.get(entity="tests.thing")
    assert row.changes == {"by": [None, owner.pk], "when": [None, "2026-10-25T00:30:00+00:00"],
                           "tags": [[], ["a", "b"]]}
