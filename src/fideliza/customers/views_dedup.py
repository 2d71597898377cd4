"""Duplicate review: the queue, a pair side by side, merge history with undo."""

from __future__ import annotations

from datetime import date, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Field, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.models import Role
from fideliza.accounts.services import Actor
from fideliza.core.jobs import job_get, job_latest
from fideliza.core.money import MoneyField, money_format, quantize_money

from .dedup import match_candidate_decide, pending_candidates
from .merging import MERGED_FIELDS, customer_merge_undo, merge_plan
from .models import Customer, CustomerMerge, MatchCandidate
from .names import NAME_GROUPS
from .tasks import dedup_enqueue

MERGE_ROLES = frozenset({Role.OWNER, Role.MARKETING, Role.SUPPORT})
PAGE = 50


def _can_merge(user) -> bool:
    return bool(user.is_superuser or user.role in MERGE_ROLES)


def _guard(request: AuthedRequest) -> None:
    if not _can_merge(request.user):
        raise PermissionDenied


@login_required
def queue(request: AuthedRequest) -> HttpResponse:
    _guard(request)
    # Ordered by score, so page numbers (a review queue is hundreds of rows, not millions).
    page = Paginator(pending_candidates().order_by("-score", "pk"), PAGE).get_page(request.GET.get("page"))
    job = job_latest(kind="customers.dedup")
    return render(request, "customers/dedup/queue.html", {
        "candidates": page.object_list, "page": page, "job": job,
        "pending": pending_candidates().count(),
        "merged_total": CustomerMerge.objects.filter(undone_at__isnull=True).count(),
    })


@login_required
@require_POST
def run(request: AuthedRequest) -> HttpResponse:
    _guard(request)
    dedup_enqueue(user=request.user)
    messages.info(request, _("Búsqueda de duplicados en marcha."))
    return redirect("dedup:queue")


@login_required
def job_status(request: AuthedRequest, pk: int) -> HttpResponse:
    _guard(request)
    job = job_get(pk, kind="customers.dedup")
    if job is None:
        raise Http404
    return render(request, "customers/dedup/_job.html", {"job": job})


def _card_stats(customer: Customer) -> dict:
    stats = customer.orders.aggregate(orders=Count("pk"), total=Sum("total"))
    # SQLite sums decimals as floats: back to cents for display.
    stats["total"] = quantize_money(stats["total"] or 0)
    return stats


def _shown(field, value):
    """A card value as people read it: the label of a choice, not its code; money with its
    currency."""
    if isinstance(field, MoneyField) and value is not None:
        return money_format(value)
    # Dates as the reader writes them (the merged columns go through linebreaksbr, which
    # would print a date object as ISO); yes/no in words.
    if isinstance(value, datetime):
        return date_format(localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, bool):
        return _("Sí") if value else _("No")
    choices = dict(field.flatchoices) if field.choices else {}
    return choices.get(value, value)


def _pair_rows(a: Customer, b: Customer) -> list[dict]:
    """One row per field — a name as one row, as it is merged whole — with what stays if A
    is kept and if B is kept."""
    keep_a, keep_b = merge_plan(a, b), merge_plan(b, a)
    grouped = {name: group for group, fields in NAME_GROUPS.items() for name in fields}
    rows, seen = [], set()
    for name in MERGED_FIELDS:
        group = grouped.get(name)
        if group is not None and group in seen:
            continue
        fields = NAME_GROUPS[group] if group else (name,)
        if group is not None:
            seen.add(group)

        def text(values: dict | Customer, fields=fields) -> object:
            get = values.get if isinstance(values, dict) else lambda f: getattr(values, f)
            if len(fields) == 1:
                return _shown(Customer._meta.get_field(fields[0]), get(fields[0]))
            return " ".join(str(get(f) or "") for f in fields).strip()

        va, vb = text(a), text(b)
        if va in (None, "") and vb in (None, ""):
            continue
        if group == "name":
            label = _("Nombre y apellidos")
        else:
            field = Customer._meta.get_field(name)
            assert isinstance(field, Field), name  # MERGED_FIELDS are the card's own columns
            label = str(capfirst(field.verbose_name))
        rows.append({"label": label, "a": va, "b": vb, "differs": va != vb,
                     "keep_a": text(keep_a.values), "keep_b": text(keep_b.values)})
    return rows


@login_required
def pair(request: AuthedRequest, pk: int) -> HttpResponse:
    _guard(request)
    candidate = get_object_or_404(MatchCandidate.objects.select_related("customer_a", "customer_b"), pk=pk)
    a, b = candidate.customer_a, candidate.customer_b
    return render(request, "customers/dedup/pair.html", {
        "candidate": candidate, "a": a, "b": b, "rows": _pair_rows(a, b),
        "stats_a": _card_stats(a), "stats_b": _card_stats(b),
        "sources_a": list(a.source_ids.all()), "sources_b": list(b.source_ids.all()),
    })


@login_required
@require_POST
def decide(request: AuthedRequest, pk: int) -> HttpResponse:
    _guard(request)
    candidate = get_object_or_404(MatchCandidate, pk=pk)
    verdict = request.POST.get("verdict")
    actor = Actor.of(request.user, via="web")
    try:
        if verdict == "distinct":
            match_candidate_decide(actor=actor, candidate=candidate, same=False)
            messages.success(request, _("Anotado: no son la misma persona."))
        elif verdict in ("keep_a", "keep_b"):
            survivor = candidate.customer_a if verdict == "keep_a" else candidate.customer_b
            match_candidate_decide(actor=actor, candidate=candidate, same=True, survivor=survivor)
            messages.success(request, _("Fichas fusionadas en «%(name)s».") % {"name": survivor.display_name})
        else:
            messages.error(request, _("Elija una opción."))
            return redirect("dedup:pair", pk=pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("dedup:queue")


@login_required
def merges(request: AuthedRequest) -> HttpResponse:
    _guard(request)
    rows = CustomerMerge.objects.select_related("survivor", "duplicate", "created_by").order_by("-created_at")[:200]
    return render(request, "customers/dedup/merges.html", {"merges": rows})


@login_required
@require_POST
def undo(request: AuthedRequest, pk: int) -> HttpResponse:
    _guard(request)
    merge = get_object_or_404(CustomerMerge, pk=pk)
    try:
        customer_merge_undo(actor=Actor.of(request.user, via="web"), merge=merge)
        messages.success(request, _("Fusión deshecha: las dos fichas vuelven a estar como antes."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("dedup:merges")
