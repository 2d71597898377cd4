"""The insights API: per-customer scores with role scoping, business metrics, recompute."""

from __future__ import annotations

import pytest

from fideliza.accounts.services import api_token_create
from fideliza.insights.services import snapshot_recompute

from .conftest import AS_OF

pytestmark = pytest.mark.django_db

BASE = "/api/v1/insights"


@pytest.fixture
def snapshot(small_business):
    return snapshot_recompute(as_of=AS_OF)


@pytest.fixture
def reps(small_business, make_user):
    """Rep 1 owns Ana and Carmen; rep 2 owns Blas."""
    rep1, rep2 = make_user("rep1", "sales_rep"), make_user("rep2", "sales_rep")
    for key, rep in (("ana", rep1), ("carmen", rep1), ("blas", rep2)):
        small_business[key].account_executive = rep
        small_business[key].save(update_fields=["account_executive"])
    return rep1, rep2


def test_customer_scores_for_the_owner(client, owner, small_business, snapshot):
    client.force_login(owner)
    response = client.get(f"{BASE}/customers/{small_business['ana'].pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["revenue"] == "230.00" and body["margin"] == "100.00"
    assert body["clv_historic"] == "100.00" and body["clv_predicted"] is None
    assert (body["rfm_segment"], body["rfm_segment_label"]) == ("at_risk", "En riesgo")
    assert body["as_of"] == AS_OF.isoformat()
    assert body["churn_reason"] == "compró hace 29 días; su intervalo habitual es 71"
    assert body["next_product_name"] == "Brocha"


def test_a_customer_without_purchases_is_404(client, owner, small_business, snapshot):
    client.force_login(owner)
    assert client.get(f"{BASE}/customers/{small_business['nadie'].pk}").status_code == 404


def test_a_sales_rep_sees_only_their_customers_scores(client, small_business, snapshot, reps):
    rep1, _rep2 = reps
    client.force_login(rep1)
    assert client.get(f"{BASE}/customers/{small_business['ana'].pk}").status_code == 200
    assert client.get(f"{BASE}/customers/{small_business['blas'].pk}").status_code == 404
    listed = client.get(f"{BASE}/customers").json()
    assert {r["customer_id"] for r in listed["items"]} == {
        small_business["ana"].pk, small_business["carmen"].pk}
    # No business-wide figures for a rep.
    assert client.get(f"{BASE}/metrics").status_code == 403
    assert client.get(f"{BASE}/metrics/kpis").status_code == 403


def test_list_filters_and_cursor(client, owner, small_business, snapshot):
    client.force_login(owner)
    page = client.get(f"{BASE}/customers", {"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next"]
    rest = client.get(f"{BASE}/customers", {"limit": 2, "cursor": page["next"]}).json()
    assert len(rest["items"]) == 1 and rest["next"] is None
    ids = [r["customer_id"] for r in page["items"] + rest["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 3
    a_class = client.get(f"{BASE}/customers", {"abc_revenue": "A"}).json()["items"]
    assert {r["customer_id"] for r in a_class} == {small_business["ana"].pk, small_business["blas"].pk}
    dormant = client.get(f"{BASE}/customers", {"activity_state": "dormant"}).json()["items"]
    assert [r["customer_id"] for r in dormant] == [small_business["blas"].pk]
    assert client.get(f"{BASE}/customers", {"cursor": "basura"}).status_code == 422
    assert client.get(f"{BASE}/customers", {"min_churn_risk": 2}).status_code == 422


def test_metrics_documents(client, owner, snapshot):
    client.force_login(owner)
    everything = client.get(f"{BASE}/metrics").json()
    assert everything["run_id"] == snapshot.pk
    for key in ("kpis", "pareto", "rfm_grid", "abc_transition", "cohorts", "retention_series",
                "clv_histogram", "segments", "acquisition"):
        assert key in everything
    kpis = client.get(f"{BASE}/metrics/kpis").json()
    assert kpis["kpis"]["revenue_12m"] == "410.00"
    for name in ("retention", "cohorts", "pareto", "abc-transition", "rfm-grid", "segments",
                 "clv-distribution", "acquisition", "distributions"):
        response = client.get(f"{BASE}/metrics/{name}")
        assert response.status_code == 200, name
    assert client.get(f"{BASE}/metrics/nope").status_code == 422


def test_metrics_before_any_run_is_404(client, owner, db):
    client.force_login(owner)
    assert client.get(f"{BASE}/metrics").status_code == 404


def test_token_auth_and_recompute_roles(client, owner, small_business, make_user,
                                        django_capture_on_commit_callbacks):
    _token, plain = api_token_create(user=owner, name="tpv")
    headers = {"Authorization": f"Bearer {plain}"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{BASE}/recompute", headers=headers)
    assert response.status_code == 202
    run_id = response.json()["id"]
    detail = client.get(f"{BASE}/runs/{run_id}", headers=headers).json()
    assert detail["status"] == "succeeded" and detail["customers"] == 3
    assert "snapshot" in detail["parameters"]
    status = client.get(f"{BASE}/status", headers=headers).json()
    assert status["current_run"]["id"] == run_id and status["stale_since"] is None
    support = make_user("soporte", "support")
    client.force_login(support)
    assert client.post(f"{BASE}/recompute").status_code == 403
    assert client.get(f"{BASE}/metrics").status_code == 200  # support sees every customer


def test_anonymous_is_401(client, snapshot):
    assert client.get(f"{BASE}/customers").status_code == 401
    assert client.get(f"{BASE}/metrics").status_code == 401
