"""Admin for sales. Orders and returns are recorded by the sales services (API, imports),
whose totals must equal their lines and which run the order hooks; the admin shows them."""

from __future__ import annotations

from django.contrib import admin

from fideliza.core.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import Order, OrderLine, Return, ReturnLine, Store


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "city", "is_online"]
    list_filter = ["is_online"]
    search_fields = ["code", "name", "city"]


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = readonly_fields = ("line_no", "sku", "product", "description", "quantity", "unit_price",
                                "unit_cost", "discount", "line_total")


class ReturnInline(ReadOnlyInline):
    model = Return
    fields = readonly_fields = ("returned_at", "kind", "external_id", "refund_amount", "currency",
                                "reason")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["placed_at", "source", "external_id", "customer", "channel", "store", "total",
                    "currency"]
    list_filter = ["channel", "store", "currency", "source"]
    search_fields = ["=external_id", "=customer__id"]
    list_select_related = ["customer", "store"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, ReturnInline]
    show_full_result_count = False


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = readonly_fields = ("order_line", "quantity", "amount")


@admin.register(Return)
class ReturnAdmin(ReadOnlyAdmin):
    list_display = ["returned_at", "kind", "external_id", "order", "refund_amount", "currency", "reason"]
    list_filter = ["kind", "currency"]
    search_fields = ["=external_id", "=order__external_id"]
    list_select_related = ["order"]
    date_hierarchy = "returned_at"
    inlines = [ReturnLineInline]


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdmin):
    list_display = ["order", "line_no", "sku", "description", "quantity", "unit_price", "discount",
                    "line_total"]
    search_fields = ["=sku", "=order__external_id"]
    list_select_related = ["order"]
    show_full_result_count = False


@admin.register(ReturnLine)
class ReturnLineAdmin(ReadOnlyAdmin):
    list_display = ["ret", "order_line", "quantity", "amount"]
    list_select_related = ["ret", "order_line"]
