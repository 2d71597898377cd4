"""What the outbox shows in words: where a message came from and why a send failed.

Rows store stable machine values — a message's `source` is ``campaign:12`` or
``automation:4:step:1``, a delivery error the adapter's technical text — because the API,
the logs and the deduplication read them. The pages turn them into the reader's language
here, at display time, so old rows read as well as new ones.

Engagement sits below the apps that send (campaigns, automations), so those apps register
how to name their own sources (`source_namer_register`, from their `AppConfig.ready`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# prefix → function(list of full source strings) → {source: words}
SourceNamer = Callable[[list[str]], dict[str, str]]
_NAMERS: dict[str, SourceNamer] = {}


def source_namer_register(prefix: str, namer: SourceNamer) -> None:
    """`namer` names every source that starts with ``f"{prefix}:"`` (batched: one query per page)."""
    _NAMERS[prefix] = namer


def sources_describe(sources: Iterable[str]) -> dict[str, str]:
    """{source: words in the active language}; an unknown source is shown as it was stored."""
    by_prefix: dict[str, list[str]] = defaultdict(list)
    names: dict[str, str] = {}
    for source in set(sources):
        if not source:
            names[source] = "—"
            continue
        prefix = source.split(":", 1)[0]
        if prefix in _NAMERS and ":" in source:
            by_prefix[prefix].append(source)
        else:
            names[source] = source
    for prefix, group in by_prefix.items():
        named = _NAMERS[prefix](group)
        names.update({s: named.get(s, s) for s in group})
    return names


def source_describe(source: str) -> str:
    return sources_describe([source])[source]


# --- Delivery errors -------------------------------------------------------------------------
# The adapters' texts (kept as stored, for the API and the logs) and how a page words them.
# A pattern's groups fill the Spanish msgid's %(…)s; the provider's own answer stays verbatim.
_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^FIDELIZA_SMS_GATEWAY_URL is not set$"),
     gettext_noop("No hay pasarela de SMS configurada (FIDELIZA_SMS_GATEWAY_URL): el SMS no se puede enviar.")),
    (re.compile(r"^FIDELIZA_WEBHOOK_URL / FIDELIZA_WEBHOOK_SECRET are not set$"),
     gettext_noop("No hay webhook configurado (FIDELIZA_WEBHOOK_URL y FIDELIZA_WEBHOOK_SECRET): "
                  "el mensaje no se puede enviar.")),
    (re.compile(r"^SMTP backend sent nothing$"),
     gettext_noop("El servidor de correo no aceptó el mensaje.")),
    (re.compile(r"^interrupted while sending; re-sent with the same Message-ID$"),
     gettext_noop("Se interrumpió el envío; se volvió a enviar con el mismo Message-ID.")),
    (re.compile(r"^worker stopped before recording the outcome$"),
     gettext_noop("El proceso de envío se detuvo antes de anotar el resultado.")),
    (re.compile(r"^SMTP connection: (?P<detail>.*)$", re.S),
     gettext_noop("No se pudo conectar con el servidor de correo: %(detail)s")),
    (re.compile(r"^recipient refused: (?P<detail>.*)$", re.S),
     gettext_noop("El servidor de correo rechazó la dirección: %(detail)s")),
    (re.compile(r"^SMTP (?P<code>\d+): (?P<detail>.*)$", re.S),
     gettext_noop("El servidor de correo respondió %(code)s: %(detail)s")),
    (re.compile(r"^SMTP: (?P<detail>.*)$", re.S),
     gettext_noop("Error del servidor de correo: %(detail)s")),
    (re.compile(r"^HTTP (?P<url>\S+): (?P<detail>.*)$", re.S),
     gettext_noop("No se pudo llamar a %(url)s: %(detail)s")),
    (re.compile(r"^webhook (?P<url>\S+): (?P<detail>.*)$", re.S),
     gettext_noop("No se pudo llamar al webhook %(url)s: %(detail)s")),
    (re.compile(r"^SMS gateway answered (?P<status>\d+): (?P<detail>.*)$", re.S),
     gettext_noop("La pasarela de SMS respondió %(status)s: %(detail)s")),
    (re.compile(r"^webhook answered (?P<status>\d+): (?P<detail>.*)$", re.S),
     gettext_noop("El webhook respondió %(status)s: %(detail)s")),
]


def delivery_error_text(stored: str) -> str:
    """A stored delivery error in the reader's language (unknown texts are shown as stored)."""
    if not stored:
        return ""
    for pattern, msgid in _ERRORS:
        match = pattern.match(stored)
        if match:
            return _(msgid) % match.groupdict() if match.groupdict() else _(msgid)
    return stored
