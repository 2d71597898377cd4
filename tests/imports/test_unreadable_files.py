"""Issue 11: a binary or undecodable file is refused with a Spanish sentence, never a 500,
whether it arrives through the web, the command line or the service."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from fideliza.customers.models import Customer
from fideliza.imports.models import ImportRun
from fideliza.imports.services import import_file, import_preview

pytestmark = pytest.mark.django_db

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40   # a program renamed .csv
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
OLD_XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)
NOISE = bytes((i * 37 + 11) % 32 for i in range(4000))  # control characters, no NUL


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


BINARIES = {"program": ELF, "image": PNG, "pdf": PDF, "old_xls": OLD_XLS, "noise": NOISE,
            "docx": _docx()}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _is_spanish_refusal(text: str) -> bool:
    return ("no es un CSV ni una hoja de Excel" in text or "Excel antigua (.xls)" in text)


@pytest.mark.parametrize("name", sorted(BINARIES))
def test_web_upload_of_a_binary_file_is_refused_in_spanish(client, owner, name):
    client.force_login(owner)
    response = client.post(reverse("imports:new"), {
        "kind": "customers", "source": "tpv",
        "file": SimpleUploadedFile("clientes.csv", BINARIES[name], content_type="text/csv")})
    assert response.status_code == 200
    assert _is_spanish_refusal(response.content.decode())
    assert not ImportRun.objects.exists()


def test_a_stored_binary_file_never_gives_a_500(client, owner, tmp_path):
    """A run whose file is binary (stored before this check existed, or by another path)."""
    client.force_login(owner)
    run = ImportRun.objects.create(kind="customers", source="tpv", file_name="x.csv", created_by=owner)
    run.file.save("x.csv", io.BytesIO(ELF))
    page = client.get(reverse("imports:mapping", args=[run.pk]))
    assert page.status_code == 200 and _is_spanish_refusal(page.content.decode())
    response = client.post(reverse("imports:mapping", args=[run.pk]), {"action": "validate"})
    assert response.status_code == 200


@pytest.mark.parametrize("name", sorted(BINARIES))
def test_service_and_preview_refuse_a_binary_file(write_csv, actor, tmp_path, name):
    path = tmp_path / "clientes.csv"
    path.write_bytes(BINARIES[name])
    run = import_file(path=path, kind="customers", source="tpv", actor=actor)
    assert run.status == "invalid" and run.errors[0]["row"] is None
    assert _is_spanish_refusal(run.errors[0]["message"])
    assert _is_spanish_refusal(import_preview(path=path, kind="customers").error)
    assert not Customer.objects.exists()


def test_command_line_refuses_a_binary_file(tmp_path, capsys):
    path = tmp_path / "clientes.csv"
    path.write_bytes(ELF)
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import", "customers", str(path), "--source", "tpv")
    assert "no es un CSV ni una hoja de Excel" in capsys.readouterr().err


def test_a_workbook_renamed_csv_is_read_as_a_workbook(tmp_path, actor):
    book = openpyxl.Workbook()
    book.active.append(["Código cliente", "Nombre"])
    book.active.append(["A1", "Rocío"])
    path = tmp_path / "clientes.csv"
    book.save(path)
    run = import_file(path=path, kind="customers", source="tpv", actor=actor)
    assert run.status == "done", run.errors
    assert Customer.objects.get().first_name == "Rocío"


def test_utf16_text_export_is_read(tmp_path, actor):
    """Excel's «Unicode text» export: UTF-16 with a BOM, tab separated (it has NUL bytes)."""
    path = tmp_path / "clientes.txt"
    path.write_bytes("Código cliente\tNombre\nA1\tÍñigo\n".encode("utf-16"))
    run = import_file(path=path, kind="customers", source="tpv", actor=actor)
    assert run.status == "done", run.errors
    assert run.options["encoding"] == "utf-16" and Customer.objects.get().first_name == "Íñigo"


def test_wrong_encoding_and_ragged_rows_are_explained_in_spanish(write_csv, actor):
    latin = write_csv("Codigo cliente;Nombre\nA1;Begoña\n", encoding="cp1252")
    from fideliza.imports.reader import ImportOptions

    run = import_file(path=latin, kind="customers", source="tpv", actor=actor,
                      options=ImportOptions(encoding="utf-8"))
    assert run.status == "invalid" and "no está en UTF-8 (línea 2)" in run.errors[0]["message"]
    ragged = write_csv('Código cliente;Nombre\nA1;Ana\nA2;Eva;Ruiz;"x"\n', name="r.csv")
    run = import_file(path=ragged, kind="customers", source="tpv", actor=actor)
    assert run.status == "invalid"
    assert run.errors[0]["message"].startswith("La fila 3 tiene 4 columnas y la fila de títulos 2")


def test_header_only_file_is_a_clear_error_not_a_crash(write_csv, actor):
    run = import_file(path=write_csv("Código cliente;Nombre\n"), kind="customers", source="tpv",
                      actor=actor)
    assert run.status == "invalid"
    assert run.errors[0]["message"] == "El archivo solo tiene la fila de títulos: no hay datos que importar."
