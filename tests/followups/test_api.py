"""The follow-ups and interactions API: list (keyset pages), create, complete, snooze,
cancel; a sales representative never sees nor touches another one's customers."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from fideliza.accounts.services import Actor, api_token_create
from fideliza.followups.models import FollowUp, FollowUpStatus
from fideliza.followups.services import followup_create, local_moment
from fideliza.interactions.models import Interaction
from fideliza.interactions.services import interaction_log
from tests.api.conftest import ApiClient

from .conftest import NOW

pytestmark = pytest.mark.django_db


def _api(user) -> ApiClient:
    _token, plain = api_token_create(user=user, name=f"tpv-{user.username}", created_by=user)
    return ApiClient(plain)


@pytest.fixture
def work(people, owner):
    actor = Actor.of(owner)
    due = local_moment(NOW.date(), time(17))
    rows = {}
    for who in ("mine", "theirs", "nobody"):
        rows[who] = followup_create(actor=actor, customer=people[who], title=f"Llamar ({who})", due_at=due)
    return rows


def test_list_is_filtered_to_the_representatives_customers_and_paged_by_cursor(people, work, owner, rep):
    actor = Actor.of(owner)
    for days in range(1, 5):
        followup_create(actor=actor, customer=people["mine"], title=f"Más ({days})",
                        due_at=local_moment(NOW.date() + timedelta(days=days), time(9)))
    client = _api(rep)
    first = client.get("/api/v1/followups", {"limit": 3}).json()
    assert [f["title"] for f in first["items"]] == ["Llamar (mine)", "Más (1)", "Más (2)"]
    # A row inserted before the cursor does not shift the next page.
    followup_create(actor=actor, customer=people["mine"], title="Antes", due_at=local_moment(NOW.date(), time(8)))
    second = client.get("/api/v1/followups", {"limit": 3, "cursor": first["next"]}).json()
    assert [f["title"] for f in second["items"]] == ["Más (3)", "Más (4)"] and second["next"] is None
    everything = _api(owner).get("/api/v1/followups", {"limit": 200}).json()["items"]
    assert {f["customer_id"] for f in everything} == {c.pk for c in people.values()}
    assert client.get("/api/v1/followups", {"cursor": "nonsense"}).status_code == 422


def test_get_and_writes_on_another_representatives_follow_up_are_404(work, rep):
    client = _api(rep)
    theirs = work["theirs"].pk
    assert client.get(f"/api/v1/followups/{theirs}").status_code == 404
    assert client.post(f"/api/v1/followups/{theirs}/complete", {}).status_code == 404
    assert client.post(f"/api/v1/followups/{theirs}/snooze", {"until": "2026-06-20T09:00:00+02:00",
                                                              "reason": "x"}).status_code == 404
    assert client.post(f"/api/v1/followups/{theirs}/cancel", {"reason": "x"}).status_code == 404
    assert FollowUp.objects.get(pk=theirs).status == FollowUpStatus.OPEN


def test_create_with_a_business_zone_time_and_the_errors_it_declares(people, rep, rep2):
    client = _api(rep)
    created = client.post("/api/v1/followups", {"customer": people["mine"].pk, "title": "Visitar la obra",
                                                 "due_at": "2026-06-18T10:00:00", "priority": "high"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["assignee"], body["priority"], body["status"], body["origin_kind"]) == (
        rep.pk, "high", "open", "manual")
    assert FollowUp.objects.get(pk=body["id"]).due_at == local_moment(NOW.date() + timedelta(days=3), time(10))
    assert client.post("/api/v1/followups", {"customer": people["theirs"].pk, "title": "x",
                                             "due_at": "2026-06-18T10:00:00+02:00"}).status_code == 404
    refused = client.post("/api/v1/followups", {"customer": people["mine"].pk, "title": "x",
                                                "due_at": "2026-06-18T10:00:00+02:00", "assignee": rep2.pk})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "assignee"]
    missing = client.post("/api/v1/followups", {"customer": people["mine"].pk, "due_at": "mañana"})
    assert missing.status_code == 422
    assert {tuple(d["loc"]) for d in missing.json()["detail"]} >= {("body", "title"), ("body", "due_at")}


def test_complete_snooze_and_cancel(work, rep):
    client = _api(rep)
    mine = work["mine"].pk
    snoozed = client.post(f"/api/v1/followups/{mine}/snooze", {"until": "2026-06-16T09:00:00+02:00",
                                                                "reason": "Está de viaje"})
    assert snoozed.status_code == 200 and snoozed.json()["status"] == "snoozed"
    past = client.post(f"/api/v1/followups/{mine}/snooze", {"until": "2026-06-01T09:00:00+02:00", "reason": "x"})
    assert past.status_code == 422
    done = client.post(f"/api/v1/followups/{mine}/complete", {"outcome": "Compra el sábado"})
    assert done.status_code == 200 and done.json()["outcome"] == "Compra el sábado"
    again = client.post(f"/api/v1/followups/{mine}/cancel", {"reason": "x"})
    assert again.status_code == 422


def test_interactions_api_creates_with_a_next_step_and_lists_only_visible_ones(people, owner, rep):
    interaction_log(actor=Actor.of(owner), customer=people["theirs"], kind="visit", text="De Marta")
    client = _api(rep)
    created = client.post("/api/v1/interactions", {
        "customer": people["mine"].pk, "kind": "whatsapp", "outcome": "reached", "text": "Confirma la cita",
        "via": "centralita", "next_step": {"title": "Preparar pedido", "due_at": "2026-06-16T09:00:00+02:00"}},
        **{"Idempotency-Key": "llamada-1"})
    assert created.status_code == 201, created.content
    body = created.json()
    followup = FollowUp.objects.get(pk=body["next_followup"])
    assert (followup.origin_kind, followup.origin_id, followup.assignee) == ("interaction", body["id"], rep)
    replay = client.post("/api/v1/interactions", {
        "customer": people["mine"].pk, "kind": "whatsapp", "outcome": "reached", "text": "Confirma la cita",
        "via": "centralita", "next_step": {"title": "Preparar pedido", "due_at": "2026-06-16T09:00:00+02:00"}},
        **{"Idempotency-Key": "llamada-1"})
    assert replay.json() == body and Interaction.objects.count() == 2
    listed = client.get("/api/v1/interactions").json()
    assert [i["text"] for i in listed["items"]] == ["Confirma la cita"]
    assert client.post("/api/v1/interactions", {"customer": people["theirs"].pk, "kind": "call"}).status_code == 404
    future = client.post("/api/v1/interactions", {"customer": people["mine"].pk, "kind": "call",
                                                  "occurred_at": "2026-06-20T10:00:00+02:00"})
    assert future.status_code == 422 and future.json()["detail"][0]["loc"] == ["body", "occurred_at"]
    bad_step = client.post("/api/v1/interactions", {
        "customer": people["mine"].pk, "kind": "call",
        "next_step": {"title": "x", "due_at": "2026-06-16T09:00:00+02:00", "assignee": owner.pk + 1000}})
    assert bad_step.status_code == 422 and Interaction.objects.count() == 2


def test_the_endpoints_are_in_the_openapi_document_with_their_errors(owner):
    schema = _api(owner).get("/api/openapi.json").json()
    for path, method in (("/api/v1/followups", "get"), ("/api/v1/followups", "post"),
                         ("/api/v1/followups/{followup_id}/complete", "post"),
                         ("/api/v1/followups/{followup_id}/snooze", "post"),
                         ("/api/v1/interactions", "get"), ("/api/v1/interactions", "post")):
        responses = schema["paths"][path][method]["responses"]
        assert {"401", "422"} <= set(responses), (path, method)
    assert {"FollowUpOut", "FollowUpPage", "InteractionOut", "InteractionPage"} <= set(schema["components"]["schemas"])


def test_reassign_to_a_role_or_a_person_with_the_services_rules(work, owner, rep, rep2):
    client = _api(owner)
    mine = work["mine"].pk
    to_role = client.post(f"/api/v1/followups/{mine}/reassign", {"assignee_role": "support"})
    assert to_role.status_code == 200 and (to_role.json()["assignee"], to_role.json()["assignee_role"]) == (
        None, "support")
    refused = client.post(f"/api/v1/followups/{mine}/reassign", {"assignee": rep2.pk})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "assignee"]
    assert _api(rep2).post(f"/api/v1/followups/{mine}/reassign", {"assignee": rep2.pk}).status_code == 404
