"""Issue 11: XLSX formula cells are read from their stored results; a formula without a
stored result, or whose result is an error, is a row error (never a silently empty cell)."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
import pytest
import xlsxwriter

from fideliza.customers.models import Customer
from fideliza.imports.services import import_file

pytestmark = pytest.mark.django_db


def _workbook(path, rows, formulas):
    """rows: plain values; formulas: {(row, col): (formula, cached value or None)}."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Clientes")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if (r, c) in formulas:
                formula, cached = formulas[(r, c)]
                if cached is None:
                    sheet.write_formula(r, c, formula)
                else:
                    sheet.write_formula(r, c, formula, None, cached)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return path


def test_formula_cells_are_read_from_their_stored_results(tmp_path, actor):
    path = _workbook(tmp_path / "clientes.xlsx",
                     [["Código cliente", "Nombre", "Apellido 1", "Apellido 2", "Apellidos", "Coste de captación"],
                      ["C1", "Lucía", "García", "Pérez", None, None],
                      ["C2", "Eva", "Ruiz", "Gil", None, None]],
                     {(1, 4): ('=C2&" "&D2', "García Pérez"), (1, 5): ("=10/4", 2.5),
                      (2, 4): ('=C3&" "&D3', "Ruiz Gil"), (2, 5): ("=3*4", 12)})
    run = import_file(path=path, kind="customers", source="tpv", actor=actor)
    assert run.status == "done", run.errors
    lucia = Customer.objects.get(source_ids__external_id="C1")
    assert lucia.last_name == "García Pérez" and lucia.acquisition_cost == Decimal("2.50")
    assert Customer.objects.get(source_ids__external_id="C2").last_name == "Ruiz Gil"


def test_a_formula_without_a_stored_result_is_a_row_error(tmp_path, actor):
    """openpyxl writes formulas without results: that surname must not silently vanish."""
    path = tmp_path / "clientes.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Código cliente", "Nombre", "Apellidos", "Notas"])
    sheet.append(["C1", "Lucía", '="García"&" Pérez"', "ok"])
    sheet.append(["C2", "Eva", "Ruiz", '=A3&"!"'])   # an unmapped column would not matter
    book.save(path)
    run = import_file(path=path, kind="customers", source="tpv", actor=actor)
    assert run.status == "invalid"
    errors = [(e["row"], e["column"]) for e in run.errors]
    assert errors == [(2, "Apellidos"), (3, "Notas")]
    first = run.errors[0]
    assert first["value"] == '="García"&" Pérez"'
    assert "fórmula sin resultado guardado" in first["message"]
    assert not Customer.objects.exists()
    # Ignoring the column is the user's choice, and then the file imports.
    run = import_file(path=path, kind="customers", source="tpv", actor=actor,
                      mapping={"Apellidos": None, "Notas": None})
    assert run.status == "done", run.errors


def test_a_formula_whose_result_is_an_error_is_a_row_error(tmp_path, actor):
    path = _workbook(tmp_path / "clientes.xlsx",
                     [["Código cliente", "Nombre", "Coste de captación"],
                      ["C1", "Lucía", None], ["C2", "Eva", 3]],
                     {(1, 2): ("=1/0", "#DIV/0!")})
    run = import_file(path=path, kind="customers", source="tpv", actor=actor)
    assert run.status == "invalid"
    assert [(e["row"], e["column"], e["value"]) for e in run.errors] == [(2, "Coste de captación", "#DIV/0!")]
    assert "da un error en la hoja de cálculo" in run.errors[0]["message"]


def test_row_numbers_are_the_sheet_rows(tmp_path, actor):
    """A table that starts lower down, with a blank row inside: errors name the sheet's rows."""
    path = _workbook(tmp_path / "clientes.xlsx",
                     [[], [], [None, "Código cliente", "Nombre", "Teléfono"],
                      [None, "C1", "Lucía", "612345678"], [], [None, "C2", "Eva", "12"]], {})
    run = import_file(path=path, kind="customers", source="tpv", actor=actor)
    assert run.status == "invalid"
    assert [(e["row"], e["column"]) for e in run.errors] == [(6, "Teléfono")]
