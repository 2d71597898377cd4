"""Thin views: the home page and the six moves' section pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from fideliza.accounts.http import AuthedRequest
from fideliza.followups.selectors import home_today

from .context_processors import may_open, safe_reverse
from .moves import MOVES_BY_SLUG, PYRAMID
from .selectors import home_figures, recent_imports


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    # Each covered stage links to its first tool, when the user's role may open it.
    stages = [(stage.label, stage.ready(),
               stage.url() if stage.ready() and may_open(request.user, stage.tools[0].url_name) else None)
              for stage in PYRAMID]
    return render(request, "web/home.html", {
        "figures": home_figures(user=request.user),
        "today": home_today(user=request.user),
        "imports": recent_imports(user=request.user),
        "imports_url": safe_reverse("imports:list") if may_open(request.user, "imports:list") else None,
        "pyramid": stages,
        "pyramid_ready": sum(1 for _label, ready, _url in stages if ready),
    })


@login_required
def move(request: AuthedRequest, slug: str) -> HttpResponse:
    m = MOVES_BY_SLUG.get(slug)
    if m is None:
        raise Http404
    links, later = [], []
    for tool in m.tools:
        if not tool.available():
            later.append(tool.label)  # not in Fideliza yet
        elif tool.may_open(request.user) and may_open(request.user, tool.url_name):
            links.append((tool.label, tool.url()))
    return render(request, "web/move.html", {"move": m, "links": links, "later": later})
