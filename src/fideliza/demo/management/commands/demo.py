"""`fideliza demo`: create the demo business (Ferretería El Martillo) in an empty database."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any, TypedDict

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from fideliza.accounts.services import Actor
from fideliza.core.money import money_format
from fideliza.customers.selectors import customers_count
from fideliza.demo.data import BUSINESS_NAME
from fideliza.demo.selectors import demo_load_unfinished
from fideliza.demo.services import (
    DemoError,
    DemoSummary,
    database_is_empty,
    demo_ensure,
    demo_populate,
    demo_reset,
)
from fideliza.sales.selectors import sales_volume


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(_("--today: «%(value)s» no es una fecha AAAA-MM-DD.") % {"value": value}) from exc


# The steps of `DemoSummary.timings`, as the summary names them.
TIMING_LABELS = {
    "generate": gettext_lazy("generación"), "write_files": gettext_lazy("archivos"),
    "import_products": gettext_lazy("catálogo"), "import_customers": gettext_lazy("clientes"),
    "assign_sales_reps": gettext_lazy("comerciales"), "import_orders": gettext_lazy("ventas"),
    "returns": gettext_lazy("devoluciones"), "loyalty": gettext_lazy("fidelización"),
    "analytics": gettext_lazy("analítica"), "relationship": gettext_lazy("contactos y seguimientos"),
    "complaints": gettext_lazy("libro de quejas"),
    "events": gettext_lazy("eventos"),
    "surveys": gettext_lazy("encuestas"),
}


def _count(n: int) -> str:
    return number_format(n, force_grouping=True)


HELP = gettext_noop(
    "Crea el negocio de demostración (una ferretería con tres tiendas y tienda online): "
    "clientes de dos listas que se solapan, catálogo, años de ventas y usuarios por rol.")


class _ProgressState(TypedDict):
    stage: str | None
    pct: int


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.description = _(HELP)  # in the active language (argparse needs a plain str)
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=5000, help=_("clientes (personas y empresas)"))
        parser.add_argument("--seed", type=int, default=42, help=_("semilla: misma semilla, mismos datos"))
        parser.add_argument("--years", type=int, default=3, help=_("años de historial de ventas"))
        parser.add_argument("--today", type=_date, default=None,
                            help=_("fecha de referencia AAAA-MM-DD (por defecto, hoy)"))
        parser.add_argument("--out-dir", type=Path, default=None,
                            help=_("carpeta de los CSV generados (por defecto var/demo/)"))
        parser.add_argument("--reset", action="store_true",
                            help=_("borra antes todos los datos de negocio (no los usuarios)"))
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help=_("no pedir confirmación para --reset"))
        parser.add_argument("--if-needed", action="store_true",
                            help=_("solo si hace falta: carga la demostración en una base de datos vacía, "
                                   "vuelve a cargarla si la carga anterior no terminó y no hace nada si ya "
                                   "está entera o hay otros datos (lo que hace `fideliza run --demo`)"))

    def handle(self, *args: Any, customers: int, seed: int, years: int, today: date | None,
               out_dir: Path | None, reset: bool, interactive: bool, if_needed: bool = False,
               **options: Any) -> None:
        if customers < 20:
            raise CommandError(_("--customers debe ser al menos 20."))
        if not 1 <= years <= 10:
            raise CommandError(_("--years debe estar entre 1 y 10."))
        if if_needed and not reset:
            self._if_needed(customers=customers, seed=seed, years=years, today=today, out_dir=out_dir)
            return
        unfinished = demo_load_unfinished()
        if not database_is_empty() or (reset and unfinished is not None):
            if not reset:
                hint = ""
                if unfinished is not None:
                    hint = " " + _("(La última carga de la demostración no terminó: %(reason)s.)") % {
                        "reason": unfinished.error or _("se interrumpió")}
                raise CommandError(_(
                    "La base de datos ya tiene datos de negocio. Use `fideliza demo --reset` para "
                    "borrarlos (clientes, catálogo, ventas, importaciones) y cargar la demostración.") + hint)
            if interactive and sys.stdin.isatty():
                answer = input(_("Se borrarán %(customers)s clientes y %(orders)s pedidos (los usuarios "
                                 "se conservan). ¿Continuar? [s/N] ")
                               % {"customers": customers_count(), "orders": sales_volume().orders})
                if answer.strip().lower() not in ("s", "si", "sí", "y", "yes"):
                    raise CommandError(_("Cancelado."))
            deleted = demo_reset(actor=Actor.system("fideliza demo --reset"))
            self.stdout.write(_("· borradas %(rows)s filas de %(tables)s tablas")
                              % {"rows": sum(deleted.values()), "tables": len(deleted)})

        self.stdout.write(_("Creando «%(name)s»: %(customers)s clientes, %(years)s años, semilla %(seed)s…")
                          % {"name": BUSINESS_NAME, "customers": customers, "years": years, "seed": seed})
        try:
            summary = demo_populate(customers=customers, seed=seed, years=years, today=today,
                                    out_dir=out_dir, progress=self._progress())
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        self._finish_line()
        self._print_summary(summary)

    def _if_needed(self, **kwargs: Any) -> None:
        def notify(text: str) -> None:
            self._finish_line()
            self.stdout.write(self.style.WARNING("· " + text))

        if not database_is_empty() and demo_load_unfinished() is None:
            self.stdout.write(_("· la base de datos ya tiene datos: no se carga la demostración"))
            return
        self.stdout.write(_("Creando «%(name)s»: %(customers)s clientes, %(years)s años, semilla %(seed)s…")
                          % {"name": BUSINESS_NAME, **kwargs})
        try:
            summary = demo_ensure(progress=self._progress(), notify=notify, **kwargs)
        except DemoError as exc:
            self._finish_line()
            raise CommandError(str(exc)) from exc
        self._finish_line()
        if summary is not None:
            self._print_summary(summary)

    def _print_summary(self, s: DemoSummary) -> None:
        w = self.stdout.write
        w(self.style.SUCCESS("\n" + _("Demostración creada en %(seconds)s s (fecha de referencia %(today)s)")
                             % {"seconds": number_format(round(s.seconds, 1), decimal_pos=1),
                                "today": date_format(s.today, "SHORT_DATE_FORMAT")}))

        def row(label: str, value: str, note: str = "") -> None:
            w(f"  {label:<24}{value:>14}  {note}".rstrip())

        row(_("personas y empresas"), _count(s.customers), _("(%(n)s empresas)") % {"n": _count(s.companies)})
        row(_("en el TPV"), _count(s.customers_by_source["tpv"]))
        row(_("en la tienda online"), _count(s.customers_by_source["tienda_online"]))
        row(_("en las dos listas"), _count(s.overlapping_people),
            _("(%(pct)s %%, por fusionar)") % {
                "pct": number_format(round(100 * s.overlapping_people / s.customers, 1), decimal_pos=1)})
        row(_("productos"), _count(s.products))
        row(_("pedidos"), _count(s.orders))
        row(_("líneas de pedido"), _count(s.order_lines))
        row(_("devoluciones"), _count(s.returns))
        # The demo business sells in euros (its files say so), whatever the default currency.
        row(_("ventas"), money_format(s.revenue, "EUR"),
            _("(reembolsado %(amount)s)") % {"amount": money_format(s.refunds, "EUR")})
        w(f"  {_('archivos'):<24}{s.out_dir}")
        w("  " + _("tiempos") + ": " + ", ".join(
            f"{TIMING_LABELS.get(k, k)} {number_format(round(v, 1), decimal_pos=1)} s" for k, v in s.timings.items()))
        w("\n" + _("Usuarios de demostración:"))
        for username, role, password in s.users:
            w(f"  {username:<12} {role:<26} {password or _('(ya existía: contraseña sin cambios)')}")

    # A line per stage; on a terminal, a percentage that updates in place.
    def _progress(self):  # -> DemoProgress
        state: _ProgressState = {"stage": None, "pct": -1}
        tty = self.stdout.isatty()

        def report(stage: str, done: int, total: int) -> None:
            if stage != state["stage"]:
                self._finish_line(state)
                state["stage"], state["pct"] = stage, -1
                self.stdout.write(f"· {stage}", ending="" if tty else "\n")
                self.stdout.flush()
            if tty and total:
                pct = int(100 * done / total)
                if pct != state["pct"]:
                    state["pct"] = pct
                    self.stdout.write(f"\r· {stage} {pct:3d} %", ending="")
                    self.stdout.flush()

        self._state = state
        self._tty = tty
        return report

    def _finish_line(self, state: _ProgressState | None = None) -> None:
        state = state if state is not None else getattr(self, "_state", None)
        if state and state["stage"] is not None and getattr(self, "_tty", False):
            self.stdout.write("")
