"""Reads about the demo: did the last attempt to load it finish, and what else is there."""

from __future__ import annotations

from django.utils.translation import gettext as _

from fideliza.customers.models import Customer
from fideliza.imports.models import ImportRun
from fideliza.sales.models import Order

from .files import FILE_NAMES
from .generator import TPV, WEB
from .models import DemoLoad, DemoLoadStatus


def demo_load_unfinished() -> DemoLoad | None:
    """The latest attempt to load the demo when it did not complete (failed or killed)."""
    latest = DemoLoad.objects.order_by("-started_at", "-id").first()
    if latest is None or latest.status == DemoLoadStatus.COMPLETE:
        return None
    return latest


def data_not_from_demo() -> dict[str, int]:
    """{label: count} of business rows the demo does not write: hand-made or API customers
    (no till or web-shop id), orders of other sources, imports of other files."""
    demo_sources = (TPV, WEB)
    found = {
        _("clientes"): Customer.objects.exclude(source_ids__source__in=demo_sources).count(),
        _("pedidos"): Order.objects.exclude(source__in=demo_sources).count(),
        _("importaciones"): ImportRun.objects.exclude(file_name__in=list(FILE_NAMES.values())).count(),
    }
    return {label: count for label, count in found.items() if count}
