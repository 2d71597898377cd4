"""Money is Decimal everywhere: in the database, the services and the API."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY_MAX_DIGITS = 14
MONEY_DECIMAL_PLACES = 2
CENT = Decimal("0.01")

# ISO 4217 active codes (2024). A list, not a dependency: it changes rarely.
# (Babel also lists historic codes such as ESP, which an order must not carry.)
ISO_4217 = frozenset(["AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG", "ZWL"])


def quantize_money(value: Decimal | int | str) -> Decimal:
    """Round to cents, half up (the rule shops and tax authorities use)."""
    try:
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError(f"not a monetary amount: {value!r}") from exc


class MoneyField(models.DecimalField):
    """A DecimalField with the project's money precision."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)


class CurrencyField(models.CharField):
    """ISO 4217 code, upper case."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("verbose_name", _("moneda"))
        super().__init__(*args, **kwargs)


def money_format(amount: Decimal | int | float | str | None, currency: str | None = None, *,
                 language: str | None = None) -> str:
    """An amount as its reader writes it: «18.486,62 €» in Spanish, «€18,486.62» in English.

    `currency` defaults to the business's (FIDELIZA_DEFAULT_CURRENCY), `language` to the
    active one. Rounded to the currency's minor unit (cents for the euro) by CLDR's rules
    (Babel). None or "" gives "" (the template shows its own dash).
    """
    from babel.numbers import format_currency
    from django.utils.translation import get_language, to_locale

    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    if not value.is_finite():
        return ""
    code = (currency or default_currency()).upper()
    locale = to_locale(language or get_language() or "es")
    try:
        return format_currency(value, code, locale=locale)
    except (ValueError, LookupError):  # an unknown locale: the business language's format
        return format_currency(value, code, locale="es")


def default_currency() -> str:
    """The business's currency (FIDELIZA_DEFAULT_CURRENCY), read when a row is created."""
    from django.conf import settings

    return settings.FIDELIZA_DEFAULT_CURRENCY
