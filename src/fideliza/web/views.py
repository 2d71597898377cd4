"""Thin views: the home page and the six moves' section pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from .context_processors import may_open, safe_reverse
from .http import AuthedRequest
from .moves import MOVES_BY_SLUG, PYRAMID
from .selectors import home_figures, recent_imports


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    return render(request, "web/home.html", {
        "figures": home_figures(user=request.user),
        "imports": recent_imports(user=request.user),
        "imports_url": safe_reverse("imports:list") if may_open(request.user, "imports:list") else None,
        "pyramid": PYRAMID,
    })


@login_required
def move(request: AuthedRequest, slug: str) -> HttpResponse:
    m = MOVES_BY_SLUG.get(slug)
    if m is None:
        raise Http404
    links = []
    for link in m.now:
        if (link.staff_only and not request.user.is_staff) or not may_open(request.user, link.url_name):
            continue
        url = safe_reverse(link.url_name, link.query)
        if url:
            links.append((link.label, url))
    # A tool listed as "later" whose page now exists is no longer announced as missing.
    later = [item.label for item in m.later if not (item.done_by and safe_reverse(item.done_by))]
    return render(request, "web/move.html", {"move": m, "links": links, "later": later})
