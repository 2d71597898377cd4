"""The words for the analytics' codes, in the reader's language: one `label_of` per page.

The analytics core stores stable codes (``champions``, ``platino``, ``high`` …) and keeps
their Spanish and English names in plain dictionaries (`fideliza.analytics.labels`); this
module is the one place the Django side turns a code into words, so that no page shows
``need_attention`` or ``high`` and no page mixes languages.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import get_language

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
