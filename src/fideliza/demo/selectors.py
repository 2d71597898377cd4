"""Reads about the demo: did the last attempt to load it finish, and what else is there."""

from __future__ import annotations

from django.utils.translation import gettext as _

from fideliza.customers.selectors import customers_count_without_source
from fideliza.imports.selectors import import_runs_count_except
from fideliza.sales.selectors import orders_count_except

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
        _("clientes"): customers_count_without_source(demo_sources),
        _("pedidos"): orders_count_except(demo_sources),
        _("importaciones"): import_runs_count_except(FILE_NAMES.values()),
    }
    return {label: count for label, count in found.items() if count}
