"""`{% load insights %}{% customer_insights customer %}`: the snapshot block of the card;
`{{ code|label_of:"rfm_segment" }}`: an analytics code in the reader's words."""

from __future__ import annotations

from typing import Any

from django import template

from fideliza.customers.models import Customer
from fideliza.insights import labels
from fideliza.insights.selectors import customer_insights_context

register = template.Library()


@register.inclusion_tag("insights/_customer_kpis.html")
def customer_insights(customer: Customer) -> dict[str, Any]:
    """The caller's view has already checked that the user may see `customer`."""
    return customer_insights_context(customer)


@register.filter(name="label_of")
def label_of(code: str | None, vocabulary: str) -> str:
    return labels.label_of(vocabulary, code)


@register.filter
def churn_reason(stored: str | None) -> str:
    return labels.churn_reason_text(stored)
