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
from typing import Any

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


# --- What the messages achieved (campaign and automation results) -----------------------------
def _number(value: float, decimals: int = 0) -> str:
    from django.utils.formats import number_format

    rounded = round(value, decimals) or 0.0  # never "-0"
    return number_format(rounded, decimals, force_grouping=True)


def _percent(value: float, decimals: int = 1) -> str:
    return _("%(v)s %%") % {"v": _number(value, decimals)}


def _p_value(p: float) -> str:
    return _("p < %(v)s") % {"v": _number(0.001, 3)} if p < 0.001 else _("p = %(v)s") % {"v": _number(p, 3)}


def uplift_explanation(r: Any, currency: str | None = None) -> str:
    """The results paragraph of an `analytics.uplift.UpliftResult` in the reader's language
    (the analytics core's own `explanation` is Spanish only)."""
    from fideliza.core.money import money_format

    if r.status == "empty":
        return _("Sin datos: ni destinatarios ni grupo de control.")
    if r.status == "no_treated":
        return _("Nadie recibió los mensajes todavía: no hay nada que comparar con el grupo de control.")
    if r.status == "no_holdout":
        return _("Sin grupo de control: no se puede medir el efecto incremental. De los %(n)s "
                 "destinatarios compró el %(rate)s.") % {"n": _number(r.treated_n),
                                                          "rate": _percent(r.treated_rate * 100)}
    level = r.confidence * 100
    low, high = r.conversion_diff_ci
    parts = [_("Compró el %(treated)s de quienes recibieron los mensajes frente al %(holdout)s del "
               "grupo de control: una diferencia de %(diff)s puntos porcentuales (entre %(low)s y "
               "%(high)s con un %(level)s de confianza).") % {
        "treated": _percent(r.treated_rate * 100), "holdout": _percent(r.holdout_rate * 100),
        "diff": _number(r.conversion_diff * 100, 1), "low": _number(low * 100, 1),
        "high": _number(high * 100, 1), "level": _percent(level, 0 if level.is_integer() else 1)}]
    if r.significant:
        params = {"p": _p_value(r.p_value), "n": _number(abs(r.incremental_conversions or 0))}
        more = r.conversion_diff > 0
        if r.relative_lift is not None:
            params["lift"] = _percent(abs(r.relative_lift) * 100, 0)
            parts.append((_("La diferencia es estadísticamente significativa (%(p)s): los mensajes "
                            "consiguieron unas %(n)s compras más de las que habría habido sin ellos "
                            "(un %(lift)s más).") if more else
                          _("La diferencia es estadísticamente significativa (%(p)s): con los mensajes "
                            "hubo unas %(n)s compras menos de las que habría habido sin ellos "
                            "(un %(lift)s menos).")) % params)
        else:
            parts.append((_("La diferencia es estadísticamente significativa (%(p)s): los mensajes "
                            "consiguieron unas %(n)s compras más de las que habría habido sin ellos.")
                          if more else
                          _("La diferencia es estadísticamente significativa (%(p)s): con los mensajes "
                            "hubo unas %(n)s compras menos de las que habría habido sin ellos.")) % params)
    else:
        parts.append(_("La diferencia no es estadísticamente significativa (%(p)s): puede deberse al "
                       "azar.") % {"p": _p_value(r.p_value)})
        if r.holdout_n < 100:
            parts.append(_("El grupo de control es pequeño; con más destinatarios la medida será más precisa."))
    if r.incremental_revenue is not None and (r.treated_revenue_per_recipient or r.holdout_revenue_per_recipient):
        value = money_format(round(r.incremental_revenue, 2), currency)
        if r.incremental_revenue_ci is not None:
            rl, rh = r.incremental_revenue_ci
            parts.append(_("Ingresos incrementales estimados: %(v)s (entre %(low)s y %(high)s).") % {
                "v": value, "low": money_format(round(rl, 2), currency), "high": money_format(round(rh, 2), currency)})
        else:
            parts.append(_("Ingresos incrementales estimados: %(v)s.") % {"v": value})
    return " ".join(parts)
