"""The analytics dashboard ("Panel"): KPI cards and offline SVG charts.

Everything comes from the stored snapshot: the business-wide figures are one JSON column
of the current `SnapshotRun`, so the page costs a couple of indexed reads whatever the
size of the customer base. A sales representative sees their own customers only.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.models import Role
from fideliza.core.money import money_format

from . import charts, selectors
from .labels import is_run_note, run_warning_text
from .models import RunStatus, SnapshotRun
from .reliability import reliability_context
from .services import snapshot_request

RECOMPUTE_ROLES = frozenset({Role.OWNER, Role.MARKETING})


def _can_recompute(user: Any) -> bool:
    return bool(user.is_superuser or getattr(user, "role", None) in RECOMPUTE_ROLES)


def _money(text: Any) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None


def _pct(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{number_format(value * 100, 1)} %"


def _eur(value: Any, currency: str) -> str:
    """An amount with its currency in the reader's locale («86,40 €», «€86.40»)."""
    amount = _money(value)
    if amount is None:
        return "—"
    return money_format(amount, currency)


def kpi_cards(agg: dict[str, Any], currency: str) -> list[dict[str, str]]:
    """The KPI cards, each with its definition for the "¿cómo se calcula?" tooltip."""
    k = agg.get("kpis", {})
    acq = agg.get("acquisition", {})
    cards = [
        {
            "id": "customers", "label": _("Clientes"),
            "value": number_format(k.get("customers", 0), 0, force_grouping=True),
            "note": _("%(n)s con alguna compra") % {"n": number_format(k.get("buyers", 0), 0, force_grouping=True)},
            "help": _("Fichas de cliente no fusionadas en otra. «Con alguna compra»: clientes con al "
                      "menos un pedido no devuelto del todo hasta la fecha de los datos."),
        },
        {
            "id": "active", "label": _("Clientes activos"),
            "value": number_format(k.get("active", 0), 0, force_grouping=True),
            "note": _("%(n)s compraron en 12 meses") % {"n": number_format(k.get("active_12m", 0), 0, force_grouping=True)},
            "help": _("Activo: los días desde su última compra no superan 1,5 veces su intervalo "
                      "habitual entre compras (la mediana de sus intervalos; para quien compró una "
                      "sola vez, la mediana de los demás clientes)."),
        },
        {
            "id": "retention", "label": _("Retención (12 meses)"),
            "value": _pct(k.get("retention_rate")),
            "note": _("%(r)s de %(s)s clientes") % {"r": number_format(k.get("retained", 0), 0, force_grouping=True),
                                                  "s": number_format(k.get("customers_start", 0), 0, force_grouping=True)},
            "help": _("Clientes que compraron en los 12 meses anteriores y también en los últimos 12 "
                      "meses, divididos por los que compraron en los 12 meses anteriores."),
        },
        {
            "id": "churn", "label": _("Índice de abandono (12 meses)"),
            "value": _pct(k.get("churn_rate")),
            "note": _("%(n)s clientes perdidos") % {"n": number_format(k.get("lost", 0), 0, force_grouping=True)},
            "help": _("Clientes que compraron en los 12 meses anteriores y no en los últimos 12 meses, "
                      "divididos por los que compraron en los 12 meses anteriores. Retención + "
                      "abandono = 100 %."),
        },
        {
            "id": "average_purchase", "label": _("Compra promedio"),
            "value": _eur(k.get("average_purchase"), currency),
            "note": _("ticket medio %(t)s") % {"t": _eur(k.get("average_order_value"), currency)},
            "help": _("Ventas netas de los últimos 12 meses divididas por los clientes que compraron "
                      "en ellos. El ticket medio divide las ventas por los pedidos."),
        },
        {
            "id": "frequency", "label": _("Frecuencia de compra"),
            "value": number_format(k.get("purchase_frequency") or 0, 2),
            "note": _("pedidos por cliente en 12 meses"),
            "help": _("Pedidos de los últimos 12 meses divididos por los clientes que compraron en ellos."),
        },
        {
            "id": "clv", "label": _("CLV medio"),
            "value": _eur(k.get("clv_predicted_avg") or k.get("clv_historic_avg"), currency),
            "note": (_("previsto a 12 meses · histórico %(h)s") % {"h": _eur(k.get("clv_historic_avg"), currency)})
            if k.get("clv_predicted_avg") else _("histórico (sin modelo predictivo)"),
            "help": _("Previsto: margen esperado de las compras de los próximos 12 meses (modelos "
                      "BG/NBD y Gamma-Gamma), descontado al 1 % mensual, por cliente con compras. "
                      "Histórico: margen (o ventas si no hay costes) que cada cliente ha dejado hasta hoy."),
        },
        {
            "id": "churn_cost", "label": _("Costo del abandono"),
            "value": _eur(k.get("cost_of_churn"), currency),
            "note": _("lo que compraban los clientes perdidos"),
            "help": _("Ventas netas de los 12 meses anteriores de los clientes que no han vuelto a "
                      "comprar en los últimos 12 meses: lo que deja de ingresar el negocio si no vuelven."),
        },
        {
            "id": "cac", "label": _("Costo de adquisición (CAC)"),
            "value": _eur(acq.get("cac"), currency) if acq.get("cac") else "—",
            "note": _("%(n)s altas con coste en 12 meses") % {"n": number_format(acq.get("customers_with_cost", 0), 0, force_grouping=True)},
            "help": _("Suma de los costes de captación anotados en la ficha de los clientes dados de "
                      "alta en los últimos 12 meses, dividida por los de esas altas que tienen coste anotado."),
        },
        {
            "id": "recurring", "label": _("Ventas recurrentes"),
            "value": _pct(k.get("recurring_revenue_share")),
            "note": _("de las ventas de 12 meses"),
            "help": _("Parte de las ventas de los últimos 12 meses hechas por clientes que ya habían "
                      "comprado antes de ese período (retenidos o reactivados)."),
        },
        {
            "id": "nps", "label": _("NPS"),
            "value": "—",
            "note": _("no se recoge todavía"),
            "help": _("El Net Promoter Score sale de encuestas a clientes, que Fideliza aún no envía; "
                      "aparecerá aquí cuando existan."),
        },
    ]
    return cards


def _with_satisfaction(cards: list[dict[str, str]], user: Any) -> list[dict[str, str]]:
    """The NPS card replaced by the surveys' NPS and CSAT cards, once surveys are installed."""
    from .feedback import satisfaction_cards

    extra = satisfaction_cards(user)
    if extra is None:
        return cards
    return [c for c in cards if c["id"] != "nps"] + extra


def dashboard_charts(agg: dict[str, Any], currency: str) -> dict[str, Any]:
    """Every chart of the dashboard as inline SVG."""
    out: dict[str, Any] = {}
    pareto = agg.get("pareto") or {}
    shares = pareto.get("customer_share") or []
    series = [(_("Ventas"), pareto.get("revenue_share") or [], charts.PRIMARY)]
    if pareto.get("margin_share"):
        series.append((_("Margen"), pareto["margin_share"], charts.TERTIARY))
    top20 = pareto.get("revenue_top20_share")
    out["pareto"] = charts.line_chart(
        series,
        [f"{round(s * 100)} %" if abs(s * 10 - round(s * 10)) < 1e-9 else "" for s in shares],
        title=_("Curva de Pareto: parte de las ventas por porcentaje de clientes"),
        y_max=1.0,
        reference=[(0.2, top20, _("20 %% → %(p)s") % {"p": _pct(top20)} if top20 is not None else "")],
        css_class="chart-pareto",
    )
    out["pareto_top20"] = _pct(top20) if top20 is not None else None

    grid = agg.get("rfm_grid") or []
    out["rfm_grid"] = charts.heatmap(
        ["R5", "R4", "R3", "R2", "R1"], ["FM1", "FM2", "FM3", "FM4", "FM5"], grid,
        title=_("Cuadrícula RFM: clientes por recencia (R) y frecuencia-importe (FM)"),
        row_title=_("Recencia"), col_title=_("Frecuencia e importe"), css_class="chart-rfm",
    )

    abc = agg.get("abc_transition") or {}
    short = {"A": "A", "B": "B", "C": "C", "N": _("N (sin valor)"), "new": _("Nuevos"),
             "absent": _("Sin compras")}
    out["abc_transition"] = charts.heatmap(
        [short.get(c, c) for c in abc.get("from", [])],
        [short.get(c, c) for c in abc.get("to", [])],
        abc.get("matrix", []),
        title=_("Transición ABC: clase hace un año (filas) y ahora (columnas)"),
        row_title=_("Hace 12 meses"), col_title=_("Últimos 12 meses"), css_class="chart-abc",
    )
    out["abc_dormant"] = abc.get("dormant_a")

    cohorts = agg.get("cohorts") or {}
    out["cohorts"] = charts.heatmap(
        cohorts.get("cohorts", []),
        [str(o) for o in cohorts.get("offsets", [])],
        cohorts.get("matrix", []),
        title=_("Cohortes mensuales: parte de los clientes que vuelven a comprar cada mes"),
        cell_text=lambda v: f"{round(v * 100)}",
        scale_max=1.0,
        row_title=_("Primera compra"), col_title=_("Meses desde la primera compra (%)"),
        css_class="chart-cohorts",
    )

    hist = agg.get("clv_histogram") or {}
    edges = hist.get("edges") or []
    labels = [f"{round(edges[i])}–{round(edges[i + 1])}" for i in range(len(edges) - 1)]
    if labels and hist.get("open_ended"):
        labels[-1] = f"≥ {round(edges[-2])}"
    out["clv"] = charts.bar_chart(
        labels, hist.get("counts") or [],
        title=_("Distribución del CLV (%(c)s): clientes por tramo") % {"c": currency},
        css_class="chart-clv",
    )
    out["clv_basis"] = hist.get("basis")

    segments = [s for s in agg.get("segments", []) if s.get("churn_risk") is not None]
    segments.sort(key=lambda s: s["churn_risk"], reverse=True)
    colours = [charts.SECONDARY if s["churn_risk"] >= 0.5 else charts.PRIMARY for s in segments]
    out["churn_by_segment"] = charts.bar_chart(
        [selectors.label("rfm_segment", s["code"]) for s in segments],
        [s["churn_risk"] for s in segments],
        title=_("Riesgo de abandono medio por segmento RFM"),
        value_format=lambda v: f"{round(v * 100)} %",
        horizontal=True, x_max=1.0, colours=colours, css_class="chart-churn",
        empty_message=_("Sin modelo predictivo: pocos clientes con compras repetidas"),
    )

    series_rows = agg.get("retention_series") or []
    out["retention"] = charts.line_chart(
        [(_("Retención"), [r["retention_rate"] for r in series_rows], charts.PRIMARY),
         (_("Abandono"), [r["churn_rate"] for r in series_rows], charts.SECONDARY)],
        [r["period"] for r in series_rows],
        title=_("Retención y abandono por trimestre"),
        y_max=1.0, css_class="chart-retention",
    )
    return out


def _rep_context(request: AuthedRequest) -> dict[str, Any]:
    """A sales representative's panel: their own customers from the snapshot."""
    qs = selectors.metrics_visible_to(request.user)
    segments = [
        {"label": selectors.label("rfm_segment", row["rfm_segment"]), **row}
        for row in qs.values("rfm_segment").annotate(n=Count("pk"), risk=Avg("churn_risk")).order_by("-n")
    ]
    at_risk = list(
        qs.filter(churn_risk__isnull=False).select_related("customer")
        .order_by("-churn_risk", "customer_id")[:15]
    )
    return {"rep_segments": segments, "rep_at_risk": at_risk, "rep_total": qs.count()}


@login_required
def dashboard(request: AuthedRequest) -> HttpResponse:
    from django.conf import settings

    currency = settings.FIDELIZA_DEFAULT_CURRENCY
    status = selectors.snapshot_status()
    run = status["run"]
    context: dict[str, Any] = {
        "status": status,
        "can_recompute": _can_recompute(request.user),
        "currency": currency,
        "business_view": request.user.sees_all_customers,
    }
    if run is not None and request.user.sees_all_customers:
        agg = run.aggregates or {}
        context.update({
            "kpis": _with_satisfaction(kpi_cards(agg, currency), request.user),
            "charts": dashboard_charts(agg, currency),
            "segments": [
                {**s, "label": selectors.label("rfm_segment", s["code"]),
                 "revenue_value": _money(s.get("revenue")),
                 "clv_value": _money(s.get("clv_predicted_avg") or s.get("clv_historic_avg"))}
                for s in agg.get("segments", [])
            ],
            "distributions": {
                "activity": [(selectors.label("activity_state", c), agg.get("activity", {}).get(c, 0))
                             for c in ("active", "at_risk", "dormant", "lost")],
                "tiers": [(selectors.label("value_tier", c), agg.get("tiers", {}).get(c, 0))
                          for c in ("platino", "oro", "plata", "bronce")],
            },
            "warnings": [run_warning_text(w) for w in run.warnings or [] if not is_run_note(w)],
            "run_notes": [run_warning_text(w) for w in run.warnings or [] if is_run_note(w)],
            "reliability": reliability_context(run.parameters),
        })
    elif run is not None:
        context.update(_rep_context(request))
    return render(request, "insights/dashboard.html", context)


@login_required
@require_POST
def recompute(request: AuthedRequest) -> HttpResponse:
    if not _can_recompute(request.user):
        raise PermissionDenied
    run = snapshot_request(requested_by=request.user, trigger="manual")
    if request.htmx:
        return render(request, "insights/_progress.html", {"run": run})
    return redirect("insights:dashboard")


@login_required
def run_progress(request: AuthedRequest, run_id: int) -> HttpResponse:
    """The progress bar fragment, polled by htmx until the run ends; then the page reloads."""
    run = get_object_or_404(SnapshotRun, pk=run_id)
    response = render(request, "insights/_progress.html", {"run": run})
    if run.status == RunStatus.SUCCEEDED and request.htmx:
        response["HX-Refresh"] = "true"
    return response
