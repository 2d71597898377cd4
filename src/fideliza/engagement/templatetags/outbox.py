"""`{% load outbox %}{{ message.last_error|delivery_error }}`: a stored delivery error in the
reader's language (see engagement.wording)."""

from __future__ import annotations

from django import template

from fideliza.engagement.wording import delivery_error_text

register = template.Library()


@register.filter
def delivery_error(stored: str | None) -> str:
    return delivery_error_text(stored or "")
