from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from fideliza.accounts.services import Actor
from fideliza.loyalty.demo import loyalty_demo_program
from fideliza.loyalty.services import points_backfill


class Command(BaseCommand):
    help = _("Acumula los puntos de los pedidos ya registrados (y descuenta sus devoluciones). "
             "Con --crear-programa crea antes el programa por defecto si no hay ninguno.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--crear-programa", action="store_true", dest="create")

    def handle(self, *args: object, create: bool = False, **options: object) -> None:
        if create:
            loyalty_demo_program(actor=Actor.system("loyalty_backfill"))
        started = time.perf_counter()
        earned, reversed_ = points_backfill()
        self.stdout.write(_("%(earned)s pedidos acumularon puntos y %(rev)s devoluciones los descontaron "
                            "(%(secs).1f s).") % {"earned": earned, "rev": reversed_,
                                                  "secs": time.perf_counter() - started})
