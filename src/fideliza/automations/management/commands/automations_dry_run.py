from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from fideliza.automations.selectors import automations_dry_run


class Command(BaseCommand):
    help = _("Muestra quién recibiría qué paso de cada automatización hoy, sin escribir nada.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--automatizacion", dest="ids", type=int, action="append",
                            help=_("Solo esta automatización (id); se puede repetir."))
        parser.add_argument("--incluir-inactivas", dest="inactive", action="store_true",
                            help=_("También las automatizaciones desactivadas."))

    def handle(self, *args: object, **options: Any) -> None:
        rows = automations_dry_run(automation_ids=options["ids"], include_inactive=bool(options["inactive"]))
        actions = {"send": _("enviar"), "draw": _("enviar salvo si cae en el grupo de control"),
                   "holdout": _("nada (grupo de control)"), "stop": _("detener")}
        for r in rows:
            self.stdout.write("\t".join([
                f"{r.automation_id}", r.automation, f"{r.customer_id}", r.customer, _("paso %(n)s") % {"n": r.position},
                r.channel or "—", actions.get(r.action, r.action), r.reason,
                r.due_at.isoformat(timespec="minutes")]))
        self.stdout.write(_("%(n)s filas; no se ha escrito nada.") % {"n": len(rows)})
