"""The words for the analytics' codes, in the reader's language: one `label_of` per page.

The analytics core stores stable codes (``champions``, ``platino``, ``high`` …) and keeps
their Spanish and English names in plain dictionaries (`fideliza.analytics.labels`); this
module is the one place the Django side turns a code into words, so that no page shows
``need_attention`` or ``high`` and no page mixes languages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import get_language, gettext_noop, ngettext
from django.utils.translation import gettext as _

from fideliza.analytics import labels as core

# Churn bands: the analytics core names them in Spanish only.
CHURN_BANDS: core.Labels = {
    "low": {"es": "bajo", "en": "low"},
    "medium": {"es": "medio", "en": "medium"},
    "high": {"es": "alto", "en": "high"},
    "critical": {"es": "muy alto", "en": "very high"},
}

VOCABULARIES: Mapping[str, core.Labels] = {
    **core.ALL_LABELS,
    "churn_band": CHURN_BANDS,
}
# Same codes, other names: the card's fields and the rule builder say "abc_revenue".
ALIASES = {"abc_revenue": "abc_class", "abc_margin": "abc_class", "path_step": "path_level",
           "path_next_step": "path_level"}


def reader_language(language: str | None = None) -> str:
    """"en" or "es": the analytics vocabularies exist in these two."""
    return "en" if (language or get_language() or "es").startswith("en") else "es"


def label_of(vocabulary: str, code: str | None, language: str | None = None) -> str:
    """The display name of `code` ("" for no code; an unknown code is returned as is)."""
    if not code:
        return ""
    names = VOCABULARIES[ALIASES.get(vocabulary, vocabulary)].get(code)
    if names is None:
        return code
    return names.get(reader_language(language), names["es"])


def choices_of(vocabulary: str, language: str | None = None) -> list[tuple[str, str]]:
    """(code, name) pairs in the vocabulary's order, for forms and the rule builder."""
    lang = reader_language(language)
    return [(code, names.get(lang, names["es"]))
            for code, names in VOCABULARIES[ALIASES.get(vocabulary, vocabulary)].items()]


# --- Reasons stored as Spanish sentences by the analytics core -------------------------------
# The snapshot keeps the core's sentences (`analytics.churn.churn_reason`,
# `analytics.labels.NEXT_BEST_REASONS["rule"|"popular"]["es"]`); these patterns read their
# facts back so that each reader gets them in their own language and number format.
_DAYS = r"(?P<days>\d+) días?"
_CHURN_REASONS = [
    ("single", re.compile(rf"^una sola compra, hace {_DAYS}$")),
    ("overdue", re.compile(rf"^no compra hace {_DAYS}; su intervalo habitual es (?P<interval>\d+)$")),
    ("on_time", re.compile(rf"^compró hace {_DAYS}; su intervalo habitual es (?P<interval>\d+)$")),
]
_NEXT_RULE = re.compile(r"^Quienes compran (?P<antecedent>.+) también compran (?P<consequent>.+) "
                        r"\((?P<confidence>\d+)% de las veces; lift (?P<lift>[\d.]+)\)\.$", re.S)
_NEXT_POPULAR = re.compile(r"^(?P<consequent>.+) es de lo más comprado y este cliente aún no lo tiene\.$", re.S)


# The learned model's reasons (`analytics.forecast.reason_texts`, Spanish): facts joined
# by "; ".
_LEARNED_PARTS = [
    ("silence_interval", re.compile(rf"^no compra hace {_DAYS} \(solía volver cada "
                                    r"(?P<interval>\d+) días?\)$")),
    ("silence", re.compile(rf"^no compra hace {_DAYS}$")),
    ("few", re.compile(r"^solo (?P<n>\d+) compras$")),
    ("one", re.compile(r"^una sola compra$")),
    ("recent", re.compile(r"^(?P<n>\d+) compras? en los últimos (?P<months>\d+) meses$")),
    ("no_recent", re.compile(r"^ninguna compra en los últimos (?P<months>\d+) meses$")),
    ("slowing", re.compile(r"^compra menos a menudo que antes$")),
    ("spend_down", re.compile(r"^gasta menos por compra que antes$")),
]


def _learned_part(text: str) -> str | None:
    for kind, pattern in _LEARNED_PARTS:
        m = pattern.match(text)
        if not m:
            continue
        if kind.startswith("silence"):
            days = int(m["days"])
            ago = ngettext("hace %(n)s día", "hace %(n)s días", days) % {
                "n": number_format(days, force_grouping=True)}
            if kind == "silence":
                return _("no compra desde %(ago)s") % {"ago": ago}
            interval = int(m["interval"])
            return ngettext("no compra desde %(ago)s (solía volver cada %(n)s día)",
                            "no compra desde %(ago)s (solía volver cada %(n)s días)",
                            interval) % {"ago": ago,
                                         "n": number_format(interval, force_grouping=True)}
        if kind == "few":
            return _("solo %(n)s compras") % {"n": number_format(int(m["n"]), force_grouping=True)}
        if kind == "one":
            return _("una sola compra")
        if kind == "recent":
            n, months = int(m["n"]), int(m["months"])
            return ngettext("%(n)s compra en los últimos %(months)s meses",
                            "%(n)s compras en los últimos %(months)s meses", n) % {
                "n": number_format(n, force_grouping=True), "months": months}
        if kind == "no_recent":
            return _("ninguna compra en los últimos %(months)s meses") % {"months": int(m["months"])}
        if kind == "slowing":
            return _("compra menos a menudo que antes")
        return _("gasta menos por compra que antes")
    return None


def churn_reason_text(stored: str | None) -> str:
    """«una sola compra, hace 137 días» in the reader's language (unknown texts as stored)."""
    if not stored:
        return ""
    for kind, pattern in _CHURN_REASONS:
        m = pattern.match(stored)
        if not m:
            continue
        days = int(m["days"])
        ago = ngettext("hace %(n)s día", "hace %(n)s días", days) % {"n": number_format(days, force_grouping=True)}
        if kind == "single":
            return _("una sola compra, %(ago)s") % {"ago": ago}
        interval = int(m["interval"])
        every = ngettext("suele comprar cada %(n)s día", "suele comprar cada %(n)s días", interval) % {
            "n": number_format(interval, force_grouping=True)}
        if kind == "overdue":
            return _("no compra desde %(ago)s; %(every)s") % {"ago": ago, "every": every}
        return _("compró %(ago)s; %(every)s") % {"ago": ago, "every": every}
    parts = [_learned_part(part) for part in stored.split("; ")]
    if all(parts):
        return "; ".join(p for p in parts if p)
    return stored


def next_reason_text(stored: str | None) -> str:
    """Why this product is the customer's next best one, in the reader's language."""
    if not stored:
        return ""
    m = _NEXT_RULE.match(stored)
    if m:
        return _("Quienes compran %(antecedent)s también compran %(consequent)s (el %(confidence)s de las "
                 "veces; %(lift)s veces más que el resto de clientes).") % {
            "antecedent": m["antecedent"], "consequent": m["consequent"],
            "confidence": _("%(v)s %%") % {"v": m["confidence"]},
            "lift": number_format(float(m["lift"]), 2)}
    m = _NEXT_POPULAR.match(stored)
    if m:
        return _("%(consequent)s es de lo más comprado y este cliente aún no lo tiene.") % {
            "consequent": m["consequent"]}
    return stored


# --- Warnings of a snapshot run (stored as the compute step wrote them, in Spanish) ----------
_MODEL_PROBLEMS = [  # the model fits' own reasons (English, from analytics.models)
    (re.compile(r"^fewer than (?P<n>\d+) customers$"), gettext_noop("menos de %(n)s clientes")),
    (re.compile(r"^non-finite log-likelihood at the optimum$"),
     gettext_noop("verosimilitud no finita en el óptimo")),
    (re.compile(r"^optimizer did not converge: (?P<detail>.*)$", re.S),
     gettext_noop("el optimizador no convergió: %(detail)s")),
    (re.compile(r"^a parameter diverged to the search bound$"),
     gettext_noop("un parámetro se fue al límite de la búsqueda")),
    (re.compile(r"^ill-conditioned Hessian \(condition number (?P<n>[^)]+)\)$"),
     gettext_noop("hessiana mal condicionada (número de condición %(n)s)")),
]
_WARNINGS = [
    (re.compile(r"^(?P<model>[\w/ -]+): pocos clientes o ajuste inestable: ajuste regularizado"
                r"(?: \((?P<reason>.*)\))?$", re.S),
     gettext_noop("%(model)s: pocos clientes o ajuste inestable: ajuste regularizado"),
     gettext_noop("%(model)s: pocos clientes o ajuste inestable: ajuste regularizado (%(reason)s)")),
    (re.compile(r"^(?P<model>[\w/ -]+): el ajuste no convergió del todo \((?P<reason>.*)\)$", re.S),
     None, gettext_noop("%(model)s: el ajuste no convergió del todo (%(reason)s)")),
    (re.compile(r"^pocos clientes con compras repetidas \((?P<n>\d+)\): sin modelos predictivos "
                r"\(probabilidad de actividad, riesgo de abandono, CLV previsto\)$"),
     gettext_noop("pocos clientes con compras repetidas (%(n)s): sin modelos predictivos (probabilidad "
                  "de actividad, riesgo de abandono, CLV previsto)"), None),
    (re.compile(r"^los modelos predictivos no se pudieron ajustar: (?P<reason>.*)$", re.S),
     None, gettext_noop("los modelos predictivos no se pudieron ajustar: %(reason)s")),
]


def _model_problem(text: str) -> str:
    parts = []
    for problem in text.split("; "):
        for pattern, msgid in _MODEL_PROBLEMS:
            m = pattern.match(problem)
            if m:
                parts.append(_(msgid) % m.groupdict() if m.groupdict() else _(msgid))
                break
        else:
            parts.append(problem)
    return "; ".join(parts)


def run_warning(msgid: str, **params: Any) -> dict[str, Any]:
    """A warning of an analytics run as stored: its Spanish msgid and its parameters,
    worded when a reader sees it (`run_warning_text`). A `problems` parameter is a list of
    msgids too (the fits' problems), each translated before they are joined."""
    return {"msgid": msgid, "params": params}


def run_note(msgid: str, **params: Any) -> dict[str, Any]:
    """Like `run_warning`, for a fact about the run that is not a problem (shown as a note,
    not among the warnings)."""
    return {"msgid": msgid, "params": params, "level": "note"}


def is_run_note(stored: str | dict[str, Any]) -> bool:
    return isinstance(stored, dict) and stored.get("level") == "note"


def run_warning_text(stored: str | dict[str, Any]) -> str:
    """A warning of the analytics run in the reader's language, starting with a capital.

    Runs store `run_warning` dicts; runs stored before that hold the Spanish sentence,
    matched against the known patterns."""
    if isinstance(stored, dict):
        params = dict(stored.get("params") or {})
        if isinstance(params.get("problems"), list):
            params["problems"] = "; ".join(_(p) for p in params["problems"])
        if "reason" in params:
            params["reason"] = _model_problem(str(params["reason"]))
        for key, value in params.items():
            if isinstance(value, int) and not isinstance(value, bool):
                params[key] = number_format(value, force_grouping=True)
        msgid = str(stored.get("msgid") or "")
        try:
            text = _(msgid) % params if params else _(msgid)
        except (KeyError, ValueError, TypeError):
            text = msgid
        return text[:1].upper() + text[1:]
    text = stored
    for pattern, plain, with_reason in _WARNINGS:
        m = pattern.match(stored)
        if not m:
            continue
        params = {k: v for k, v in m.groupdict().items() if v is not None}
        if "reason" in params:
            params["reason"] = _model_problem(params["reason"])
        wording = with_reason if "reason" in params else plain
        if wording:
            text = _(wording) % params
        break
    else:
        text = _(stored)  # the fixed warnings are msgids themselves
    return text[:1].upper() + text[1:]


# The warnings the compute step writes without figures: msgids as they are (listed here so
# that the catalogue keeps them).
FIXED_WARNINGS = (
    gettext_noop("los modelos predictivos no terminaron a tiempo: sin predicciones"),
    gettext_noop("Pareto/NBD no terminó a tiempo: riesgo de abandono y probabilidad de actividad según "
                 "BG/NBD (1 para quien compró una sola vez)"),
    gettext_noop("BG/NBD tampoco terminó a tiempo: sin predicciones"),
    gettext_noop("sin clientes con importe repetido: sin CLV previsto"),
    gettext_noop("sin costes de producto: el CLV previsto se expresa en ventas, no en margen"),
    gettext_noop("no hay ventas registradas hasta esa fecha"),
)
