from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from fideliza.loyalty.expiry import expiry_notices_create, points_expire


class Command(BaseCommand):
    help = _("Caduca los lotes de puntos vencidos y registra los avisos de caducidad próxima.")

    def handle(self, *args: object, **options: object) -> None:
        started = time.perf_counter()
        run = points_expire()
        notices = expiry_notices_create()
        self.stdout.write(_("%(points)s puntos caducados en %(lots)s lotes de %(members)s socios (%(secs).1f s); "
                            "%(notices)s avisos nuevos.") % {
            "points": run.points_expired, "lots": run.lots_expired, "members": run.members_affected,
            "secs": time.perf_counter() - started, "notices": len(notices)})
