"""The goals page is where the Retención move's «metas de retención» leads, and the home
pyramid says which stages Fideliza covers and what the others still lack."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fideliza.web.moves import MOVES_BY_SLUG, PYRAMID

pytestmark = pytest.mark.django_db


def test_the_retention_move_links_its_goals_tool_to_the_goals_page(client, owner):
    tool = next(t for t in MOVES_BY_SLUG["retencion"].tools if t.url_name == "goals:list")
    assert tool.available() and tool.url() == reverse("goals:list")
    client.force_login(owner)
    page = client.get(reverse("web:move", kwargs={"slug": "retencion"}))
    assert (str(tool.label), reverse("goals:list")) in page.context["links"]
    assert str(tool.label) not in [str(label) for label in page.context["later"]]


def test_the_home_pyramid_names_what_each_uncovered_stage_lacks(client, owner):
    client.force_login(owner)
    body = client.get("/").content.decode()
    missing = [stage for stage in PYRAMID if not stage.ready()]
    for stage in missing:
        lacking = ", ".join(str(t.label) for t in stage.tools if not t.available())
        assert f"{stage.label}: falta {lacking}." in body
    assert reverse("goals:list") in body  # the counts per stage, beside the goals
