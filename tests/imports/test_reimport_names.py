"""Re-importing a customers list decides each name group whole (issue 13's follow-up of 11).

A merge takes the name whole from the better-written card (`customers/names.py`); importing
again the list of the worse-written card must not undo that, nor mix the name's parts
again. A real change of name in the source (other words) replaces the name whole.
"""

from __future__ import annotations

import pytest

from fideliza.customers.merging import customer_merge
from fideliza.customers.models import Customer
from fideliza.customers.names import reimport_group, same_name
from fideliza.imports.services import import_file

pytestmark = pytest.mark.django_db

TPV = ("Id cliente;Nombre;Apellidos;Razón social;E-mail\n"
       "T1;María Dolores;Santos Lorenzo;;dolores@example.com\n"
       "T2;Rosa;Blanco Álvarez;;rosa@example.com\n"
       "T3;Lucía;García Pérez;;lucia@example.com\n"
       "T4;;;Ferretería Núñez SL;compras@nunez.example.com\n")
# The web shop's list: the same people written worse — abbreviated in capitals with a slip,
# fields swapped in lower case, one surname, capitals without accents.
WEB = ("Id cliente;Nombre;Apellidos;Razón social;E-mail\n"
       "W1;Mª DOLORES;SANTOS LORENO;;dolores@example.com\n"
       "W2;blanco álvarez;rosa;;rosa@example.com\n"
       "W3;LUCIA;GARCIA;;lucia@example.com\n"
       "W4;;;FERRETERIA NUNEZ SL;compras@nunez.example.com\n")
MERGED = {"W1": ("María Dolores", "Santos Lorenzo", ""),
          "W2": ("Rosa", "Blanco Álvarez", ""),
          "W3": ("Lucía", "García Pérez", ""),
          "W4": ("", "", "Ferretería Núñez SL")}


def _import(write_csv, actor, text, source, name=None):
    run = import_file(path=write_csv(text, name=name or f"{source}.csv"), kind="customers",
                      source=source, actor=actor, match_duplicates=False)
    assert run.status == "done", run.errors
    return run


def _card(source, external_id) -> Customer:
    return Customer.objects.get(source_ids__source=source, source_ids__external_id=external_id)


def _names(card: Customer) -> tuple[str, str, str]:
    card.refresh_from_db()
    return card.first_name, card.last_name, card.company_name


@pytest.fixture
def merged(write_csv, actor):
    """The two lists imported and each pair merged, the web card surviving."""
    _import(write_csv, actor, TPV, "tpv")
    _import(write_csv, actor, WEB, "web")
    cards = {}
    for n in "1234":
        survivor = _card("web", f"W{n}")
        customer_merge(actor=actor, survivor=survivor, duplicate=_card("tpv", f"T{n}"))
        assert _names(survivor) == MERGED[f"W{n}"]
        cards[f"W{n}"] = survivor
    return cards


def test_reimporting_the_worse_written_list_keeps_the_merged_names(write_csv, actor, merged):
    run = _import(write_csv, actor, WEB, "web", name="web-otra-vez.csv")
    for key, card in merged.items():
        assert _names(card) == MERGED[key]
    assert run.rows_updated == 0 and run.rows_unchanged == 4
    # The other list, already the better-written one, changes nothing either.
    _import(write_csv, actor, TPV, "tpv", name="tpv-otra-vez.csv")
    for key, card in merged.items():
        assert _names(card) == MERGED[key]


def test_a_full_name_column_is_the_same_name_too(write_csv, actor, merged):
    _import(write_csv, actor, "Id cliente;Nombre completo\nW1;MARIA DOLORES SANTOS LORENZO\n"
            "W2;rosa blanco alvarez\n", "web")
    assert _names(merged["W1"]) == MERGED["W1"]
    assert _names(merged["W2"]) == MERGED["W2"]


def test_a_real_change_of_name_applies_whole(write_csv, actor, merged):
    changed = WEB.replace("W1;Mª DOLORES;SANTOS LORENO", "W1;Dolores;Santos Martín") \
                 .replace("W3;LUCIA;GARCIA;", "W3;Lucía;;") \
                 .replace("FERRETERIA NUNEZ SL", "Suministros Núñez SL")
    run = _import(write_csv, actor, changed, "web", name="web-cambios.csv")
    assert _names(merged["W1"]) == ("Dolores", "Santos Martín", "")   # not «Dolores Santos Lorenzo»
    assert _names(merged["W2"]) == MERGED["W2"]
    assert _names(merged["W3"]) == MERGED["W3"]       # fewer words of the same name: kept
    assert _names(merged["W4"]) == ("", "", "Suministros Núñez SL")
    assert run.rows_updated == 2


def test_a_better_written_file_improves_the_card(write_csv, actor):
    _import(write_csv, actor, "Id;Nombre;Apellidos\n1;ANA;GARCIA LOPEZ\n2;Pedro;Gil\n", "tpv")
    _import(write_csv, actor, "Id;Nombre;Apellidos\n1;Ana;García López\n2;PEDRO;GIL\n", "tpv", name="b.csv")
    assert _names(_card("tpv", "1")) == ("Ana", "García López", "")
    assert _names(_card("tpv", "2")) == ("Pedro", "Gil", "")
    # An empty name in the file keeps the card's.
    _import(write_csv, actor, "Id;Nombre;Apellidos;E-mail\n1;;;ana@example.com\n", "tpv", name="c.csv")
    assert _names(_card("tpv", "1")) == ("Ana", "García López", "")


@pytest.mark.parametrize(("one", "other", "same"), [
    (("María Dolores", "Santos Lorenzo"), ("SANTOS LORENZO", "MARIA DOLORES"), True),
    (("María Dolores", "Santos Lorenzo"), ("Santos Loreno", ""), True),
    (("Mª Dolores", "Santos Lorenzo"), ("María Dolores", "Santos Lorenzo"), True),
    (("Fco.", "Ruiz"), ("Francisco", "Ruiz Gil"), True),
    (("Lucía", "García Pérez"), ("Lucía", "García Martín"), False),
    (("Ana", "Gil"), ("Ana", "Gil Gil"), True),
    (("Ana", "Gil Gil"), ("Ana Gil", "Ruiz"), False),
])
def test_same_name(one, other, same):
    assert same_name(one, other) is same
    assert same_name(other, one) is same


def test_reimport_group_keeps_ties_and_empty_files():
    assert reimport_group(("Ana", "Gil"), ("", "")) == ("Ana", "Gil")
    assert reimport_group(("Ana", "Gil"), ("ANA", "GIL")) == ("Ana", "Gil")
    assert reimport_group(("", ""), ("ANA", "GIL")) == ("ANA", "GIL")
    assert reimport_group(("Ana", "Gil"), ("Eva", "")) == ("Eva", "")
