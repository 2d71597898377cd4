"""Money is Decimal everywhere: in the database, the services and the API."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY_MAX_DIGITS = 14
MONEY_DECIMAL_PLACES = 2
CENT = Decimal("0.01")


def quantize_money(value: Decimal | int | str) -> Decimal:
    """Round to cents, half up (the rule shops and tax authorities use)."""
    try:
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError(f"not a monetary amount: {value!r}") from exc


class MoneyField(models.DecimalField):
    """A DecimalField with the project's money precision."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


class CurrencyField(models.CharField):
    """ISO 4217 code, upper case."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("verbose_name", _("moneda"))
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


def default_currency() -> str:
    """The business's currency (FIDELIZA_DEFAULT_CURRENCY), read when a row is created."""
    from django.conf import settings

    return settings.FIDELIZA_DEFAULT_CURRENCY
