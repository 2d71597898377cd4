"""Admin for staff. The ledger is read-only here: points move only through the services
(an adjustment is made from the customer card, never by editing a row)."""

from __future__ import annotations

from django.contrib import admin

from fideliza.core.admin import ReadOnlyAdmin

from .models import (
    Affiliate,
    AffiliateCommission,
    AffiliatePayout,
    Coupon,
    CouponRedemption,
    EarningRule,
    ExpiryRun,
    LedgerEntry,
    Member,
    PointLot,
    Program,
    Referral,
    Reward,
    RewardRedemption,
    Tier,
)


class RuleInline(admin.TabularInline):
    model = EarningRule
    extra = 0


class TierInline(admin.TabularInline):
    model = Tier
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "point_value", "expiry_days", "tier_basis", "tier_window")
    inlines = [RuleInline, TierInline]


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ("name", "program", "kind", "points_cost", "value", "min_tier", "is_active")
    list_filter = ("program", "kind", "is_active")


@admin.register(Affiliate)
class AffiliateAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "commission_kind", "commission_value", "window_days", "is_active")
    readonly_fields = ("code",)

    def save_model(self, request, obj, form, change) -> None:
        if not obj.code:
            from .services import random_code

            obj.code = "A" + random_code(9)
        super().save_model(request, obj, form, change)


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ("customer", "program", "points_balance", "tier", "joined_at")
    list_filter = ("program", "tier")
    search_fields = ("customer__first_name", "customer__last_name", "customer__email", "referral_code")
    list_select_related = ("customer", "program", "tier")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "member", "kind", "points", "balance_after", "cause_type", "cause_id")
    list_filter = ("kind", "cause_type")
    list_select_related = ("member__customer", "member__program")


for model in (PointLot, Coupon, CouponRedemption, RewardRedemption, Referral, AffiliateCommission,
              AffiliatePayout, ExpiryRun):
    admin.site.register(model, ReadOnlyAdmin)
