"""Texts stored in one language, shown in the reader's.

Messages are written in Spanish in the code (the msgids) and translated at display time. A
row that stored a message already translated — an import validated while the user browsed
in English — is brought back to its msgid with `msgid_of`, so every reader gets their own
language whichever language the row was written in.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.translation import gettext


@lru_cache(maxsize=8)
def _reverse_catalog(language: str) -> dict[str, str]:
    """{translated text: msgid} of `language`'s catalogue (singular entries)."""
    from django.utils.translation import trans_real

    catalog = trans_real.translation(language)._catalog  # type: ignore[attr-defined]  # private, not in the stubs
    return {str(msgstr): str(msgid) for msgid, msgstr in catalog.items()
            if isinstance(msgid, str) and msgstr and msgstr != msgid}


def msgid_of(text: str) -> str:
    """The Spanish msgid `text` is a translation of (`text` itself when it is not one)."""
    for code, _name in settings.LANGUAGES:
        if code == "es":
            continue
        msgid = _reverse_catalog(code).get(text)
        if msgid is not None:
            return msgid
    return text


def stored_text(message: str, params: dict[str, Any] | None = None, *, msgid: str | None = None) -> str:
    """A stored message in the active language.

    With `msgid` (and its `params`), translate that; otherwise recover the msgid from the
    stored `message` — the params substituted back into their placeholders first, so «"x" no
    es un e-mail válido» finds «"%(value)s" no es un e-mail válido». A text the catalogue does
    not know is returned as stored.
    """
    params = {k: "" if v is None else v for k, v in (params or {}).items()}
    if msgid is None:
        template = message
        for name, value in params.items():
            text = str(value)
            if text and text in template:
                template = template.replace(text, f"%({name})s", 1)
        msgid = msgid_of(template)
        if "%(" in msgid and not params:
            return message
    translated = gettext(msgid)
    try:
        return translated % params if "%(" in translated else translated
    except (KeyError, ValueError, TypeError):
        return message or msgid
