from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from fideliza.core.models import TimeStampedModel
from fideliza.core.money import CurrencyField, MoneyField, default_currency


class PathLevel(models.TextChoices):
    """The relationship path (seed 002 §6): what to sell first, and what next."""

    ENTRY = "entry", _("Entrada")
    VALUE = "value", _("Valor")
    MAIN = "main", _("Principal")
    PREMIUM = "premium", _("Premium")


class Category(models.Model):
    name = models.CharField(_("nombre"), max_length=120)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children", verbose_name=_("categoría superior"))

    class Meta:
        verbose_name = _("categoría")
        verbose_name_plural = _("categorías")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_in_parent"),
            models.UniqueConstraint(fields=["name"], condition=models.Q(parent__isnull=True),
                                    name="category_unique_root"),
        ]

    def __str__(self) -> str:
        return self.full_path

    @property
    def full_path(self) -> str:
        parts: list[str] = []
        node: Category | None = self
        seen: set[int] = set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            parts.append(node.name)
            node = node.parent
        return " › ".join(reversed(parts))


class Product(TimeStampedModel):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("nombre"), max_length=200)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="products", verbose_name=_("categoría"))
    list_price = MoneyField(_("precio de venta"), default=0)
    unit_cost = MoneyField(_("coste unitario"), null=True, blank=True)
    currency = CurrencyField(default=default_currency)
    is_active = models.BooleanField(_("activo"), default=True)
    path_level = models.CharField(_("nivel en el sendero de relación"), max_length=8,
                                  choices=PathLevel.choices, blank=True)

    class Meta:
        verbose_name = _("producto")
        verbose_name_plural = _("productos")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(list_price__gte=0), name="product_price_non_negative"),
            models.CheckConstraint(condition=models.Q(unit_cost__isnull=True) | models.Q(unit_cost__gte=0),
                                   name="product_cost_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"

    @property
    def unit_margin(self):  # -> Decimal | None
        return None if self.unit_cost is None else self.list_price - self.unit_cost
