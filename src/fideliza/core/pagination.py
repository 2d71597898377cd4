"""Keyset (seek) pagination: pages cost the same at row 50 and at row 100 000.

OFFSET makes the database walk and discard every earlier row; a keyset page instead
asks for the rows *after* the last one shown, in index order. One `SortKey` describes an
ordering for both users of it, which differ only in their cursors:

- the web lists (`keyset_page`): next and previous pages; the cursor carries the sort-key
  values of the row, signed so nobody can forge one that breaks the query; a tampered
  cursor shows the first page.
- the API (`cursor_page`): next pages only; the cursor is the readable
  "<ordering>.<last id>[.<last value>]" whose pattern the OpenAPI document gives (every
  string it allows is a position), and one that does not match raises `InvalidCursor`
  (a 422 in the API).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core import signing
from django.db.models import Expression, F, Q, QuerySet

_SALT = "fideliza.web.pagination"  # the salt of the signed cursors in links people keep: never change it


@dataclass(frozen=True)
class SortKey:
    """One ordering: expressions compared in order, all ascending or all descending.

    The last expression must be unique (the primary key) so the order is total. `name`
    names the ordering in the API's `sort` parameter and cursors; `kind` is the type of the
    first expression's value in an API cursor (int | datetime | str).
    """

    expressions: Sequence[Expression | str]
    descending: bool = False
    name: str = ""
    kind: str = "int"

    @classmethod
    def on(cls, name: str, field: str, *, descending: bool = False, kind: str = "int") -> SortKey:
        """An API ordering: `field`, then the id as tie-breaker (the id alone for "id")."""
        return cls(("id",) if field == "id" else (field, "id"), descending, name, kind)


class InvalidCursor(ValueError):
    """An API cursor that is not one this ordering emitted."""


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


def _ordered(qs: QuerySet, sort: SortKey) -> tuple[QuerySet, list[str]]:
    """`qs` with every sort expression reachable by a name: plain fields by their own (so
    the query orders by the indexed column), expressions through an annotation."""
    names: list[str] = []
    annotations = {}
    for i, e in enumerate(sort.expressions):
        if isinstance(e, str) and "__" not in e:
            names.append(e)
        else:
            names.append(f"_seek{i}")
            annotations[f"_seek{i}"] = F(e) if isinstance(e, str) else e
    return (qs.annotate(**annotations) if annotations else qs), names


def keyset_page(qs: QuerySet, *, sort: SortKey, cursor: str | None, size: int) -> KeysetPage:
    """One page of `qs` in `sort` order, after (or, for a "prev" cursor, before) `cursor`.

    An invalid or tampered cursor yields the first page.
    """
    qs, names = _ordered(qs, sort)
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


# --- the API's cursors ---------------------------------------------------------------
# An API cursor is "<ordering>.<last id>[.<last value>]", e.g. "-placed_at.812.1741949400000000":
# the position after which the next page starts. Every string the OpenAPI pattern allows is
# a position (any id, any value), so no well-formed cursor is refused; the ordering it names
# is the one it continues, whatever `sort` says. Values: datetimes as microseconds since
# 1970-01-01 UTC (±317 years), texts as unpadded base64url of their UTF-8.
_CURSOR_ID = r"[0-9]{1,18}"
_CURSOR_VALUE = {
    "int": r"-?[0-9]{1,18}",
    "datetime": r"-?[0-9]{1,16}",
    "str": r"(?:[A-Za-z0-9_-]{4}){0,200}(?:[A-Za-z0-9_-]{2,3})?",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _id_only(sort: SortKey) -> bool:
    return len(sort.expressions) == 1


def api_cursor_pattern(sort: SortKey) -> str:
    """The regular expression of the API cursors of `sort` (unanchored)."""
    head = rf"{re.escape(sort.name)}\.{_CURSOR_ID}"
    return head if _id_only(sort) else rf"{head}\.{_CURSOR_VALUE[sort.kind]}"


def _api_encode(sort: SortKey, names: Sequence[str], row: Any) -> str:
    if _id_only(sort):
        return f"{sort.name}.{row.pk}"
    value = getattr(row, names[0])
    if sort.kind == "datetime":
        text = str((value - _EPOCH) // _MICROSECOND)
    elif sort.kind == "str":
        text = base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")
    else:
        text = str(value)
    return f"{sort.name}.{row.pk}.{text}"


def _api_decode(sort: SortKey, cursor: str) -> list[Any]:
    """The sort-key values an API cursor of `sort` carries; InvalidCursor when it is not one."""
    if not re.fullmatch(api_cursor_pattern(sort), cursor):
        raise InvalidCursor("not a cursor of this ordering")
    parts = cursor.split(".")
    last_id = int(parts[1])
    if _id_only(sort):
        return [last_id]
    text = parts[2]
    value: Any
    if sort.kind == "datetime":
        value = _EPOCH + int(text) * _MICROSECOND
    elif sort.kind == "str":
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        # Any bytes are a position; a NUL cannot reach PostgreSQL's text type.
        value = raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    else:
        value = int(text)
    return [value, last_id]


def cursor_page(qs: QuerySet, *, sort: SortKey, cursor: str | None, limit: int,
                sorts: Sequence[SortKey] = ()) -> dict[str, Any]:
    """One API page of `qs` (orderings of one field and the id, `SortKey.on`): {"items":
    [...], "next": cursor or None}. In `sort` order, or in the order the cursor names (one of
    `sorts`, `sort` included): a cursor continues its own ordering. InvalidCursor when
    `cursor` is not a cursor of that ordering."""
    if cursor:
        name = cursor.split(".", 1)[0]
        sort = next((key for key in (*sorts, sort) if key.name == name), sort)
    if len(sort.expressions) > 2:
        raise ValueError("an API ordering is one field and the id")
    qs, names = _ordered(qs, sort)
    if cursor:
        qs = qs.filter(_seek(names, _api_decode(sort, cursor), forward_gt=not sort.descending))
    rows = list(qs.order_by(*(f"-{n}" if sort.descending else n for n in names))[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next": _api_encode(sort, names, rows[-1]) if more and rows else None}


def count_capped(qs: QuerySet, cap: int) -> tuple[int, bool]:
    """(count, exact): counts at most `cap` + 1 rows, so a broad filter never scans the table."""
    n = qs.order_by()[: cap + 1].count()
    return min(n, cap), n <= cap
