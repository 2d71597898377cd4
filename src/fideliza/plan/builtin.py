"""The lines this app draws for each move of seed 002 (see `plan.lines` for the registry).

Every line is one query narrowed from the viewer's customers (`LineContext.base`), built
from the owning apps' selectors: the analytics snapshot (value tier, churn band, RFM
segment), the interaction log, the points ledger, the referrals, the orders and returns.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.functions import ExtractDay, ExtractMonth
from django.utils.translation import gettext_lazy as _

from fideliza.customers.models import Customer
from fideliza.insights.selectors import customers_abc_dropped, metrics_lookup
from fideliza.interactions.selectors import customers_contacted_since
from fideliza.loyalty.selectors import customers_who_referred, points_in_notice_period
from fideliza.sales.selectors import (
    customers_last_ordered_between,
    customers_of_one_category,
    customers_with_returns_since,
)

from .lines import Line, LineContext, line_register
from .models import Move

NO_CONTACT_DAYS = 30
RETURNS_DAYS = 30
ONE_CATEGORY_DAYS = 365
BIRTHDAY_DAYS = 7


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(settings.TIME_ZONE))


def years_back(day: date, years: int) -> date:
    """The same day `years` years earlier (28 February for a 29th): as the analytics count
    whole years without buying (`analytics.activity.reactivation_list`)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def dormant_between(ctx: LineContext, low: int, high: int) -> QuerySet[Customer]:
    """Customers whose last order is at least `low` and less than `high` whole years old:
    last purchase date in (today − high years, today − low years]."""
    since = _midnight(years_back(ctx.today, high) + timedelta(days=1))
    end = _midnight(years_back(ctx.today, low) + timedelta(days=1))
    return ctx.base.filter(customers_last_ordered_between(since, end))


def _platinum_no_contact(ctx: LineContext) -> QuerySet[Customer]:
    return (ctx.base.filter(**{metrics_lookup("value_tier"): "platino"})
            .exclude(pk__in=customers_contacted_since(since=ctx.now - timedelta(days=NO_CONTACT_DAYS))))


def _birthdays(ctx: LineContext) -> QuerySet[Customer]:
    # month × 100 + day: one comparison per card instead of seven (month, day) pairs.
    days = [(d := ctx.today + timedelta(days=i)).month * 100 + d.day for i in range(BIRTHDAY_DAYS)]
    return (ctx.base.filter(birth_date__isnull=False)
            .annotate(birthday_md=ExtractMonth("birth_date") * 100 + ExtractDay("birth_date"))
            .filter(birthday_md__in=days))


def _valuable_at_risk(ctx: LineContext) -> QuerySet[Customer]:
    return ctx.base.filter(**{metrics_lookup("churn_band__in"): ("high", "critical"),
                              metrics_lookup("value_tier__in"): ("platino", "oro")})


def _points_expiring(ctx: LineContext) -> QuerySet[Customer]:
    ids = {cid for cid, _at, _points in points_in_notice_period(now=ctx.now, customers=ctx.base)}
    return ctx.base.filter(pk__in=sorted(ids))


def _one_category(ctx: LineContext) -> QuerySet[Customer]:
    return ctx.base.filter(pk__in=customers_of_one_category(since=ctx.now - timedelta(days=ONE_CATEGORY_DAYS)))


def _loyal_no_referrals(ctx: LineContext) -> QuerySet[Customer]:
    return (ctx.base.filter(**{metrics_lookup("rfm_segment__in"): ("champions", "loyal")})
            .exclude(pk__in=customers_who_referred()))


def _returned(ctx: LineContext) -> QuerySet[Customer]:
    return ctx.base.filter(pk__in=customers_with_returns_since(since=ctx.now - timedelta(days=RETURNS_DAYS)))


def _promoters_no_referrals(ctx: LineContext) -> QuerySet[Customer]:
    from fideliza.surveys.selectors import last_nps_subquery

    return (ctx.base.annotate(last_nps=last_nps_subquery()).filter(last_nps__gte=9)
            .exclude(pk__in=customers_who_referred()))


def _complaints_overdue(ctx: LineContext) -> QuerySet[Customer]:
    from fideliza.complaints.selectors import overdue_customers

    return ctx.base.filter(pk__in=overdue_customers(now=ctx.now))


def _a_dropped(ctx: LineContext) -> QuerySet[Customer]:
    return ctx.base.filter(pk__in=customers_abc_dropped(as_of=ctx.today))


BUILTIN: tuple[Line, ...] = (
    Line("platinum_no_contact", Move.RELACION,
         _("%(n)s cliente Platino sin contacto en 30 días"), _("%(n)s clientes Platino sin contacto en 30 días"),
         _("Llamar: cliente Platino sin contacto en 30 días"),
         _("Nivel de valor Platino en el último cálculo y ninguna interacción registrada (llamada, visita, "
           "e-mail…) en los últimos 30 días."), _platinum_no_contact, order=10),
    Line("birthdays_week", Move.RELACION,
         _("%(n)s cliente cumple años en los próximos 7 días"), _("%(n)s clientes cumplen años en los próximos 7 días"),
         _("Felicitar el cumpleaños"), _("Fecha de nacimiento de la ficha entre hoy y dentro de 6 días."),
         _birthdays, order=20),
    Line("valuable_at_risk", Move.RETENCION,
         _("%(n)s cliente Platino u Oro con riesgo de abandono alto"),
         _("%(n)s clientes Platino u Oro con riesgo de abandono alto"),
         _("Llamar: cliente valioso en riesgo de abandono"),
         _("Nivel de valor Platino u Oro y banda de riesgo alta o muy alta en el último cálculo."),
         _valuable_at_risk, order=10),
    Line("points_expiring", Move.RETENCION,
         _("%(n)s cliente con puntos por vencer"), _("%(n)s clientes con puntos por vencer"),
         _("Avisar de los puntos por vencer"),
         _("Socios con puntos que vencen dentro del plazo de aviso de su programa."), _points_expiring, order=20),
    Line("one_category", Move.RENTABILIZACION,
         _("%(n)s cliente que solo compra una categoría"), _("%(n)s clientes que solo compran una categoría"),
         _("Ofrecer una segunda categoría (venta cruzada)"),
         _("Compraron en los últimos 12 meses y todas sus compras son productos de una misma categoría."),
         _one_category, order=10),
    Line("loyal_no_referrals", Move.REFERENCIACION,
         _("%(n)s cliente leal o campeón sin referidos"), _("%(n)s clientes leales o campeones sin referidos"),
         _("Pedir que nos recomiende"),
         _("Segmento RFM Campeones o Leales en el último cálculo y ninguna recomendación hecha (salvo "
           "rechazadas)."), _loyal_no_referrals, order=10),
    Line("promoters_no_referrals", Move.REFERENCIACION,
         _("%(n)s promotor sin referidos"), _("%(n)s promotores sin referidos"),
         _("Pedir referidos a un promotor"),
         _("Su última respuesta a la pregunta NPS fue 9 o 10 y no ha recomendado a nadie (salvo "
           "recomendaciones rechazadas)."), _promoters_no_referrals, order=5),
    Line("complaints_overdue", Move.RECUPERACION,
         _("%(n)s cliente con una queja fuera de plazo"), _("%(n)s clientes con una queja fuera de plazo"),
         _("Resolver la queja fuera de plazo"),
         _("Una queja abierta del libro de quejas ha pasado su plazo de respuesta (días hábiles de su país)."),
         _complaints_overdue, order=5),
    Line("returned_recently", Move.RECUPERACION,
         _("%(n)s cliente con una devolución en los últimos 30 días"),
         _("%(n)s clientes con una devolución en los últimos 30 días"),
         _("Llamar tras la devolución: ¿qué falló?"),
         _("Devolvieron algo o se les reembolsó en los últimos 30 días."), _returned, order=10),
    Line("a_dropped", Move.REACTIVACION,
         _("%(n)s cliente A del año pasado que bajó de clase"), _("%(n)s clientes A del año pasado que bajaron de clase"),
         _("Llamar: cliente A que bajó en el ranking"),
         _("Clase A del ranking ABC por ventas en los 12 meses anteriores a los últimos 12, y B, C o sin compras "
           "en los últimos 12."), _a_dropped, order=10),
    Line("dormant_1_2", Move.REACTIVACION,
         _("%(n)s cliente que no compra hace 1–2 años"), _("%(n)s clientes que no compran hace 1–2 años"),
         _("Llamar: ¿por qué no ha vuelto?"),
         _("Su última compra tiene entre 1 y 2 años (años completos)."),
         lambda ctx: dormant_between(ctx, 1, 2), order=20),
    Line("dormant_2_3", Move.REACTIVACION,
         _("%(n)s cliente que no compra hace 2–3 años"), _("%(n)s clientes que no compran hace 2–3 años"),
         _("Ofrecer algo de valor para volver"),
         _("Su última compra tiene entre 2 y 3 años (años completos)."),
         lambda ctx: dormant_between(ctx, 2, 3), order=30),
    Line("dormant_3_5", Move.REACTIVACION,
         _("%(n)s cliente que no compra hace 3–5 años"), _("%(n)s clientes que no compran hace 3–5 años"),
         _("Ofrecer algo de valor para volver"),
         _("Su última compra tiene entre 3 y 5 años (años completos)."),
         lambda ctx: dormant_between(ctx, 3, 5), order=40),
)


def builtin_lines_register() -> None:
    for line in BUILTIN:
        line_register(line)
