"""`{% load segments %}{% customer_segments customer %}`: the segments a customer belongs to,
inside the customer card (the 360° card), without the customers app importing segments."""

from __future__ import annotations

from typing import Any

from django import template

from fideliza.segments.selectors import segments_of_customer

register = template.Library()


@register.inclusion_tag("segments/_customer_segments.html")
def customer_segments(customer: Any) -> dict[str, Any]:
    return {"customer": customer, "segments": segments_of_customer(customer=customer)}
