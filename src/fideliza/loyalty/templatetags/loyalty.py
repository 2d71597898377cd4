"""`{% load loyalty %}{% loyalty_member_card customer %}`: the member card inside the
customer card, rendered from `selectors.member_card_context` (no view changes needed)."""

from __future__ import annotations

from typing import Any

from django import template

from fideliza.loyalty.selectors import member_card_context

register = template.Library()


@register.inclusion_tag("loyalty/_member_card.html", takes_context=True)
def loyalty_member_card(context: dict[str, Any], customer: Any) -> dict[str, Any]:
    data = member_card_context(customer)
    data["request"] = context.get("request")
    data["csrf_token"] = context.get("csrf_token")
    data["user"] = context.get("user")
    return data
