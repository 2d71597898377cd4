"""The dashboard page, the recompute button with its progress fragment, the card include."""

from __future__ import annotations

import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from fideliza.insights.models import RunStatus, SnapshotRun
from fideliza.insights.selectors import customer_insights_context
from fideliza.insights.services import snapshot_mark_stale, snapshot_recompute

from .conftest import AS_OF

pytestmark = pytest.mark.django_db

CHARTS = ("chart-pareto", "chart-retention", "chart-rfm", "chart-abc", "chart-cohorts",
          "chart-clv", "chart-churn")


def chart_svgs(html: str) -> dict[str, str]:
    """{section id: the <svg> markup inside it}."""
    found = {}
    for chart in CHARTS:
        match = re.search(rf'<section[^>]*id="{chart}".*?(<svg.*?</svg>)', html, re.S)
        if match:
            found[chart] = match.group(1)
    return found


def test_dashboard_draws_every_chart_on_the_demo_business(client, owner, demo_business):
    snapshot_recompute(as_of=AS_OF.replace(year=2025, month=12, day=31))
    client.force_login(owner)
    response = client.get(reverse("insights:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    svgs = chart_svgs(html)
    assert set(svgs) == set(CHARTS)
    for name, svg in svgs.items():
        # A drawn chart has marks (lines, cells or bars), not only the "no data" text.
        assert re.search(r"<(polyline|rect|circle)\b", svg), name
        assert "Sin datos" not in svg, name
    assert html.count("¿cómo se calcula?") >= 10
    assert 'id="kpi-retention"' in html and 'id="kpi-cac"' in html
    assert 'id="kpi-nps"' in html and 'id="kpi-csat"' in html  # from the surveys, none invented
    # The Pareto sentence gives a percentage in the reader's format, not a share of 1.
    assert re.search(r"El 20 % de los clientes que más compran hace el \d{1,3},\d % de las ventas\.", html)
    assert "(1 = todas)" not in html
    # Customers beyond the forecast horizon are said as a note, not listed among the warnings.
    warnings = re.search(r'<ul class="warnings".*?</ul>', html, re.S)
    assert warnings is None or "sin próxima compra esperada" not in warnings.group(0)
    assert re.search(r'<p class="small muted run-note">[\d.]+ clientes sin próxima compra esperada', html)


def test_dashboard_on_a_small_base_says_what_is_missing(client, owner, small_business):
    snapshot_recompute(as_of=AS_OF)
    client.force_login(owner)
    html = client.get(reverse("insights:dashboard")).content.decode()
    assert set(chart_svgs(html)) == set(CHARTS)  # every chart present, some with a message
    assert "Sin modelo predictivo" in html
    assert "pocos clientes con compras repetidas" in html
    assert "Datos de" in html


def test_dashboard_says_when_there_are_new_sales(client, owner, small_business):
    snapshot_recompute(as_of=AS_OF)
    client.force_login(owner)
    assert "Hay ventas nuevas" not in client.get(reverse("insights:dashboard")).content.decode()
    snapshot_mark_stale()
    html = client.get(reverse("insights:dashboard")).content.decode()
    assert 'id="stale-note"' in html and "Hay ventas nuevas desde entonces" in html


def test_dashboard_before_any_run(client, owner, db):
    client.force_login(owner)
    html = client.get(reverse("insights:dashboard")).content.decode()
    assert "Todavía no se han calculado" in html
    assert 'id="recompute-button"' in html


def test_recompute_button_and_progress_polling(client, owner, small_business,
                                               django_capture_on_commit_callbacks):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("insights:recompute"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    run = SnapshotRun.objects.get()
    assert run.status == RunStatus.QUEUED
    assert f'hx-get="{reverse("insights:run_progress", args=[run.pk])}"' in html
    assert 'hx-trigger="every 1s"' in html and "<progress" in html
    callbacks[0]()  # commit: the task runs
    polled = client.get(reverse("insights:run_progress", args=[run.pk]), headers={"HX-Request": "true"})
    assert polled["HX-Refresh"] == "true"
    assert "hx-get" not in polled.content.decode()  # polling stops


def test_only_owner_and_marketing_may_recompute(client, make_user, small_business):
    client.force_login(make_user("soporte", "support"))
    assert client.post(reverse("insights:recompute")).status_code == 403
    client.force_login(make_user("marketing", "marketing"))
    assert client.post(reverse("insights:recompute")).status_code == 302


def test_a_sales_rep_sees_their_portfolio_only(client, make_user, small_business):
    rep = make_user("rep", "sales_rep")
    small_business["ana"].account_executive = rep
    small_business["ana"].save(update_fields=["account_executive"])
    snapshot_recompute(as_of=AS_OF)
    client.force_login(rep)
    html = client.get(reverse("insights:dashboard")).content.decode()
    assert 'id="rep-panel"' in html and "1 cliente con compras" in html
    assert 'id="chart-pareto"' not in html and 'id="recompute-button"' not in html


def test_customer_card_include(small_business, rf):
    snapshot_recompute(as_of=AS_OF)
    html = render_to_string("insights/_customer_kpis.html",
                            customer_insights_context(small_business["ana"]))
    assert "En riesgo" in html and "Platino" in html and "Activo" in html
    assert "compró hace 29 días; suele comprar cada 71 días" in html
    assert "Brocha" in html and "Producto principal → Producto premium" in html
    empty = render_to_string("insights/_customer_kpis.html",
                             customer_insights_context(small_business["nadie"]))
    assert "Sin compras en los datos analizados" in empty


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("insights:dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_customer_card_template_tag(small_business):
    from django.template import Context, Template

    snapshot_recompute(as_of=AS_OF)
    html = Template("{% load insights %}{% customer_insights customer %}").render(
        Context({"customer": small_business["ana"]}))
    assert 'id="customer-insights"' in html and "En riesgo" in html


def test_admin_pages_list_the_snapshot(client, small_business, django_user_model):
    snapshot_recompute(as_of=AS_OF)
    admin = django_user_model.objects.create_superuser(username="root", password="x" * 12)
    client.force_login(admin)
    for url in ("/admin/insights/snapshotrun/", "/admin/insights/customermetrics/",
                "/admin/insights/rfmmonthly/", "/admin/insights/analyticsstate/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/insights/customermetrics/add/").status_code == 403


def test_the_customer_card_shows_the_snapshot(client, owner, small_business):
    snapshot_recompute(as_of=AS_OF)
    client.force_login(owner)
    html = client.get(reverse("customers:detail", args=[small_business["ana"].pk])).content.decode()
    assert 'id="customer-insights"' in html
    assert "En riesgo" in html and "compró hace 29 días; suele comprar cada 71 días" in html


@pytest.mark.parametrize("fit_paretonbd", [True, False])
def test_customer_card_says_where_p_alive_comes_from(demo_business, fit_paretonbd):
    """A one-time buyer's P(alive) is never BG/NBD's built-in 1: the card names the model
    (Pareto/NBD, or the interval rule when Pareto/NBD is off) in the page's language, and
    an expected purchase beyond the horizon is said, not left out."""
    import datetime as dt

    from django.utils import translation

    from fideliza.customers.models import Customer
    from fideliza.insights.compute import SnapshotConfig
    from fideliza.insights.models import CustomerMetrics

    snapshot_recompute(as_of=dt.date(2025, 12, 31),
                       config=SnapshotConfig(fit_paretonbd=fit_paretonbd,
                                             model_budget_seconds=None))
    one_time = CustomerMetrics.objects.filter(frequency=0, p_alive__isnull=False).first()
    assert one_time is not None and one_time.p_alive < 1.0
    customer = Customer.objects.get(pk=one_time.customer_id)
    html = render_to_string("insights/_customer_kpis.html", customer_insights_context(customer))
    with translation.override("en"):
        english = render_to_string("insights/_customer_kpis.html",
                                   customer_insights_context(customer))
    if fit_paretonbd:
        assert one_time.p_alive_model == "paretonbd"
        assert "Según: modelo Pareto/NBD." in html and "Source: Pareto/NBD model." in english
    else:
        assert one_time.p_alive_model == "interval_rule"
        assert "Según: regla del intervalo" in html and "Source: interval rule" in english
    far = CustomerMetrics.objects.filter(expected_next_purchase__isnull=True,
                                         p_alive__isnull=False).first()
    assert far is not None
    far_html = render_to_string("insights/_customer_kpis.html", customer_insights_context(
        Customer.objects.get(pk=far.customer_id)))
    assert "No en los próximos 12 meses (más allá del horizonte de previsión)." in far_html
