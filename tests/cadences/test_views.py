"""The cadence pages: owner and marketing edit rules, everyone reads them; «Perdiendo
contacto» lists each user's visible customers (a representative: their own), filters,
sorts by value and exports formula-safe; linked from «Mi día» and the Relación move."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation

from fideliza.accounts.services import Actor
from fideliza.cadences.models import CadenceRule
from fideliza.customers.models import Customer
from fideliza.interactions.services import interaction_log

from .conftest import NOW, rule_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _spanish_after():
    """Requests to /en/ leave English active in this thread; the next test starts in Spanish."""
    yield
    translation.activate("es")


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _form(shop, **over):
    data = {"name": "Platino: llamar cada 30 días", "audience": "tier", "tier": shop.platino.pk, "segment": "",
            "every_days": "30", "kinds": ["call", "visit"], "assign_to": "executive", "role": "owner",
            "priority": "1", "title_template": "Llamar a {{ nombre_completo }}", "due_time": "09:30",
            "starts_on": (NOW.date() - timedelta(days=10)).isoformat(), "is_active": "on"}
    data.update(over)
    return data


def test_the_owner_creates_edits_and_deactivates_a_rule(shop, owner):
    client = _client(owner)
    assert client.get(reverse("cadences:create")).status_code == 200
    response = client.post(reverse("cadences:create"), _form(shop))
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = CadenceRule.objects.get()
    assert (rule.tier_id, rule.every_days, rule.kinds, rule.priority, rule.due_time.hour) == \
        (shop.platino.pk, 30, ["call", "visit"], 1, 9)
    page = client.get(reverse("cadences:list")).content.decode()
    assert "Platino: llamar cada 30 días" in page and "Llamada, Visita" in page
    client.post(reverse("cadences:edit", args=[rule.pk]), _form(shop, every_days="45"))
    rule.refresh_from_db()
    assert rule.every_days == 45
    client.post(reverse("cadences:toggle", args=[rule.pk]))
    rule.refresh_from_db()
    assert not rule.is_active


def test_the_form_says_what_is_wrong_field_by_field(shop, owner):
    response = _client(owner).post(reverse("cadences:create"),
                                   _form(shop, tier="", kinds=[], every_days="0", title_template="{{ nombre"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) >= {"tier", "kinds", "every_days", "title_template"}
    assert "Elija el nivel." in errors["tier"]
    assert not CadenceRule.objects.exists()


def test_the_form_in_english(shop, owner):
    page = _client(owner).get("/en" + reverse("cadences:create")).content.decode()
    assert "New cadence" in page and "Interaction kinds that count as a contact" in page


def test_representatives_and_support_read_rules_but_do_not_edit_them(shop, owner, rep, django_user_model):
    rule = rule_make(owner, tier=shop.platino, starts_on=NOW.date())
    support = django_user_model.objects.create_user(username="soporte", password="x", role="support")
    for user in (rep, support):
        client = _client(user)
        assert client.get(reverse("cadences:list")).status_code == 200
        assert client.get(reverse("cadences:create")).status_code == 403
        assert client.post(reverse("cadences:edit", args=[rule.pk]), _form(shop)).status_code == 403
        assert client.post(reverse("cadences:toggle", args=[rule.pk])).status_code == 403
    rule.refresh_from_db()
    assert rule.is_active


def test_losing_touch_shows_a_representative_only_their_customers(shop, owner, rep):
    rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
    page = _client(rep).get(reverse("cadences:losing_touch")).content.decode()
    assert "Lucía García" in page and "Pedro Sanz" in page
    assert "Tomás Ibáñez" not in page and "Elena Ruiz" not in page
    everyone = _client(owner).get(reverse("cadences:losing_touch")).content.decode()
    assert "Tomás Ibáñez" in everyone and "Elena Ruiz" in everyone


def test_losing_touch_filters_and_sorts_by_value(shop, owner, rep, rep2):
    rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
    interaction_log(actor=Actor.of(rep), customer=shop.mine[0], kind="call", occurred_at=NOW - timedelta(days=40))
    client = _client(owner)
    late = client.get(reverse("cadences:losing_touch"), {"dias": "20"}).content.decode()
    assert "Lucía García" not in late and "Pedro Sanz" in late  # 10 days late vs 30
    theirs = client.get(reverse("cadences:losing_touch"), {"responsable": str(rep2.pk)}).content.decode()
    assert "Tomás Ibáñez" in theirs and "Pedro Sanz" not in theirs
    nobody = client.get(reverse("cadences:losing_touch"), {"responsable": "none"}).content.decode()
    assert "Elena Ruiz" in nobody and "Tomás Ibáñez" not in nobody
    assert client.get(reverse("cadences:losing_touch"), {"orden": "value"}).status_code == 200


def test_the_export_is_formula_safe_and_the_reps_own(shop, owner, rep):
    Customer.objects.filter(pk=shop.mine[0].pk).update(first_name="=HYPERLINK(\"http://x\")")
    rule_make(owner, tier=shop.platino, starts_on=NOW.date() - timedelta(days=60))
    response = _client(rep).get(reverse("cadences:losing_touch_export", args=["csv"]))
    text = b"".join(response.streaming_content).decode()
    text = text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if ";" in text.splitlines()[0] else ","))
    names = {(row[1], row[2]) for row in rows[1:]}
    assert ("Pedro", "Sanz") in names and ("'=HYPERLINK(\"http://x\")", "García") in names
    assert not any(cell.startswith("=") for row in rows for cell in row)
    assert not any("Ibáñez" in cell for row in rows for cell in row)


def test_my_day_and_the_relationship_move_link_to_the_pages(owner):
    client = _client(owner)
    assert reverse("cadences:losing_touch") in client.get(reverse("followups:my_day")).content.decode()
    move = client.get(reverse("web:move", args=["relacion"])).content.decode()
    assert reverse("cadences:losing_touch") in move and reverse("cadences:list") in move
