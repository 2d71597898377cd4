"""Loyalty's fields for segment rules (registered with segments in `LoyaltyConfig.ready`).

Segments sit below loyalty, so the rule language knows points only through this module.
"""

from __future__ import annotations

from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy

from fideliza.segments.rules import NUMBER_OPS, FieldDef, expression_rule

from .models import Member


def points_balance() -> Coalesce:
    """The points balance of the customer `OuterRef("pk")` over all its memberships (0 if none)."""
    return Coalesce(Subquery(Member.objects.filter(customer=OuterRef("pk")).values("customer")
                             .annotate(total=Sum("points_balance")).values("total")[:1]), 0)


RULE_FIELDS = (
    FieldDef("points_balance", gettext_lazy("Saldo de puntos"), "behaviour", "number", NUMBER_OPS,
             expression_rule(points_balance)),
)
