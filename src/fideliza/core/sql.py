"""SQL expressions that read columns as integers, for the apps that hand the analytics
adapter their columns as SQL (`sales.selectors.order_columns_sql`, …): both sqlite3 and
psycopg return integers without per-row parsing."""

from __future__ import annotations

import sqlite3

from django.db import connection


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
