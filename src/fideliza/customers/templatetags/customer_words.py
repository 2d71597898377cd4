"""`{% load customer_words %}{{ candidate.reasons|match_reasons }}`: why two cards look like
the same customer, in the reader's language (see customers.wording)."""

from __future__ import annotations

from django import template

from fideliza.customers.wording import match_reasons_text

register = template.Library()


@register.filter
def match_reasons(stored: str | None) -> str:
    return match_reasons_text(stored or "")
