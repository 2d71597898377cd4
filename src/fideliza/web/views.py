"""Thin views: the home page and the six moves' section pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from fideliza.accounts.http import AuthedRequest
from fideliza.followups.selectors import home_today
from fideliza.plan.models import PlanItemStatus
from fideliza.plan.selectors import move_items, move_lines, plan_today
from fideliza.plan.views import may_edit_plan

from .context_processors import may_open, safe_reverse
from .moves import MOVES_BY_SLUG, PYRAMID
from .selectors import home_figures, recent_imports


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    # Each covered stage links to its first tool, when the user's role may open it.
    stages = [(stage.label, stage.ready(),
               stage.url() if stage.ready() and may_open(request.user, stage.tools[0].url_name) else None)
              for stage in PYRAMID]
    # What each stage still lacks, said in words under the pyramid (not only a missing mark).
    missing = [(stage.label, [tool.label for tool in stage.tools if not tool.available()])
               for stage in PYRAMID if not stage.ready()]
    return render(request, "web/home.html", {
        "figures": home_figures(user=request.user),
        "today": home_today(user=request.user),
        "plan": plan_today(user=request.user),
        "imports": recent_imports(user=request.user),
        "imports_url": safe_reverse("imports:list") if may_open(request.user, "imports:list") else None,
        "pyramid": stages,
        "pyramid_ready": sum(1 for _label, ready, _url in stages if ready),
        "pyramid_missing": missing,
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
    return render(request, "web/move.html", {
        "move": m, "links": links, "later": later,
        "lines": move_lines(move=m.slug, user=request.user),
        "items": move_items(move=m.slug, user=request.user),
        "can_edit_plan": may_edit_plan(request.user),
        "statuses": PlanItemStatus.choices,
    })
