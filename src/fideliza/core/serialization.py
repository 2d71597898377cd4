"""Python values as JSON values, the same way for every table that stores them as JSON.

Audit rows, merge snapshots (undo restores rows from them) and run reports each keep Python
values in JSON columns; one conversion keeps them readable by the same code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import models


def jsonable(value: Any) -> Any:
    """`value` as plain JSON: dates and times in ISO 8601, Decimal as its exact text, a model
    row as its primary key, NaN and infinities as None, mappings and sequences element by
    element (keys as text), NumPy scalars as Python numbers, anything else as its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None  # float(): NumPy floats too
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return jsonable(value.item())
    return str(value)
