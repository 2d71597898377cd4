import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fideliza.customers.models import Customer
from fideliza.imports.models import ImportRun

pytestmark = pytest.mark.django_db

BAD = ("Id cliente;Nombre;Apellidos;Teléfono;E-mail\n"
       "W1;Carmen;Vidal;612345678;carmen@example.com\n"
       "W2;Tomás;Ortiz;12;tomas@example.com\n")
GOOD = BAD.replace(";12;", ";699 88 77 66;")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def upload(text: str, name: str = "clientes.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_full_web_flow_bad_row_then_corrected_file(owner_client):
    assert owner_client.get(reverse("imports:list")).status_code == 200
    response = owner_client.post(reverse("imports:new"), {"kind": "customers", "source": "tienda",
                                                          "file": upload(BAD)})
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("imports:mapping", args=[run.pk])

    page = owner_client.get(response.url).content.decode()
    assert "Teléfono" in page and "Carmen" in page and 'value="phone" selected' in page

    # The user corrects the guess for one column (the same here) and validates.
    response = owner_client.post(reverse("imports:mapping", args=[run.pk]), {
        "action": "validate", "create_missing_stores": "on",
        "col_0": "external_id", "col_1": "first_name", "col_2": "last_name", "col_3": "phone", "col_4": "email"})
    assert response.status_code == 302 and response.url == reverse("imports:detail", args=[run.pk])
    page = owner_client.get(response.url).content.decode()
    assert 'id="import-errors"' in page
    assert "no es un número de teléfono válido" in page and "No se ha importado nada" in page
    run.refresh_from_db()
    assert run.status == "invalid" and run.errors[0]["row"] == 3 and run.errors[0]["column"] == "Teléfono"
    assert Customer.objects.count() == 0

    response = owner_client.post(reverse("imports:reupload", args=[run.pk]), {"file": upload(GOOD)})
    fixed = ImportRun.objects.latest("pk")
    assert fixed.pk != run.pk and fixed.status == "validated", fixed.errors
    assert fixed.source == "tienda" and fixed.rows_created == 2
    page = owner_client.get(response.url).content.decode()
    assert ">Importar</button>" in page
    assert Customer.objects.count() == 0  # validating writes nothing

    response = owner_client.post(reverse("imports:commit", args=[fixed.pk]))
    fixed.refresh_from_db()
    assert fixed.status == "done" and fixed.created_by.username == "duena"
    tomas = Customer.objects.get(source_ids__source="tienda", source_ids__external_id="W2")
    assert tomas.phone == "+34699887766"
    listing = owner_client.get(reverse("imports:list")).content.decode()
    assert "clientes.csv" in listing and "Importado" in listing


def test_mapping_page_lets_the_user_ignore_a_column(owner_client):
    owner_client.post(reverse("imports:new"), {"kind": "customers", "source": "tpv", "file": upload(GOOD)})
    run = ImportRun.objects.get()
    owner_client.post(reverse("imports:mapping", args=[run.pk]), {
        "action": "validate", "col_0": "external_id", "col_1": "first_name", "col_2": "last_name",
        "col_3": "", "col_4": "email"})
    run.refresh_from_db()
    assert run.status == "validated" and run.options["mapping"]["Teléfono"] is None
    owner_client.post(reverse("imports:commit", args=[run.pk]))
    assert set(Customer.objects.values_list("phone", flat=True)) == {""}


def test_large_file_runs_in_the_background_with_progress(owner_client, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    monkeypatch.setattr("fideliza.imports.views.BACKGROUND_ROWS", 1)
    owner_client.post(reverse("imports:new"), {"kind": "customers", "source": "tpv", "file": upload(GOOD)})
    run = ImportRun.objects.get()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        owner_client.post(reverse("imports:mapping", args=[run.pk]), {
            "action": "validate", "col_0": "external_id", "col_1": "first_name", "col_2": "last_name",
            "col_3": "phone", "col_4": "email"})
    assert len(callbacks) == 1  # enqueued after commit; the test backend runs it at once
    run.refresh_from_db()
    assert run.status == "validated" and run.rows_processed == 2
    progress = owner_client.get(reverse("imports:progress", args=[run.pk]))
    assert progress["HX-Refresh"] == "true"
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("imports:commit", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == "done" and Customer.objects.count() == 2


def test_progress_fragment_polls_while_running(owner_client, owner):
    run = ImportRun.objects.create(kind="orders", source="tpv", file_name="v.csv", status="validating",
                                   rows_total=100, rows_processed=40, created_by=owner)
    response = owner_client.get(reverse("imports:progress", args=[run.pk]))
    body = response.content.decode()
    assert 'id="import-progress"' in body and 'value="40"' in body and 'hx-trigger="every 1s"' in body
    assert "HX-Refresh" not in response


def test_sales_rep_cannot_import(client, django_user_model):
    rep = django_user_model.objects.create_user(username="rep", password="x", role="sales_rep")
    client.force_login(rep)
    assert client.get(reverse("imports:list")).status_code == 403
    assert client.post(reverse("imports:new"), {"kind": "customers", "source": "tpv",
                                                "file": upload(GOOD)}).status_code == 403
    assert ImportRun.objects.count() == 0


def test_login_required(client):
    response = client.get(reverse("imports:new"))
    assert response.status_code == 302 and "login" in response.url


def test_upload_rejects_other_file_types(owner_client):
    response = owner_client.post(reverse("imports:new"), {"kind": "customers", "source": "tpv",
                                                          "file": upload("x", name="foto.png")})
    assert response.status_code == 200 and "Suba un archivo CSV o XLSX" in response.content.decode()
