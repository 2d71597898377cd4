"""The example file of each kind and the column guide of the upload page.

Both are written from `fields.py`, the same definitions the importers use: the headers are
the fields' labels (which the importer recognises in either language), the values are
the fields' `examples`. The examples of the five kinds fit together (the contacts belong to
the customers file's company; the orders and tickets name its customers and the products),
so importing them in order — customers, contacts, products, orders, tickets — into one
source works without errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.formats import get_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from fideliza.core.exports import Sheet, csv_lines

from .fields import FIELDS_BY_KIND, ONE_OF_BY_KIND, FieldSpec, one_of_label, quoted
from .models import ImportKind

EXAMPLE_ORDER = ("customers", "contacts", "products", "orders", "tickets")


def _spanish_like() -> bool:
    """Comma decimals and ';' separators (what Excel expects in Spain) for a comma locale."""
    return get_format("DECIMAL_SEPARATOR") == ","


def _cell(spec: FieldSpec, value: object) -> str:
    text = str(value)
    if not text:
        return ""
    if spec.type == "money" and _spanish_like():
        return text.replace(".", ",")
    if spec.type in ("date", "datetime") and _spanish_like():
        day, _sep, time = text.partition(" ")
        y, m, d = day.split("-")
        return f"{d}/{m}/{y}" + (f" {time}" if time else "")
    return text


def example_fields(kind: str) -> list[FieldSpec]:
    return [f for f in FIELDS_BY_KIND[kind] if f.examples]


def example_sheet(kind: str) -> Sheet:
    """The example table of `kind`: the fields' labels and their example values, written
    as a shop's spreadsheet in the active language writes them."""
    specs = example_fields(kind)
    rows = [[_cell(f, f.examples[row]) for f in specs] for row in range(len(specs[0].examples))]
    return Sheet(title=str(kind), header=[str(f.label) for f in specs], rows=rows)


def example_csv(kind: str) -> bytes:
    """The example file of `kind` in the active language, UTF-8 with a BOM (so that Excel
    shows the accents), separated by ';' with decimal commas in a comma-decimal language;
    written by the one CSV writer of every download (`core.exports`)."""
    return "".join(csv_lines(example_sheet(kind))).encode("utf-8")


def example_filename(kind: str) -> str:
    language = (get_language() or "es")[:2]
    return f"fideliza-{kind}-{'ejemplo' if language == 'es' else 'example'}.csv"


@dataclass
class GuideRow:
    label: str
    required: str                     # «Sí», «No» or «Sí, o «E-mail» o «Teléfono»»
    example: str
    help: str


@dataclass
class KindGuide:
    """What the upload page says about one kind of file."""

    kind: str
    label: str
    required: list[FieldSpec]
    one_of: list[str]                 # «A», «B» o «C» (at least one of them)
    rows: list[GuideRow]

    @property
    def required_quoted(self) -> list[str]:
        return [quoted(f.label) for f in self.required]


def kind_guides() -> list[KindGuide]:
    labels = dict(ImportKind.choices)
    guides = []
    for kind in EXAMPLE_ORDER:
        specs = FIELDS_BY_KIND[kind]
        by_name = {f.name: f for f in specs}
        rows = []
        for f in specs:
            group = next((g for g in ONE_OF_BY_KIND[kind] if f.name in g), None)
            if f.required:
                required = str(_("Sí"))
            elif group:
                others = [quoted(by_name[n].label) for n in group if n != f.name]
                listed = others[0] if len(others) == 1 else _("%(first)s o %(last)s") % {
                    "first": ", ".join(others[:-1]), "last": others[-1]}
                required = _("Sí, o bien %(others)s") % {"others": listed}
            else:
                required = str(_("No"))
            rows.append(GuideRow(label=str(f.label), required=required,
                                 example=_cell(f, f.examples[0]) if f.examples else "",
                                 help=str(f.help)))
        guides.append(KindGuide(
            kind=kind, label=str(labels[kind]),
            required=[f for f in specs if f.required],
            one_of=[one_of_label(kind, group) for group in ONE_OF_BY_KIND[kind]],
            rows=rows,
        ))
    return guides
