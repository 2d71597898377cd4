from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "fideliza.sales"
    label = "sales"
    verbose_name = _("Ventas")

    def ready(self) -> None:
        # Customers sit below sales: the customer list learns here who bought recently.
        from fideliza.customers.search import purchases_since_register

        from .selectors import customer_purchases_since

        purchases_since_register(customer_purchases_since)
