"""A program like the seeds' (000: 3x / 2x / 1x points, welcome reward; 002: VIP tiers;
003: referrals), for the demo business and for a first setup. Idempotent."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from fideliza.accounts.services import Actor
from fideliza.catalog.selectors import category_roots, category_roots_by_products

from .models import EarningRule, Program, Reward, RewardKind, RuleKind, Tier
from .services import loyalty_config_save

TIERS = [("Bronce", 0, 0, "1", False), ("Plata", 1, 300, "1.25", False),
         ("Oro", 2, 1000, "1.5", True), ("Platino", 3, 3000, "2", True)]
REWARDS = [("Vale de 5 €", 500, RewardKind.AMOUNT, "5", None), ("Vale de 15 €", 1400, RewardKind.AMOUNT, "15", None),
           ("10 % en la próxima compra", 800, RewardKind.PERCENT, "10", None),
           ("Vale de 50 € (Oro o superior)", 4000, RewardKind.AMOUNT, "50", 2)]


@transaction.atomic
def loyalty_demo_program(*, actor: Actor, multiplied_categories: tuple[str, str] | None = None) -> Program:
    """Create the default program unless one exists: 1 point per euro, 3x in the largest
    root category and 2x in the second (or the two named), welcome 50 points, birthday
    100, referral 200/100, points valid 2 years, tiers Bronce–Platino by amount spent in
    the last 12 months, four rewards."""
    existing = Program.objects.order_by("id").first()
    if existing is not None:
        return existing
    program = loyalty_config_save(obj=Program(
        name="Club de clientes", point_value=Decimal("0.01"), join_points=50, birthday_points=100,
        survey_points=20, review_points=30, referrer_points=200, referred_points=100,
        referral_min_purchase=Decimal("20"), pending_days=14, expiry_days=730, expiry_notice_days=30,
        max_points_per_order=5000), actor=actor)
    loyalty_config_save(obj=EarningRule(program=program, name="1 punto por euro", kind=RuleKind.PER_AMOUNT,
                                        points=1), actor=actor)
    roots = list(category_roots())
    if multiplied_categories:
        by_name = {c.name: c for c in roots}
        chosen = [by_name[n] for n in multiplied_categories if n in by_name]
    else:
        chosen = category_roots_by_products()[:2]
    for category, mult in zip(chosen, (3, 2), strict=False):
        loyalty_config_save(obj=EarningRule(program=program, name=f"{category.name} x{mult}",
                                            kind=RuleKind.PER_AMOUNT, points=1, multiplier=mult,
                                            category=category), actor=actor)
    tiers: dict[int, Tier] = {}
    for name, rank, threshold, earn, shipping in TIERS:
        tiers[rank] = loyalty_config_save(obj=Tier(program=program, name=name, rank=rank, threshold=threshold,
                                                   earn_multiplier=Decimal(earn), free_shipping=shipping),
                                          actor=actor)
    for name, cost, kind, value, tier_rank in REWARDS:
        loyalty_config_save(obj=Reward(program=program, name=name, points_cost=cost, kind=kind,
                                       value=Decimal(value),
                                       min_tier=tiers.get(tier_rank) if tier_rank is not None else None), actor=actor)
    return program
