"""Small pieces of SQL shared by the apps' selectors: expressions that read columns as
integers (for the columns the analytics adapter reads as SQL, `sales.selectors.
order_columns_sql`, …: sqlite3 and psycopg return integers without per-row parsing), and a
cheap filter on many ids."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from django.db import connection
from django.db.models import Q


def sql_epoch_seconds(column: str) -> str:
    """`column` (a datetime or date) as Unix seconds."""
    if connection.vendor == "postgresql":
        return f"FLOOR(EXTRACT(EPOCH FROM {column}))::bigint"
    # SQLite stores UTC text. unixepoch() (3.38+) is exact and fast; before it, julianday()
    # is a double good to ~20 microseconds, so rounding to the second is exact too.
    if sqlite3.sqlite_version_info >= (3, 38, 0):
        return f"unixepoch({column})"
    return f"CAST(ROUND((julianday({column}) - 2440587.5) * 86400.0) AS INTEGER)"


def sql_cents(expr: str) -> str:
    """A money expression as integer cents (exact sums)."""
    return f"CAST(ROUND({expr} * 100) AS BIGINT)"


def ids_filter(field: str, ids: Sequence[int]) -> Q:
    """`field IN ids`, or a range when there are many dense ids (a big segment, everyone):
    a range costs the database and the driver far less than thousands of parameters (Django
    prepares each element of an IN list on a foreign key one by one). The range may take
    rows that are not in `ids`: callers skip them."""
    if len(ids) > 100:
        lo, hi = min(ids), max(ids)
        if hi - lo + 1 <= 2 * len(ids):
            return Q(**{f"{field}__gte": lo, f"{field}__lte": hi})
    return Q(**{f"{field}__in": list(ids)})
