"""Admin for the catalog. Product saves go through the catalog services."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Category, Product
from .services import PRODUCT_EDITABLE_FIELDS, product_create, product_update


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["full_path", "parent"]
    search_fields = ["name"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]

    @admin.display(description=_("categoría"))
    def full_path(self, obj: Category) -> str:
        return obj.full_path


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "category", "list_price", "unit_cost", "margin", "currency",
                    "path_level", "is_active"]
    list_filter = ["is_active", "path_level", "currency", "category"]
    search_fields = ["=sku", "name"]
    list_select_related = ["category", "category__parent"]
    autocomplete_fields = ["category"]
    fields = list(PRODUCT_EDITABLE_FIELDS)
    show_full_result_count = False

    @admin.display(description=_("margen unitario"))
    def margin(self, obj: Product) -> Decimal | None:
        return obj.unit_margin

    def save_model(self, request: HttpRequest, obj: Product, form: forms.ModelForm, change: bool) -> None:
        data = {f: form.cleaned_data.get(f) for f in PRODUCT_EDITABLE_FIELDS if f in form.cleaned_data}
        if change:
            product_update(product=Product.objects.get(pk=obj.pk), data=data)
        else:
            obj.pk = product_create(data=data).pk
            obj._state.adding = False
        obj.refresh_from_db()
