"""Rules for the values of a customer card, shared by every writer.

The model fields carry these validators, so `full_clean()` applies them for the services
(API, web form, admin); the importer runs the same field validators over each distinct value
of a column (`imports.importers`); the API schema lists the same codes and zones as enums.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import available_timezones

from babel import Locale
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

BIRTH_DATE_MIN = dt.date(1900, 1, 1)

# CLDR (Babel's data) names every ISO 3166-1 territory, plus codes that ISO 3166-1 does not
# assign to a country: exceptionally reserved ones (AC Ascension, CP Clipperton, DG Diego
# Garcia, EA Ceuta and Melilla, IC Canary Islands, TA Tristan da Cunha), CQ (Sark), groupings
# (EU, EZ, UN), user-assigned ones (XK Kosovo, XA/XB pseudo-locales, QO Outlying Oceania) and
# ZZ "Unknown Region".
_NOT_ISO_3166_1 = frozenset({"AC", "CP", "CQ", "DG", "EA", "IC", "TA", "EU", "EZ", "UN", "XK", "XA", "XB",
                             "QO", "ZZ"})
# Names in the system's time-zone database that are not IANA zones: the server's own zone
# (it changes with the machine) and tzdata's placeholder.
_NOT_IANA_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def country_codes() -> frozenset[str]:
    """The 249 ISO 3166-1 alpha-2 codes, upper case."""
    return frozenset(code for code in map(str, Locale("en").territories)
                     if len(code) == 2 and code.isalpha() and code not in _NOT_ISO_3166_1)


@cache
def timezone_names() -> tuple[str, ...]:
    """IANA time-zone names this server can use (zoneinfo), sorted."""
    return tuple(sorted(available_timezones() - _NOT_IANA_ZONES))


def validate_country_code(value: str) -> None:
    if value and value not in country_codes():
        raise ValidationError(
            _("«%(value)s» no es un código de país ISO 3166-1 (dos letras en mayúsculas, p. ej. ES)."),
            code="invalid_country", params={"value": value})


def validate_timezone_name(value: str) -> None:
    if value and value not in frozenset(timezone_names()):
        raise ValidationError(
            _("«%(value)s» no es una zona horaria IANA (p. ej. Europe/Madrid)."),
            code="invalid_timezone", params={"value": value})


def validate_birth_date(value: dt.date | None) -> None:
    """Not before 1900-01-01 and not after today (the business's date)."""
    if value is None:
        return
    if value < BIRTH_DATE_MIN:
        raise ValidationError(_("La fecha de nacimiento no puede ser anterior a 1900-01-01."),
                              code="birth_date_too_early")
    if value > timezone.localdate():
        raise ValidationError(_("La fecha de nacimiento no puede ser posterior a hoy."),
                              code="birth_date_in_future")
