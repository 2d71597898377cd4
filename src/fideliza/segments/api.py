"""REST endpoints for segments: the targets of campaigns, automations and loyalty rules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from fideliza.accounts.auth import request_user
from fideliza.api_support import (
    CURSOR_DOC,
    DEFAULT_LIMIT,
    ERRORS_READ,
    ERRORS_WRITE,
    MAX_LIMIT,
    DbId,
    cursor_pattern,
    paginate,
)
from fideliza.core.pagination import SortKey

from .models import Segment, SegmentKind
from .permissions import can_edit_segments
from .rules import FIELDS, OP_LABELS, describe
from .selectors import segment_customers, segment_preview_count, segments_compare
from .services import segment_create, segment_refresh, segment_update

router = Router(tags=["segments"])
BY_ID = SortKey.on("id", "id")


class SegmentIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    kind: Literal["dynamic", "static"] = "dynamic"
    rules: dict[str, Any] = Field(default_factory=dict, description=(
        'A group {"op": "and"|"or", "negate": false, "rules": [...]} of rules '
        '{"field": "city", "cmp": "eq", "value": "Córdoba"}; see GET /v1/segments/fields.'))


class SegmentPatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = None
    rules: dict[str, Any] | None = None


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    rules: dict[str, Any]
    rules_text: str
    member_count: int
    computed_at: datetime | None


class SegmentPreviewIn(Schema):
    rules: dict[str, Any]


class SegmentPreviewOut(Schema):
    count: int
    rules_text: str


class SegmentMemberOut(Schema):
    id: int
    display_name: str
    email: str
    phone: str
    city: str


class SegmentMembersPage(Schema):
    items: list[SegmentMemberOut]
    next: str | None


class SegmentFieldOut(Schema):
    key: str
    label: str
    group: str
    kind: str
    ops: list[dict[str, str]]
    choices: list[list[str]] | None


class SegmentCompareOut(Schema):
    id: int
    name: str
    size: int
    revenue: Decimal | None
    margin: Decimal | None
    clv_historic: Decimal | None
    clv_predicted: Decimal | None
    churn_risk: float | None
    p_alive: float | None


def _out(segment: Segment) -> dict[str, Any]:
    return {**{f: getattr(segment, f) for f in ("id", "name", "description", "kind", "rules",
                                                "member_count", "computed_at")},
            "rules_text": describe(segment.rules) if segment.rules else ""}


def _editor(request: HttpRequest):
    user = request_user(request)
    if not can_edit_segments(user):
        raise HttpError(403, _("Su rol no permite esta operación."))
    return user


@router.get("/fields", response={200: list[SegmentFieldOut], **ERRORS_READ}, summary="Fields and operators segment rules can use")
def fields(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"key": f.key, "label": str(f.label), "group": f.group, "kind": f.kind,
             "ops": [{"op": op, "label": str(OP_LABELS[op])} for op in f.ops],
             "choices": [list(c) for c in f.choices()] if f.choices else None}
            for f in FIELDS.values()]


@router.get("", response={200: list[SegmentOut], **ERRORS_READ}, summary="List segments")
def list_segments(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(s) for s in Segment.objects.filter(is_archived=False)]


@router.post("", response={201: SegmentOut, **ERRORS_WRITE}, summary="Create a segment")
def create_segment(request: HttpRequest, payload: SegmentIn) -> Status:
    user = _editor(request)
    segment = segment_create(user=user, name=payload.name, kind=payload.kind, rules=payload.rules,
                             description=payload.description)
    return Status(201, _out(segment))


@router.post("/preview", response={200: SegmentPreviewOut, **ERRORS_READ}, summary="Count the customers rules select")
def preview(request: HttpRequest, payload: SegmentPreviewIn) -> dict[str, Any]:
    count = segment_preview_count(payload.rules, user=request_user(request))
    return {"count": count, "rules_text": describe(payload.rules)}


@router.get("/compare", response={200: list[SegmentCompareOut], **ERRORS_READ},
            summary="Size, revenue, margin, CLV and churn risk of segments side by side")
def compare(request: HttpRequest, ids: list[DbId] = Query(...)) -> list[dict[str, Any]]:  # noqa: B008
    segments = list(Segment.objects.filter(pk__in=ids))
    rows = segments_compare(segments, user=request_user(request))
    return [{"id": r["segment"].pk, "name": r["segment"].name, **{k: v for k, v in r.items() if k != "segment"}}
            for r in rows]


@router.get("/{segment_id}", response={200: SegmentOut, **ERRORS_READ}, url_name="segment_get")
def get_segment(request: HttpRequest, segment_id: DbId) -> dict[str, Any]:
    return _out(get_object_or_404(Segment, pk=segment_id))


@router.patch("/{segment_id}", response={200: SegmentOut, **ERRORS_WRITE})
def patch_segment(request: HttpRequest, segment_id: DbId, payload: SegmentPatch) -> dict[str, Any]:
    _editor(request)
    segment = get_object_or_404(Segment, pk=segment_id)
    segment = segment_update(segment=segment, name=payload.name, rules=payload.rules,
                             description=payload.description)
    return _out(segment)


@router.post("/{segment_id}/refresh", response={200: SegmentOut, **ERRORS_WRITE},
             summary="Recompute a dynamic segment's members now")
def refresh(request: HttpRequest, segment_id: DbId) -> dict[str, Any]:
    _editor(request)
    segment = get_object_or_404(Segment, pk=segment_id)
    segment_refresh(segment=segment)
    return _out(segment)


@router.get("/{segment_id}/members", response={200: SegmentMembersPage, **ERRORS_READ},
            summary="Members visible to the caller (a sales rep sees only theirs)")
def members(request: HttpRequest, segment_id: DbId,
            cursor: str | None = Query(None, pattern=cursor_pattern([BY_ID]), description=CURSOR_DOC),
            limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
            live: bool = False) -> dict[str, Any]:
    segment = get_object_or_404(Segment, pk=segment_id)
    qs = segment_customers(segment, user=request_user(request), live=live and segment.kind == SegmentKind.DYNAMIC)
    page = paginate(qs, sort=BY_ID, cursor=cursor, limit=limit)
    page["items"] = [{"id": c.pk, "display_name": c.display_name, "email": c.email, "phone": c.phone,
                      "city": c.city} for c in page["items"]]
    return page
