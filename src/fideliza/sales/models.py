from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fideliza.catalog.models import Product
from fideliza.core.money import CurrencyField, MoneyField, default_currency
from fideliza.customers.models import Customer


class SalesChannel(models.TextChoices):
    STORE = "store", _("Tienda")
    WEB = "web", _("Tienda online")
    PHONE = "phone", _("Teléfono")
    MARKETPLACE = "marketplace", _("Marketplace")
    SALES_REP = "sales_rep", pgettext_lazy("canal de venta", "Comercial")
    OTHER = "other", _("Otro")


class Store(models.Model):
    code = models.CharField(_("código"), max_length=32, unique=True)
    name = models.CharField(_("nombre"), max_length=120)
    city = models.CharField(_("ciudad"), max_length=100, blank=True)
    is_online = models.BooleanField(_("online"), default=False)

    class Meta:
        verbose_name = _("tienda")
        verbose_name_plural = _("tiendas")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    """One purchase. Totals are stored (Decimal) and equal the sum of the lines."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders",
                                 verbose_name=_("cliente"))
    source = models.CharField(_("origen"), max_length=64, default="manual")
    external_id = models.CharField(_("id en el origen"), max_length=128)
    placed_at = models.DateTimeField(_("fecha"), db_index=True)
    channel = models.CharField(_("canal"), max_length=16, choices=SalesChannel.choices,
                               default=SalesChannel.STORE)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="orders", verbose_name=_("tienda"))
    currency = CurrencyField(default=default_currency)
    subtotal = MoneyField(_("importe bruto"), default=0)
    discount_total = MoneyField(_("descuentos"), default=0)
    total = MoneyField(_("total"), default=0)
    cost_total = MoneyField(_("coste"), null=True, blank=True,
                            help_text=_("vacío cuando alguna línea no tiene coste conocido"))
    created_at = models.DateTimeField(_("registrado"), auto_now_add=True)

    class Meta:
        verbose_name = _("pedido")
        verbose_name_plural = _("pedidos")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="order_source_id_unique"),
            models.CheckConstraint(condition=models.Q(discount_total__gte=0), name="order_discount_non_negative"),
        ]
        indexes = [
            models.Index(fields=["customer", "placed_at"]),
            # Covers period totals (orders, revenue per currency, distinct buyers since a
            # date) so the home figures read the index only, not millions of order rows.
            models.Index(fields=["placed_at", "currency", "total", "customer"],
                         name="order_period_totals_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"

    @property
    def margin(self):  # -> Decimal | None
        return None if self.cost_total is None else self.total - self.cost_total


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines",
                              verbose_name=_("pedido"))
    line_no = models.PositiveIntegerField(_("línea"))
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="order_lines", verbose_name=_("producto"))
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    description = models.CharField(_("descripción"), max_length=200, blank=True)
    quantity = models.DecimalField(_("cantidad"), max_digits=12, decimal_places=3)
    unit_price = MoneyField(_("precio unitario"))
    unit_cost = MoneyField(_("coste unitario"), null=True, blank=True)
    discount = MoneyField(_("descuento"), default=0)
    line_total = MoneyField(_("total de línea"))

    class Meta:
        verbose_name = _("línea de pedido")
        verbose_name_plural = _("líneas de pedido")
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="order_line_unique_no"),
            models.CheckConstraint(condition=~models.Q(quantity=0), name="order_line_quantity_non_zero"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="order_line_price_non_negative"),
            models.CheckConstraint(condition=models.Q(discount__gte=0), name="order_line_discount_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.order} #{self.line_no}"


class ReturnKind(models.TextChoices):
    RETURN = "return", _("Devolución")
    REFUND = "refund", _("Reembolso sin devolución")


class Return(models.Model):
    """Goods returned and/or money refunded, linked to the original order (never an edit of it)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns",
                              verbose_name=_("pedido original"))
    kind = models.CharField(_("tipo"), max_length=8, choices=ReturnKind.choices, default=ReturnKind.RETURN)
    source = models.CharField(_("origen"), max_length=64, default="manual")
    external_id = models.CharField(_("id en el origen"), max_length=128)
    returned_at = models.DateTimeField(_("fecha"), db_index=True)
    reason = models.CharField(_("motivo"), max_length=200, blank=True)
    refund_amount = MoneyField(_("importe reembolsado"))
    currency = CurrencyField(default=default_currency)
    created_at = models.DateTimeField(_("registrado"), auto_now_add=True)

    class Meta:
        verbose_name = _("devolución")
        verbose_name_plural = _("devoluciones")
        ordering = ["-returned_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="return_source_id_unique"),
            models.CheckConstraint(condition=models.Q(refund_amount__gte=0), name="return_amount_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.external_id}"


class ReturnLine(models.Model):
    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines",
                            verbose_name=_("devolución"))
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines",
                                   verbose_name=_("línea original"))
    quantity = models.DecimalField(_("cantidad"), max_digits=12, decimal_places=3)
    amount = MoneyField(_("importe"))

    class Meta:
        verbose_name = _("línea de devolución")
        verbose_name_plural = _("líneas de devolución")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="return_line_quantity_positive"),
        ]
