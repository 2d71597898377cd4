"""Why two cards look like the same customer, in the reader's language.

`customers.matching` stores each pair's reasons as codes (``email_same; name_same:97``);
pairs found before that stored Spanish phrases («mismo e-mail; nombre idéntico (97%+)»),
which read the same way here.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

REASONS = {
    "email_same": gettext_lazy("mismo e-mail"),
    "email_differs": gettext_lazy("e-mail distinto"),
    "phone_same": gettext_lazy("mismo teléfono"),
    "phone_differs": gettext_lazy("teléfono distinto"),
    "tax_id_same": gettext_lazy("mismo NIF"),
    "tax_id_differs": gettext_lazy("NIF distinto"),
    "birth_date_same": gettext_lazy("misma fecha de nacimiento"),
    "birth_date_differs": gettext_lazy("fecha de nacimiento distinta"),
    "postal_code_same": gettext_lazy("mismo código postal"),
    "city_same": gettext_lazy("misma ciudad"),
    "address_similar": gettext_lazy("dirección parecida"),
    "second_surname_missing": gettext_lazy("sin segundo apellido"),
    "name_differs": gettext_lazy("nombre distinto"),
    "first_name_differs": gettext_lazy("otro nombre de pila"),
}
# Rows stored before the codes held the Spanish phrase itself (the msgids above).
_LEGACY = {
    "mismo e-mail": "email_same", "e-mail distinto": "email_differs", "mismo teléfono": "phone_same",
    "teléfono distinto": "phone_differs", "mismo NIF": "tax_id_same", "NIF distinto": "tax_id_differs",
    "misma fecha de nacimiento": "birth_date_same", "fecha de nacimiento distinta": "birth_date_differs",
    "mismo código postal": "postal_code_same", "misma ciudad": "city_same",
    "dirección parecida": "address_similar", "sin segundo apellido": "second_surname_missing",
    "nombre distinto": "name_differs", "otro nombre de pila": "first_name_differs",
}
_LEGACY_NAME = re.compile(r"^nombre (?P<kind>idéntico|parecido) \((?P<pct>\d+)%\+\)$")


def _reason_text(token: str) -> str:
    code, _sep, param = token.partition(":")
    if code in ("name_same", "name_similar") and param.isdigit():
        text = _("nombre idéntico (%(pct)s %%+)") if code == "name_same" else _("nombre parecido (%(pct)s %%+)")
        return text % {"pct": param}
    if token in REASONS:
        return str(REASONS[token])
    legacy = _LEGACY_NAME.match(token)
    if legacy:
        return _reason_text(f"name_{'same' if legacy['kind'] == 'idéntico' else 'similar'}:{legacy['pct']}")
    if token in _LEGACY:
        return str(REASONS[_LEGACY[token]])
    return token


def match_reasons_text(stored: str) -> str:
    """«mismo e-mail; nombre idéntico (97 %+)» / «same e-mail; identical name (97 %+)»."""
    tokens = [t.strip() for t in (stored or "").split(";") if t.strip()]
    return "; ".join(_reason_text(t) for t in tokens)
