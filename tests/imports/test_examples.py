"""Issue 11: the upload page lists each kind's columns and offers an example file per kind,
both written from the field definitions the importer uses; every example imports cleanly."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from fideliza.customers.models import Customer
from fideliza.imports.examples import EXAMPLE_ORDER, example_csv, example_fields
from fideliza.imports.fields import FIELDS_BY_KIND, ONE_OF_BY_KIND, guess_mapping, normalize_header
from fideliza.imports.models import ImportKind
from fideliza.imports.reader import read_table
from fideliza.imports.services import import_file
from fideliza.sales.models import Order

pytestmark = pytest.mark.django_db


def test_every_kind_has_an_example_and_a_guide():
    assert set(EXAMPLE_ORDER) == set(FIELDS_BY_KIND) == {k.value for k in ImportKind}
    for kind in EXAMPLE_ORDER:
        specs = FIELDS_BY_KIND[kind]
        rows = {len(f.examples) for f in example_fields(kind)}
        assert len(rows) == 1, f"{kind}: every example column has the same number of rows"
        in_example = {f.name for f in example_fields(kind)}
        assert {f.name for f in specs if f.required} <= in_example
        for group in ONE_OF_BY_KIND[kind]:
            assert in_example & set(group), f"{kind}: the example covers {group}"


@pytest.mark.parametrize("language", ["es", "en"])
def test_labels_are_distinct_and_map_back_to_their_fields(language):
    with translation.override(language):
        for kind, specs in FIELDS_BY_KIND.items():
            labels = [normalize_header(str(f.label)) for f in specs]
            assert len(labels) == len(set(labels)), kind
            mapping = guess_mapping([str(f.label) for f in specs], kind)
            assert mapping == {str(f.label): f.name for f in specs}, kind


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_example_file_imports_cleanly(language, tmp_path, actor):
    with translation.override(language):
        for kind in EXAMPLE_ORDER:
            path = tmp_path / f"{kind}.csv"
            path.write_bytes(example_csv(kind))
            table = read_table(path)
            assert table.options.delimiter == (";" if language == "es" else ",")
            run = import_file(path=path, kind=kind, source="ejemplo", actor=actor)
            assert run.status == "done", (kind, run.errors)
            assert run.rows_created == len(table.frame) and run.error_count == 0
            assert run.options["mapping"] == {str(f.label): f.name for f in example_fields(kind)}
    assert Customer.objects.count() == 3
    assert Order.objects.count() == 2 + 3  # two line orders, three tickets
    ticket = Order.objects.get(source="ejemplo", external_id="T-501")
    assert ticket.customer.source_ids.get().external_id == "C-001"


def test_upload_page_lists_the_columns_and_links_the_examples(client, owner):
    client.force_login(owner)
    page = client.get(reverse("imports:new")).content.decode()
    for kind in EXAMPLE_ORDER:
        assert f'id="columns-{kind}"' in page
        assert reverse("imports:example", args=[kind]) in page
    assert "Obligatorias:" in page and "«Importe»" in page and "«Fecha»" in page
    assert "Número de ticket" in page  # an optional column of the tickets kind
    response = client.get(reverse("imports:example", args=["tickets"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "fideliza-tickets-ejemplo.csv" in response["Content-Disposition"]
    assert response.getvalue().decode("utf-8-sig").splitlines()[0].startswith("Número de ticket;")
    assert client.get("/importaciones/ejemplo/nada.csv").status_code == 404


def test_examples_in_english(client, owner):
    owner.language = "en"
    owner.save()
    client.force_login(owner)
    with translation.override("en"):
        response = client.get(reverse("imports:example", args=["customers"]),
                              HTTP_ACCEPT_LANGUAGE="en")
    header = response.getvalue().decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Customer ID in the source,") and "Spanish" not in header


def test_upload_page_in_english(client, owner):
    owner.language = "en"
    owner.save()
    client.force_login(owner)
    with translation.override("en"):
        url = reverse("imports:new")
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Columns of each kind of file" in page and "Required:" in page
    assert "Yes, or else “E-mail” or “Phone”" in page  # the customer id row
    for spanish in ("Obligatorias", "Sí, o bien", "Importe", "«", "Número de ticket"):
        assert spanish not in page, spanish
