"""The dashboard's NPS and satisfaction cards, from the surveys app.

Surveys sit above insights, so they hand their figures in through this registry
(`SurveysConfig.ready`); without it the cards say that nothing is collected yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _

SatisfactionProvider = Callable[..., dict[str, Any]]
_PROVIDERS: list[SatisfactionProvider] = []


def satisfaction_provider_register(provider: SatisfactionProvider) -> None:
    """`provider(user=…)` returns {"nps": NpsResult | None, "csat": float | None,
    "csat_answers": int, "ces": float | None, "responses": int} of the last 12 months."""
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)


def satisfaction_cards(user: Any) -> list[dict[str, str]] | None:
    """The NPS and CSAT cards for `user` (what they may see); None without a provider."""
    if not _PROVIDERS:
        return None
    figures = _PROVIDERS[0](user=user)
    nps = figures.get("nps")
    if nps is None:
        nps_card = {"id": "nps", "label": _("NPS"), "value": "—",
                    "note": _("sin respuestas en 12 meses"),
                    "help": _("Net Promoter Score: % de promotores (9–10) menos % de detractores (0–6) "
                              "entre las respuestas de los últimos 12 meses a las encuestas.")}
    else:
        margin = (_("± %(m)s con un 95 %% de confianza") % {"m": number_format(nps.margin, 0)}
                  if nps.margin is not None else _("sin margen (una sola respuesta)"))
        nps_card = {"id": "nps", "label": _("NPS"), "value": f"{nps.score:+.0f}",
                    "note": _("%(n)s respuestas · %(margin)s") % {
                        "n": number_format(nps.answers, 0, force_grouping=True), "margin": margin},
                    "help": _("Net Promoter Score: % de promotores (9–10) menos % de detractores (0–6) "
                              "entre las respuestas de los últimos 12 meses a las encuestas; va de −100 "
                              "a +100. El margen es el intervalo del 95 % (aproximación normal).")}
    csat = figures.get("csat")
    csat_card = {"id": "csat", "label": _("Satisfacción (CSAT)"),
                 "value": f"{number_format(csat, 0)} %" if csat is not None else "—",
                 "note": (_("%(n)s respuestas en 12 meses") % {
                     "n": number_format(figures.get("csat_answers", 0), 0, force_grouping=True)})
                 if csat is not None else _("sin respuestas en 12 meses"),
                 "help": _("Parte de las respuestas 4 y 5 (satisfecho o muy satisfecho) a las preguntas "
                           "CSAT de 1 a 5 de los últimos 12 meses.")}
    return [nps_card, csat_card]
