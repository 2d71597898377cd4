"""Surveys' fields for segment rules (registered with segments in `SurveysConfig.ready`):
«categoría NPS» (of the latest NPS answer), «última satisfacción» (the latest CSAT answer,
1–5) and «respondió la encuesta» (finished it)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
from django.utils.translation import gettext_lazy

from fideliza.segments.rules import CHOICE_OPS, FLAG_OPS, NUMBER_OPS, FieldDef, expression_rule

from .selectors import last_csat_subquery, last_nps_subquery, responded_filter, surveys_all

BANDS = ("promoter", "passive", "detractor")


def _band(code: str) -> Q:
    latest = last_nps_subquery()
    if code == "promoter":
        return Q(GreaterThanOrEqual(latest, 9))
    if code == "passive":
        return Q(GreaterThanOrEqual(latest, 7)) & Q(LessThanOrEqual(latest, 8))
    return Q(LessThanOrEqual(latest, 6))


def _nps_category(op: str, value: Any) -> Q:
    wanted = [str(v) for v in (value if isinstance(value, list | tuple) else [value]) if str(v) in BANDS]
    if op in ("ne", "not_in"):  # customers with an NPS answer in another band
        wanted = [b for b in BANDS if b not in wanted]
    q = Q(pk__in=[])
    for code in wanted:
        q |= _band(code)
    return q


def _band_choices() -> list[tuple[str, str]]:
    return [("promoter", str(gettext_lazy("Promotor (9–10)"))), ("passive", str(gettext_lazy("Pasivo (7–8)"))),
            ("detractor", str(gettext_lazy("Detractor (0–6)")))]


def _responded(op: str, value: Any) -> Q:
    ids = [int(v) for v in (value if isinstance(value, list | tuple) else [value]) if str(v).isdigit()]
    q = Q(responded_filter(ids))
    return q if op == "is_true" else ~q


def _survey_choices() -> list[tuple[str, str]]:
    return [(str(s.pk), s.name) for s in surveys_all().order_by("name")]


RULE_FIELDS = (
    FieldDef("nps_category", gettext_lazy("Categoría NPS (última respuesta)"), "behaviour", "choice", CHOICE_OPS,
             _nps_category, _band_choices),
    FieldDef("last_satisfaction", gettext_lazy("Última satisfacción (CSAT 1–5)"), "behaviour", "number",
             NUMBER_OPS, expression_rule(last_csat_subquery)),
    FieldDef("responded_survey", gettext_lazy("Respondió la encuesta"), "behaviour", "flag", FLAG_OPS,
             _responded, _survey_choices,
             extra={"negative_label": gettext_lazy("No respondió la encuesta")}),
)
