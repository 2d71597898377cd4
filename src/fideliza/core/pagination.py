"""Keyset (seek) pagination: pages cost the same at row 50 and at row 100 000.

OFFSET makes the database walk and discard every earlier row; a keyset page instead
asks for the rows *after* the last one shown, in index order. One `SortKey` describes an
ordering for both users of it, which differ only in their cursors:

- the web lists (`keyset_page`): next and previous pages; the cursor carries the sort-key
  values of the row, signed so nobody can forge one that breaks the query; a tampered
  cursor shows the first page.
- the API (`cursor_page`): next pages only; the cursor is unsigned base64url JSON
  ``{"s": sort name, "i": id, "v": value of the sort field}`` (the format the API has
  always emitted), and an invalid one raises `InvalidCursor` (a 422 in the API).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
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

def _api_encode(sort: SortKey, names: Sequence[str], row: Any) -> str:
    value = getattr(row, names[0])
    raw = {"s": sort.name, "i": row.pk, "v": value.isoformat() if isinstance(value, datetime) else value}
    return base64.urlsafe_b64encode(json.dumps(raw, separators=(",", ":")).encode()).decode().rstrip("=")


def _api_value(kind: str, value: Any) -> Any:
    if kind == "datetime":
        if not isinstance(value, str):
            raise InvalidCursor("bad datetime")
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise InvalidCursor("naive datetime")
        return parsed
    if kind == "str":
        if not isinstance(value, str):
            raise InvalidCursor("bad str")
        return value
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidCursor("bad int")
    return value


def _api_decode(sort: SortKey, cursor: str) -> list[Any]:
    """The sort-key values an API cursor of `sort` carries; InvalidCursor when it is not one."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(raw, dict) or raw.get("s") != sort.name:
            raise InvalidCursor("cursor of another ordering")
        last_id = raw["i"]
        if not isinstance(last_id, int) or isinstance(last_id, bool):
            raise InvalidCursor("bad id")
        value = _api_value(sort.kind, raw.get("v"))
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error) as exc:
        raise InvalidCursor(str(exc)) from None
    return [last_id] if len(sort.expressions) == 1 else [value, last_id]


def cursor_page(qs: QuerySet, *, sort: SortKey, cursor: str | None, limit: int) -> dict[str, Any]:
    """One API page of `qs` in `sort` (one field and the id, `SortKey.on`), after `cursor`:
    {"items": [...], "next": cursor or None}. InvalidCursor when `cursor` is not one of
    this ordering's."""
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
