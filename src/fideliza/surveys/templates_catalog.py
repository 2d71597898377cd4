"""The ready-made questionnaires (seed 002 §1 and the usual NPS/CSAT ones).

Plain data: `services.survey_from_template` writes them as a new survey the owner can edit.
A question's `show_if` names an earlier position of the same template.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

TEMPLATES: dict[str, dict[str, Any]] = {
    "seed": {
        "name": _("¿Por qué nos elegiste?"),
        "intro": _("Cuatro preguntas, dos minutos. Nos ayuda a mejorar."),
        "questions": [
            {"kind": "text", "text": _("¿Recordás por qué nos elegiste?")},
            {"kind": "text", "text": _("¿Qué hacemos mejor?")},
            {"kind": "text", "text": _("¿Dónde fallamos?")},
            {"kind": "nps", "text": _("¿Nos recomendarías a un amigo o colega? (0 = nada probable, 10 = muy probable)"),
             "required": True},
        ],
    },
    "nps": {
        "name": _("NPS: ¿nos recomendarías?"),
        "intro": _("Una pregunta y, si quiere, un comentario."),
        "questions": [
            {"kind": "nps", "text": _("¿Qué probabilidad hay de que nos recomiende a un amigo o colega?"),
             "required": True},
            {"kind": "text", "text": _("¿Qué deberíamos mejorar?"), "show_if": 1, "show_if_max": 8},
            {"kind": "text", "text": _("¿Qué es lo que más valora de nosotros?")},
        ],
    },
    "csat_purchase": {
        "name": _("Satisfacción tras la compra"),
        "intro": _("Cuéntenos cómo fue su última compra."),
        "questions": [
            {"kind": "csat", "text": _("¿Cuán satisfecho quedó con su compra?"), "required": True},
            {"kind": "ces", "text": _("¿Qué tan fácil le resultó comprar con nosotros?")},
            {"kind": "text", "text": _("¿Qué podríamos haber hecho mejor?"), "show_if": 1, "show_if_max": 3},
        ],
    },
    "csat_complaint": {
        "name": _("Satisfacción tras una queja"),
        "intro": _("Hace poco atendimos una queja suya. ¿Cómo lo hicimos?"),
        "questions": [
            {"kind": "csat", "text": _("¿Cuán satisfecho quedó con la solución?"), "required": True},
            {"kind": "yes_no", "text": _("¿Se resolvió su problema?")},
            {"kind": "ces", "text": _("¿Qué tan fácil fue que lo atendiéramos?")},
            {"kind": "text", "text": _("¿Algo más que debamos saber?")},
        ],
    },
}


def template_choices() -> list[tuple[str, Any]]:
    return [(key, spec["name"]) for key, spec in TEMPLATES.items()]
