"""The demo command's summary reads in one language, with the reader's numbers and money."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management.base import OutputWrapper
from django.utils import translation

from fideliza.demo.management.commands.demo import Command
from fideliza.demo.services import DemoSummary

SUMMARY = DemoSummary(
    customers=5000, seed=42, years=3, today=date(2026, 12, 7),
    people_by_list={"tpv": 3000, "web": 1000, "both": 1000},
    customers_by_source={"tpv": 4000, "tienda_online": 2000}, overlapping_people=1000,
    companies=412, products=850, orders=31245, order_lines=80112, returns=312,
    revenue=Decimal("1234567.89"), refunds=Decimal("4321.50"), seconds=24.86,
    out_dir=Path("/tmp/var/demo"), files_digest="x",
    users=[("duena", "Propietario", "fideliza-demo")],
    timings={"generate": 1.25, "write_files": 0.5, "import_products": 0.3, "import_customers": 2.0,
             "assign_sales_reps": 0.1, "import_orders": 9.0, "returns": 1.0, "loyalty": 3.0,
             "analytics": 6.0},
)
CODES = ("generate", "write_files", "import_", "assign_sales_reps")


def _summary(language: str) -> str:
    out = StringIO()
    command = Command(stdout=OutputWrapper(out))
    with translation.override(language):
        command._print_summary(SUMMARY)
    return out.getvalue()


def test_spanish_summary():
    text = _summary("es")
    assert "1.234.567,89\xa0€" in text and "(reembolsado 4.321,50\xa0€)" in text
    assert "31.245" in text and "(20,0 %, por fusionar)" in text
    assert "Demostración creada en 24,9 s (fecha de referencia 07/12/2026)" in text
    assert re.search(r"archivos\s+/tmp/var/demo", text)
    assert "tiempos: generación 1,2 s, archivos 0,5 s, catálogo 0,3 s" in text
    assert not any(code in text for code in (*CODES, "loyalty", "analytics"))


@pytest.mark.parametrize("word", ["archivos", "tiempos", "generación", "ventas", "pedidos", "empresas",
                                  "reembolsado", "Demostración", "fusionar", "comerciales"])
def test_english_summary_has_no_spanish(word):
    text = _summary("en")
    assert word not in text
    assert "€1,234,567.89" in text and "(refunded €4,321.50)" in text and "31,245" in text
    assert re.search(r"files\s+/tmp/var/demo", text)
    assert "timings: generation 1.2 s, files 0.5 s" in text
    assert not any(code in text for code in CODES)


def test_command_help_in_english():
    with translation.override("en"):
        text = Command().create_parser("fideliza", "demo").format_help()
    assert "Creates the demo business" in text and "ferretería" not in text
