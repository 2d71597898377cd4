"""Bulk inserts without per-row ORM work, for imports, ingestion and ledgers.

Primary keys are reserved in one query, rows go to the driver's fastest path (executemany
on SQLite, COPY on PostgreSQL). Used by sales ingestion, the importers, loyalty accrual,
coupon issuing and campaign launches.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.utils import timezone

CHUNK_ROWS = 20_000


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys for `model`, in increasing order.

    Must be called inside the transaction that inserts the rows. On SQLite that
    transaction holds the database write lock (BEGIN IMMEDIATE, see settings), so no other
    writer can take the same ids; on PostgreSQL the ids come from the table's sequence.
    """
    if count <= 0:
        return []
    table = model._meta.db_table
    pk = str(model._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk, count],
            )
            return sorted(row[0] for row in cursor.fetchall())
        if connection.vendor == "sqlite":
            if not connection.in_atomic_block:
                raise RuntimeError("reserve_ids must run inside transaction.atomic()")
            qn = connection.ops.quote_name
            cursor.execute(f"SELECT COALESCE(MAX({qn(pk)}), 0) FROM {qn(table)}")
            top = cursor.fetchone()[0]
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            start = max(top, row[0] if row else 0) + 1
            return list(range(start, start + count))
    raise NotImplementedError(f"bulk ingestion does not support {connection.vendor}")


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> int:
    """Insert raw rows (values already in the database's text form) into `model`'s table."""
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor: COPY is several times faster than INSERT
            with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        rows = list(rows)
        placeholders = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({placeholders})", rows)
        return len(rows)


def _adapter(field: models.Field) -> Callable[[Any], Any] | None:
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        # Imports stamp every row with the same instant: adapt each distinct value once.
        return lru_cache(maxsize=1024)(
            lambda v: None if v is None else connection.ops.adapt_datetimefield_value(v))
    if kind == "DateField":
        return lambda v: None if v is None else v.isoformat()
    if kind == "DecimalField":
        return lambda v: None if v is None else str(v)
    if kind == "JSONField":
        return lambda v: None if v is None else json.dumps(v, cls=DjangoJSONEncoder)
    return None


def insert_objects(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert unsaved instances in bulk with reserved primary keys, which are set on them.

    Much cheaper per row than `bulk_create` (no per-value compile step), for imports of
    tens of thousands of rows. Model defaults are already on the instances; auto_now and
    auto_now_add fields get the current time. Foreign keys must be set by id or from
    saved objects. Call inside `transaction.atomic()`.
    """
    if not objs:
        return
    fields = list(model._meta.concrete_fields)
    now = timezone.now()
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            for obj in objs:
                setattr(obj, f.attname, now)
    for obj, pk in zip(objs, reserve_ids(model, len(objs)), strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
    getters = [(f.attname, _adapter(f)) for f in fields]
    columns = [str(f.column) for f in fields]
    for start in range(0, len(objs), CHUNK_ROWS):
        rows = [
            tuple(adapt(getattr(obj, name)) if adapt else getattr(obj, name) for name, adapt in getters)
            for obj in objs[start:start + CHUNK_ROWS]
        ]
        insert_rows(model, columns, rows)


INSERT_BATCH = 5000


def insert_constant(model: type[models.Model], constant: Mapping[str, Any], columns: Sequence[str],
                    rows: Sequence[tuple[Any, ...]]) -> None:
    """INSERT many rows whose `columns` vary and whose other fields are the same `constant`.

    `bulk_create` prepares every field of every object through the ORM, which dominated a
    100,000-recipient campaign launch; here each constant is prepared once and the varying values
    (ints, short strings, None) go to the driver as they are. PostgreSQL takes them through
    COPY (multi-row INSERTs of 1,000 rows still took ~10 s per 100,000 rows), SQLite (in
    process) through one `executemany` per batch. Callers pass every column without a
    database default.
    """
    if not rows:
        return
    fields = {f.name: f for f in model._meta.concrete_fields}
    prepared = tuple(fields[name].get_db_prep_save(value, connection) for name, value in constant.items())
    names = [str(fields[name].column) for name in (*columns, *constant)]  # concrete: has a column
    quote = connection.ops.quote_name
    table, column_list = quote(model._meta.db_table), ", ".join(quote(n) for n in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, *prepared))
            return
        sql = f"INSERT INTO {table} ({column_list}) VALUES ({', '.join(['%s'] * len(names))})"
        for start in range(0, len(rows), INSERT_BATCH):
            cursor.executemany(sql, [(*row, *prepared) for row in rows[start:start + INSERT_BATCH]])
