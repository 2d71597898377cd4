"""Issue 11: a wrong header is flagged at the mapping step, before validation, in the
user's language; no internal name (`__row__`) ever reaches the user."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation

from fideliza.imports.models import ImportRun
from fideliza.imports.reader import ROW_COLUMN
from fideliza.imports.services import import_file, import_preview

pytestmark = pytest.mark.django_db

WRONG_HEADER = "Cod;Nom;Tfno móvil\nC1;Ana;612345678\nC2;Eva;699887766\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(client, text, kind="customers", name="datos.csv"):
    client.post(reverse("imports:new"), {"kind": kind, "source": "tpv",
                                         "file": SimpleUploadedFile(name, text.encode())})
    return ImportRun.objects.latest("pk")


def test_wrong_header_is_flagged_on_the_mapping_page_before_validating(client, owner):
    client.force_login(owner)
    run = _upload(client, WRONG_HEADER)
    page = client.get(reverse("imports:mapping", args=[run.pk])).content.decode()
    assert 'id="mapping-problems"' in page
    assert "Falta una columna con «Id del cliente en el origen», «E-mail» o «Teléfono»" in page
    assert 'id="mapping-notes"' in page and "no se importarán: «Cod», «Nom», «Tfno móvil»" in page
    # «Validar» with the same columns: the page says it again; nothing was validated.
    response = client.post(reverse("imports:mapping", args=[run.pk]),
                           {"action": "validate", "col_0": "", "col_1": "", "col_2": ""})
    assert response.status_code == 200 and 'id="mapping-problems"' in response.content.decode()
    run.refresh_from_db()
    assert run.status == "pending" and run.errors == []
    # Once the user says what the columns are, it validates.
    response = client.post(reverse("imports:mapping", args=[run.pk]), {
        "action": "validate", "col_0": "external_id", "col_1": "first_name", "col_2": "phone"})
    run.refresh_from_db()
    assert response.status_code == 302 and run.status == "validated", run.errors


def test_missing_required_column_of_orders_is_named(client, owner):
    client.force_login(owner)
    run = _upload(client, "Ticket;Cliente;Fcha;Importe\nT1;C1;05/01/2024;3\n", kind="tickets")
    page = client.get(reverse("imports:mapping", args=[run.pk])).content.decode()
    assert 'Falta la columna obligatoria &quot;Fecha&quot;' in page and "«Fcha»" in page


def test_english_mapping_page(client, owner):
    owner.language = "en"
    owner.save()
    client.force_login(owner)
    run = _upload(client, WRONG_HEADER)
    with translation.override("en"):
        url = reverse("imports:mapping", args=[run.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "A column with “Customer ID in the source”, “E-mail” or “Phone” is missing" in page
    assert "These columns will not be imported: “Cod”, “Nom”, “Tfno móvil”" in page
    assert "«" not in page and "Falta" not in page


def test_a_first_row_of_data_is_flagged(write_csv):
    preview = import_preview(path=write_csv("C1;Ana;612345678;ana@example.com\nC2;Eva;699887766;\n"),
                             kind="customers")
    assert any("La primera fila parece contener datos" in p for p in preview.problems)


def test_no_internal_column_name_reaches_the_user(write_csv, actor, capsys):
    """The old path: no key column mapped -> one error per row on a column called `__row__`."""
    run = import_file(path=write_csv(WRONG_HEADER), kind="customers", source="tpv", actor=actor)
    assert run.status == "invalid"
    assert all(ROW_COLUMN not in (e["column"] + e["message"]) for e in run.errors)
    assert "Falta una columna con" in run.errors[0]["message"]
    # Even a mapping that leaves every key column out by hand never names `__row__`.
    run = import_file(path=write_csv(WRONG_HEADER), kind="customers", source="tpv", actor=actor,
                      mapping={"Cod": "first_name", "Nom": "last_name", "Tfno móvil": None})
    assert all(ROW_COLUMN not in (e["column"] + e["message"]) for e in run.errors)
    with pytest.raises(CommandError):
        call_command("import", "customers", str(write_csv(WRONG_HEADER)), "--source", "tpv")
    captured = capsys.readouterr()
    assert ROW_COLUMN not in captured.err + captured.out
    assert "no se importarán" in captured.err
