"""An import's stored errors read in the reader's language, whatever language the file was
validated in, rows stored before the msgid included; internal columns never show."""

from __future__ import annotations

import pytest
from django.utils import translation

from fideliza.accounts.services import Actor
from fideliza.imports.convert import error_text, format_error
from fideliza.imports.models import ImportRun, ImportStatus
from fideliza.imports.services import import_file

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _spanish_again_afterwards():
    """A request to /en/ leaves English active in this thread: the next test starts in Spanish."""
    with translation.override("es"):
        yield

BAD = ("codigo;nombre;email;fecha_alta\n"
       "X1;Ana;ana@example.com;2026-01-05\n"
       "X2;Luis;esto-no-es-un-email;2026-01-06\n")


@pytest.mark.parametrize("validated_in", ["es", "en"])
def test_errors_follow_the_reader_not_the_validation(owner, client, tmp_path, validated_in):
    path = tmp_path / "clientes.csv"
    path.write_text(BAD, encoding="utf-8")
    with translation.override(validated_in):
        run = import_file(path=path, kind="customers", source="hoja", actor=Actor.of(owner))
    assert run.status == ImportStatus.INVALID
    client.force_login(owner)
    spanish = client.get(f"/importaciones/{run.pk}/").content.decode()
    english = client.get(f"/en/importaciones/{run.pk}/").content.decode()
    assert "&quot;esto-no-es-un-email&quot; no es un e-mail válido." in spanish
    assert "is not a valid e-mail" not in spanish
    assert "&quot;esto-no-es-un-email&quot; is not a valid e-mail." in english
    assert "no es un e-mail válido" not in english


def test_rows_stored_before_the_msgid_are_translated_too():
    old = {"row": 3, "column": "email", "value": "x@", "message": '"x@" no es un e-mail válido.'}
    with translation.override("en"):
        assert error_text(old) == '"x@" is not a valid e-mail.'
        assert format_error(old) == 'Row 3, column "email": "x@" is not a valid e-mail.'
    with translation.override("es"):
        assert error_text(old) == '"x@" no es un e-mail válido.'


def test_the_internal_row_column_is_never_named(owner, client):
    run = ImportRun.objects.create(kind="customers", source="hoja", file_name="c.csv", status="invalid",
                                   created_by=owner, error_count=1,
                                   errors=[{"row": 4, "column": "__row__", "value": "",
                                            "message": "Falta el valor (obligatorio)."}])
    with translation.override("es"):
        assert format_error(run.errors[0]) == "Fila 4: Falta el valor (obligatorio)."
    client.force_login(owner)
    assert "__row__" not in client.get(f"/importaciones/{run.pk}/").content.decode()
