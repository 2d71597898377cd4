"""`{% load money %}{{ amount|money }}` / `{{ amount|money:order.currency }}`: every amount on
a page with its currency and the reader's decimal mark (see `core.money.money_format`)."""

from __future__ import annotations

from typing import Any

from django import template

from fideliza.core.money import money_format

register = template.Library()


@register.filter(is_safe=True)
def money(amount: Any, currency: str | None = None) -> str:
    return money_format(amount, currency or None)
