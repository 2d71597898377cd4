"""Segment pages: list, rule builder with a live count, members, comparison, export."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record
from fideliza.core.exports import CSV, XLSX, export_response, export_view

from .forms import SegmentForm, StaticListForm
from .funnel import STAGES, funnel, stage_customers
from .models import Segment, SegmentKind
from .permissions import can_edit_segments
from .rules import FIELDS, OP_LABELS, describe
from .selectors import (
    segment_customers,
    segment_export_sheet,
    segment_preview_count,
    segments_compare,
)
from .services import (
    segment_create,
    segment_refresh,
    segment_static_add,
    segment_update,
    static_list_resolve,
)

PAGE = 50


@login_required
def funnel_view(request: AuthedRequest) -> HttpResponse:
    return render(request, "segments/funnel.html", {"rows": funnel(user=request.user)})


@login_required
def funnel_stage(request: AuthedRequest, key: str) -> HttpResponse:
    stage = next((s for s in STAGES if s.key == key), None)
    if stage is None:
        raise Http404
    qs = stage_customers(key, user=request.user).order_by("pk")
    after = request.GET.get("after", "")
    if after.isdigit():
        qs = qs.filter(pk__gt=int(after))
    rows = list(qs[: PAGE + 1])
    return render(request, "segments/funnel_stage.html", {
        "stage": stage, "members": rows[:PAGE], "next_after": rows[PAGE - 1].pk if len(rows) > PAGE else None,
    })


def _field_catalogue() -> list[dict]:
    return [{"key": f.key, "label": str(f.label), "group": f.group, "kind": f.kind,
             "ops": [[op, str(OP_LABELS[op])] for op in f.ops],
             "choices": [list(c) for c in f.choices()] if f.choices else None}
            for f in FIELDS.values()]


def _editor(request: AuthedRequest) -> None:
    if not can_edit_segments(request.user):
        raise PermissionDenied


@login_required
def segment_list(request: AuthedRequest) -> HttpResponse:
    segments = [(segment, describe(segment.rules) if segment.rules else "")
                for segment in Segment.objects.filter(is_archived=False)]
    return render(request, "segments/list.html", {"segments": segments,
                                                  "can_edit": can_edit_segments(request.user)})


def _save(request: AuthedRequest, form: SegmentForm, segment: Segment | None) -> Segment | None:
    try:
        if segment is None:
            return segment_create(user=request.user, name=form.cleaned_data["name"],
                                  kind=form.cleaned_data["kind"], rules=form.cleaned_data["rules"],
                                  description=form.cleaned_data["description"])
        return segment_update(segment=segment, name=form.cleaned_data["name"],
                              rules=form.cleaned_data["rules"],
                              description=form.cleaned_data["description"])
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return None


@login_required
def segment_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    _editor(request)
    segment = get_object_or_404(Segment, pk=pk) if pk else None
    if request.method == "POST":
        form = SegmentForm(request.POST, instance=segment)
        if form.is_valid():
            saved = _save(request, form, segment)
            if saved is not None:
                messages.success(request, _("Segmento «%(name)s» guardado: %(n)s clientes.")
                                 % {"name": saved.name, "n": saved.member_count})
                return redirect("segments:detail", pk=saved.pk)
    else:
        initial = {"kind": SegmentKind.DYNAMIC, "rules": json.dumps({"op": "and", "rules": []})}
        if segment is not None:
            initial = {"name": segment.name, "description": segment.description, "kind": segment.kind,
                       "rules": json.dumps(segment.rules or {"op": "and", "rules": []})}
        form = SegmentForm(initial=initial, instance=segment)
    return render(request, "segments/edit.html", {
        "form": form, "segment": segment, "fields": _field_catalogue(),
        "rules_json": form["rules"].value() or "{}",
    })


@login_required
@require_POST
def segment_preview(request: AuthedRequest) -> HttpResponse:
    """The live count under the builder (htmx)."""
    try:
        rules = json.loads(request.POST.get("rules") or "{}")
        if not (rules.get("rules") or rules.get("field")):
            return render(request, "segments/_count.html", {"empty": True})
        count = segment_preview_count(rules, user=request.user)
    except (ValueError, AttributeError):
        return render(request, "segments/_count.html", {"error": _("Las reglas no son válidas.")})
    except ValidationError as exc:
        return render(request, "segments/_count.html", {"error": " ".join(exc.messages)})
    return render(request, "segments/_count.html", {"count": count, "text": describe(rules)})


@login_required
def segment_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    qs = segment_customers(segment, user=request.user).select_related("metrics").order_by("pk")
    after = request.GET.get("after", "")
    if after.isdigit():
        qs = qs.filter(pk__gt=int(after))
    rows = list(qs[: PAGE + 1])
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return render(request, "segments/detail.html", {
        "segment": segment, "members": rows, "next_after": rows[-1].pk if more else None,
        "visible_count": segment_customers(segment, user=request.user).count(),
        "rules_text": describe(segment.rules) if segment.rules else "",
        "can_edit": can_edit_segments(request.user), "static_form": StaticListForm(),
    })


@login_required
@require_POST
def segment_refresh_view(request: AuthedRequest, pk: int) -> HttpResponse:
    _editor(request)
    segment = get_object_or_404(Segment, pk=pk)
    added, removed = segment_refresh(segment=segment)
    messages.success(request, _("Recalculado: %(a)s altas y %(r)s bajas.") % {"a": added, "r": removed})
    return redirect("segments:detail", pk=pk)


@login_required
@require_POST
def segment_static_upload(request: AuthedRequest, pk: int) -> HttpResponse:
    _editor(request)
    segment = get_object_or_404(Segment, pk=pk, kind=SegmentKind.STATIC)
    form = StaticListForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Elija un archivo CSV."))
        return redirect("segments:detail", pk=pk)
    raw = form.cleaned_data["file"].read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    try:
        ids, errors = static_list_resolve(text)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("segments:detail", pk=pk)
    added = segment_static_add(segment=segment, customer_ids=ids)
    messages.success(request, _("%(n)s clientes añadidos a la lista.") % {"n": added})
    for error in errors[:20]:
        messages.warning(request, _("Fila %(row)s (%(value)s): %(message)s") % error)
    return redirect("segments:detail", pk=pk)


@login_required
def segment_compare(request: AuthedRequest) -> HttpResponse:
    ids = [int(i) for i in request.GET.getlist("ids") if i.isdigit()]
    segments = list(Segment.objects.filter(pk__in=ids))
    return render(request, "segments/compare.html", {
        "rows": segments_compare(segments, user=request.user),
        "all_segments": Segment.objects.filter(is_archived=False), "selected": set(ids),
    })


@export_view(CSV, XLSX)
@login_required
def segment_export(request: AuthedRequest, pk: int, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """CSV or XLSX of the members the user may see; the export itself is audited."""
    segment = get_object_or_404(Segment, pk=pk)
    if fmt not in (CSV, XLSX):
        raise Http404
    sheet, count = segment_export_sheet(segment, user=request.user)
    audit_record(actor=Actor.of(request.user, via="web"), action=AuditAction.EXPORT,
                 entity="segments.segment", entity_id=segment.pk, context={"rows": count, "format": fmt})
    return export_response(fmt=fmt, filename=f"segmento-{segment.pk}", sheets=[sheet])
