"""Keyset (seek) pagination: pages cost the same at row 50 and at row 100 000.

OFFSET makes the database walk and discard every earlier row; a keyset page instead
asks for the rows *after* the last one shown, in index order. The cursor carries the
sort-key values of that row, signed so nobody can forge one that breaks the query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core import signing
from django.db.models import Expression, F, Q, QuerySet

_SALT = "fideliza.web.pagination"  # its first home; kept so that links with cursors keep working


@dataclass(frozen=True)
class SortKey:
    """One sort: expressions compared in order, all ascending or all descending.

    The last expression must be unique (the primary key) so the order is total.
    """

    expressions: Sequence[Expression | str]
    descending: bool = False


@dataclass
class KeysetPage:
    rows: list[Any]
    next_cursor: str | None
    prev_cursor: str | None


def _encode(values: Sequence[Any], direction: str) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, datetime | date):
            return {"__dt": v.isoformat(), "d": isinstance(v, datetime)}
        if isinstance(v, Decimal):
            return {"__dec": str(v)}
        return v

    return signing.dumps({"v": [plain(v) for v in values], "d": direction}, salt=_SALT, compress=True)


def _decode(cursor: str) -> tuple[list[Any], str] | None:
    try:
        data = signing.loads(cursor, salt=_SALT)
    except (signing.BadSignature, ValueError, json.JSONDecodeError):
        return None

    def typed(v: Any) -> Any:
        if isinstance(v, dict) and "__dt" in v:
            return datetime.fromisoformat(v["__dt"]) if v["d"] else date.fromisoformat(v["__dt"])
        if isinstance(v, dict) and "__dec" in v:
            return Decimal(v["__dec"])
        return v

    if not isinstance(data, dict) or data.get("d") not in ("next", "prev"):
        return None
    return [typed(v) for v in data["v"]], data["d"]


def _seek(names: list[str], values: list[Any], forward_gt: bool) -> Q:
    """Rows strictly after `values` in the lexicographic order of `names`."""
    op = "gt" if forward_gt else "lt"
    condition = Q()
    for i, name in enumerate(names):
        step = Q(**{f"{name}__{op}": values[i]})
        for prev_name, prev_value in zip(names[:i], values[:i], strict=True):
            step &= Q(**{prev_name: prev_value})
        condition |= step
    return condition


def keyset_page(qs: QuerySet, *, sort: SortKey, cursor: str | None, size: int) -> KeysetPage:
    """One page of `qs` in `sort` order, after (or, for a "prev" cursor, before) `cursor`.

    An invalid or tampered cursor yields the first page.
    """
    names = [f"_seek{i}" for i in range(len(sort.expressions))]
    qs = qs.annotate(**{
        n: (F(e) if isinstance(e, str) else e) for n, e in zip(names, sort.expressions, strict=True)
    })
    decoded = _decode(cursor) if cursor else None
    if decoded is not None and len(decoded[0]) != len(names):
        decoded = None
    backwards = decoded is not None and decoded[1] == "prev"
    # Walking backwards = walking forwards in the reversed order, then flipping the page.
    reverse_order = sort.descending != backwards
    order = [f"-{n}" if reverse_order else n for n in names]
    qs = qs.order_by(*order)
    if decoded is not None:
        qs = qs.filter(_seek(names, decoded[0], forward_gt=not reverse_order))
    rows = list(qs[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    if not rows:
        return KeysetPage(rows=[], next_cursor=None, prev_cursor=None)

    def key(row: Any) -> list[Any]:
        return [getattr(row, n) for n in names]

    if backwards:
        has_next, has_prev = True, has_more
    else:
        has_next, has_prev = has_more, decoded is not None
    return KeysetPage(
        rows=rows,
        next_cursor=_encode(key(rows[-1]), "next") if has_next else None,
        prev_cursor=_encode(key(rows[0]), "prev") if has_prev else None,
    )


def count_capped(qs: QuerySet, cap: int) -> tuple[int, bool]:
    """(count, exact): counts at most `cap` + 1 rows, so a broad filter never scans the table."""
    n = qs.order_by()[: cap + 1].count()
    return min(n, cap), n <= cap
