from decimal import Decimal

import openpyxl
import pytest

from fideliza.accounts.models import AuditLog
from fideliza.catalog.models import Product
from fideliza.customers.models import ConsentRecord, Customer, CustomerSourceId
from fideliza.imports.fields import guess_mapping, normalize_header
from fideliza.imports.reader import ImportOptions
from fideliza.imports.services import import_file, import_preview
from fideliza.sales.models import Order, OrderLine, Store

pytestmark = pytest.mark.django_db

CUSTOMERS = (
    "Id cliente;Nombre;Apellido(s);E-mail;Teléfono;Fecha de nacimiento;Ciudad;Intereses;acepta_email\n"
    "C1;Lucía;García Pérez;Lucia@Example.com;612 34 56 78;05/01/1980;Sevilla;bricolaje, jardín;sí\n"
    "C2;José;Núñez;;+34 600 111 222;;Córdoba;;\n"
)


def _customers(write_csv, actor, text=CUSTOMERS, encoding="utf-8", **kw):
    path = write_csv(text, name=kw.pop("name", "clientes.csv"), encoding=encoding)
    return import_file(path=path, kind="customers", source=kw.pop("source", "tpv"), actor=actor, **kw)


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected_encoding"),
    [("utf-8", "", "utf-8"), ("utf-8", "\ufeff", "utf-8-sig"), ("cp1252", "", "cp1252"),
     ("latin-1", "", "cp1252")],
)
def test_encodings_are_detected(write_csv, actor, encoding, prefix, expected_encoding):
    run = _customers(write_csv, actor, prefix + CUSTOMERS, encoding=encoding)
    assert run.status == "done", run.errors
    assert run.options["encoding"] == expected_encoding
    lucia = Customer.objects.get(source_ids__external_id="C1")
    assert (lucia.first_name, lucia.last_name, lucia.city) == ("Lucía", "García Pérez", "Sevilla")
    assert Customer.objects.get(source_ids__external_id="C2").first_name == "José"


def test_customer_values_are_normalised(write_csv, actor):
    run = _customers(write_csv, actor)
    assert (run.rows_created, run.rows_updated, run.rows_unchanged) == (2, 0, 0)
    lucia = Customer.objects.get(source_ids__source="tpv", source_ids__external_id="C1")
    assert lucia.phone == "+34612345678" and lucia.email == "lucia@example.com"
    assert str(lucia.birth_date) == "1980-01-05"
    assert sorted(lucia.interests.values_list("name", flat=True)) == ["bricolaje", "jardín"]
    consent = ConsentRecord.objects.get(customer=lucia)
    assert (consent.channel, consent.status, consent.source) == ("email", "granted", "import:clientes.csv")


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_delimiters_are_detected(write_csv, actor, delimiter):
    text = CUSTOMERS.replace(";", delimiter) if delimiter != "," else (
        'Id cliente,Nombre,Apellido(s),E-mail,Teléfono,Fecha de nacimiento,Ciudad,Intereses,acepta_email\n'
        'C1,Lucía,García Pérez,lucia@example.com,612 34 56 78,1980-01-05,Sevilla,"bricolaje, jardín",sí\n'
        'C2,José,Núñez,,+34 600 111 222,,Córdoba,,\n')
    run = _customers(write_csv, actor, text)
    assert run.status == "done", run.errors
    assert run.options["delimiter"] == delimiter
    assert Customer.objects.get(source_ids__external_id="C1").interests.count() == 2


def test_headers_spanish_and_english_accent_and_case_insensitive():
    headers = ["NOMBRE", "Apellidos", "Razón social", "NIF/CIF/DNI", "Fecha de nacimiento", "E-mail",
               "Móvil", "Dirección", "CP", "Localidad", "Provincia", "País", "Sexo", "Canal preferido",
               "Fecha de alta", "Canal de captación", "Coste de captación", "Observaciones",
               "Código cliente", "Columna rara"]
    mapping = guess_mapping(headers, "customers")
    assert mapping == {
        "NOMBRE": "first_name", "Apellidos": "last_name", "Razón social": "company_name",
        "NIF/CIF/DNI": "tax_id", "Fecha de nacimiento": "birth_date", "E-mail": "email",
        "Móvil": "phone", "Dirección": "address", "CP": "postal_code", "Localidad": "city",
        "Provincia": "region", "País": "country", "Sexo": "gender", "Canal preferido": "preferred_channel",
        "Fecha de alta": "acquisition_date", "Canal de captación": "acquisition_channel",
        "Coste de captación": "acquisition_cost", "Observaciones": "notes",
        "Código cliente": "external_id", "Columna rara": None,
    }
    english = guess_mapping(["First name", "Last name", "Email", "Phone", "City", "Birth date"], "customers")
    assert list(english.values()) == ["first_name", "last_name", "email", "phone", "city", "birth_date"]
    orders = guess_mapping(["Nº factura", "Cliente", "Fecha", "Referencia", "Cantidad", "Precio",
                            "Coste", "Dto.", "Canal", "Tienda"], "orders")
    assert list(orders.values()) == ["order_id", "customer_id", "placed_at", "sku", "quantity",
                                     "unit_price", "unit_cost", "discount", "channel", "store"]
    products = guess_mapping(["Código", "Descripción", "Familia", "PVP", "Coste", "Activo", "Nivel"], "products")
    assert list(products.values()) == ["sku", "name", "category", "list_price", "unit_cost", "is_active",
                                       "path_level"]
    assert normalize_header("  Nº de Ticket ") == "ticket"
    assert guess_mapping(["Sexo/Género", "Apellido(s)", "Correo"], "customers") == {
        "Sexo/Género": "gender", "Apellido(s)": "last_name", "Correo": "email"}
    assert guess_mapping(["Referencia", "Nombre/Descripción", "Precio"], "products") == {
        "Referencia": "sku", "Nombre/Descripción": "name", "Precio": "list_price"}


def test_mapping_override(write_csv, actor):
    text = "Ref;Cliente nombre;Tel\nX-1;Marta;612345678\n"
    preview = import_preview(path=write_csv(text), kind="customers")
    assert preview.mapping == {"Ref": None, "Cliente nombre": "full_name", "Tel": "phone"}
    run = _customers(write_csv, actor, text, mapping={"Ref": "external_id", "Cliente nombre": "first_name"})
    assert run.status == "done", run.errors
    marta = Customer.objects.get(source_ids__external_id="X-1")
    assert marta.first_name == "Marta" and marta.phone == "+34612345678"


def test_mapping_to_an_unknown_field_or_twice_is_reported(write_csv, actor):
    run = _customers(write_csv, actor, mapping={"Nombre": "shoe_size", "Ciudad": "email",
                                                "Apellido(s)": "email"})
    assert run.status == "invalid"
    messages = " ".join(e["message"] for e in run.errors)
    assert "shoe_size" in messages and "ya está asignado" in messages
    assert Customer.objects.count() == 0


def test_one_bad_row_writes_nothing_and_reports_in_spanish(write_csv, actor, table_counts):
    before = table_counts()
    text = CUSTOMERS + "C3;Eva;Ruiz;eva@example;12;31/02/1990;Huelva;;quizá\n"
    run = _customers(write_csv, actor, text)
    assert run.status == "invalid"
    assert table_counts() == before
    assert run.rows_rejected == 1 and run.rows_created == 0
    by_column = {e["column"]: e for e in run.errors}
    assert set(by_column) == {"E-mail", "Teléfono", "Fecha de nacimiento", "acepta_email"}
    assert all(e["row"] == 4 for e in run.errors)  # the header is row 1
    assert by_column["Teléfono"]["message"] == '"12" no es un número de teléfono válido.'
    from fideliza.imports.convert import format_error

    assert format_error(by_column["Teléfono"]) == (
        'Fila 4, columna "Teléfono": "12" no es un número de teléfono válido.')


def test_same_file_twice_adds_nothing(write_csv, actor, table_counts):
    first = _customers(write_csv, actor)
    after_first = table_counts()
    second = _customers(write_csv, actor)
    assert (second.rows_created, second.rows_updated, second.rows_unchanged) == (0, 0, 2)
    counts = table_counts()
    # Only the ImportRun itself is new; no customer, id, consent, tag or audit row.
    assert counts == after_first
    assert first.file_sha256 == second.file_sha256


def test_changed_values_update_and_are_audited(write_csv, actor):
    _customers(write_csv, actor)
    changed = CUSTOMERS.replace("Sevilla", "Cádiz").replace(";sí\n", ";no\n")
    run = _customers(write_csv, actor, changed)
    assert (run.rows_created, run.rows_updated, run.rows_unchanged) == (0, 1, 1)
    lucia = Customer.objects.get(source_ids__external_id="C1")
    assert lucia.city == "Cádiz"
    row = AuditLog.objects.get(entity_id=str(lucia.pk), action="bulk_update")
    assert row.changes == {"city": ["Sevilla", "Cádiz"], "consent_email": [True, False]}
    assert row.actor == actor.user and row.context["source"] == "tpv"
    assert list(lucia.consents.values_list("status", flat=True)) == ["withdrawn", "granted"]


def test_every_imported_customer_gets_an_audit_row(write_csv, actor):
    _customers(write_csv, actor)
    for customer in Customer.objects.all():
        row = AuditLog.objects.get(entity="customers.customer", entity_id=str(customer.pk))
        assert row.action == "bulk_create" and row.actor == actor.user
        assert row.changes["first_name"] == [None, customer.first_name]


def test_rows_without_id_are_keyed_by_email(write_csv, actor):
    text = "Nombre;Correo;Teléfono\nAna;ana@example.com;\nBea;;600 111 222\n"
    _customers(write_csv, actor, text)
    again = _customers(write_csv, actor, text)
    assert again.rows_unchanged == 2 and Customer.objects.count() == 2
    assert set(CustomerSourceId.objects.values_list("external_id", flat=True)) == {
        "email:ana@example.com", "phone:+34600111222"}
    nothing = _customers(write_csv, actor, "Nombre;Ciudad\nCarla;Jaén\n")
    assert nothing.status == "invalid" and "e-mail" in nothing.errors[0]["message"].lower()


def test_duplicate_id_in_file_is_an_error(write_csv, actor):
    run = _customers(write_csv, actor, CUSTOMERS + "C1;Otra;Persona;;;;;;\n")
    assert run.status == "invalid"
    assert run.errors[0]["row"] == 4 and "fila 2" in run.errors[0]["message"]


def test_xlsx(tmp_path, actor):
    path = tmp_path / "clientes.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Código cliente", "Nombre", "Teléfono", "Fecha de alta", "Coste de captación"])
    import datetime

    sheet.append(["A1", "Rocío", 612345678, datetime.datetime(2024, 3, 5), 12.5])
    sheet.append(["A2", "Iñaki", "600 111 222", "06/03/2024", "7,25"])
    book.save(path)
    run = import_file(path=path, kind="customers", source="web", actor=actor)
    assert run.status == "done", run.errors
    rocio = Customer.objects.get(source_ids__external_id="A1")
    assert rocio.phone == "+34612345678" and str(rocio.acquisition_date) == "2024-03-05"
    assert rocio.acquisition_cost == Decimal("12.50")
    assert Customer.objects.get(source_ids__external_id="A2").acquisition_cost == Decimal("7.25")


PRODUCTS = ("SKU;Descripción;Categoría;PVP;Coste;Nivel\n"
            "MART-1;Martillo;Herramientas > Manuales;12,50;6,10;entrada\n"
            "TAL-2;Taladro;Herramientas > Eléctricas;1.234,00;700;premium\n")
ORDERS = ("Nº ticket;Cliente;Fecha;SKU;Cantidad;Precio;Descuento;Tienda;Canal\n"
          "T-1;C1;05/01/2024 10:30;MART-1;3;12,50;1,00;CEN;tienda\n"
          "T-1;C1;05/01/2024 10:30;TAL-2;1;1.200,00;;CEN;tienda\n"
          "T-2;lucia@example.com;07-01-2024;MART-1;0,5;12,35;;;web\n")


@pytest.fixture
def catalog_and_customers(write_csv, actor):
    _customers(write_csv, actor)
    run = import_file(path=write_csv(PRODUCTS, name="productos.csv"), kind="products", source="erp",
                      actor=actor)
    assert run.status == "done", run.errors


def test_products_with_category_paths_and_decimal_comma(catalog_and_customers):
    taladro = Product.objects.get(sku="TAL-2")
    assert taladro.list_price == Decimal("1234.00") and taladro.unit_cost == Decimal("700.00")
    assert taladro.category.full_path == "Herramientas › Eléctricas" and taladro.path_level == "premium"
    assert Product.objects.get(sku="MART-1").category.parent == taladro.category.parent


def test_orders_grouped_with_decimal_totals(catalog_and_customers, write_csv, actor):
    run = import_file(path=write_csv(ORDERS, name="ventas.csv"), kind="orders", source="tpv", actor=actor)
    assert run.status == "done", run.errors
    assert run.rows_created == 3 and run.options["summary"]["orders_created"] == 2
    t1 = Order.objects.get(source="tpv", external_id="T-1")
    assert t1.customer.email == "lucia@example.com" and t1.store.code == "CEN"
    assert (t1.subtotal, t1.discount_total, t1.total) == (Decimal("1237.50"), Decimal("1.00"), Decimal("1236.50"))
    assert t1.cost_total == Decimal("718.30")  # 3 x 6.10 + 700, costs from the catalog
    assert [(line.line_no, line.sku, line.quantity, line.line_total) for line in t1.lines.all()] == [
        (1, "MART-1", Decimal("3.000"), Decimal("36.50")), (2, "TAL-2", Decimal("1.000"), Decimal("1200.00"))]
    assert t1.placed_at.isoformat() == "2024-01-05T09:30:00+00:00"  # 10:30 in Madrid
    t2 = Order.objects.get(external_id="T-2")
    assert t2.total == Decimal("6.18")  # 0.5 x 12.35 = 6.175, half up
    assert t2.channel == "web" and t2.store is None and t2.customer == t1.customer
    assert Store.objects.count() == 1


def test_orders_twice_adds_nothing(catalog_and_customers, write_csv, actor, table_counts):
    path = write_csv(ORDERS, name="ventas.csv")
    import_file(path=path, kind="orders", source="tpv", actor=actor)
    before = table_counts()
    again = import_file(path=path, kind="orders", source="tpv", actor=actor)
    assert (again.status, again.rows_created, again.rows_unchanged) == ("done", 0, 3)
    assert table_counts() == before


def test_orders_errors_unknown_sku_customer_and_inconsistent_lines(catalog_and_customers, write_csv,
                                                                   actor, table_counts):
    before = table_counts()
    bad = ORDERS + ("T-3;C9;08/01/2024;NOPE;1;1;;;\n"
                    "T-1;C2;05/01/2024 10:30;MART-1;1;12,50;;CEN;tienda\n"
                    "T-4;C1;08/01/2024;MART-1;1;5;9;;\n")
    run = import_file(path=write_csv(bad, name="ventas.csv"), kind="orders", source="tpv", actor=actor)
    assert run.status == "invalid"
    assert table_counts() == before
    found = {(e["row"], e["column"]) for e in run.errors}
    assert {(5, "Cliente"), (5, "SKU"), (6, "Cliente"), (7, "Descuento")} <= found


def test_orders_placeholder_products_when_asked(catalog_and_customers, write_csv, actor):
    text = "Ticket;Cliente;Fecha;SKU;Descripción;Cantidad;Precio\nT-9;C1;2024-02-01;NUEVO;Caja;2;3,5\n"
    options = ImportOptions(create_missing_products=True)
    run = import_file(path=write_csv(text, name="v.csv"), kind="orders", source="tpv", actor=actor,
                      options=options)
    assert run.status == "done", run.errors
    product = Product.objects.get(sku="NUEVO")
    assert product.name == "Caja" and product.list_price == Decimal("3.50")
    assert OrderLine.objects.get(sku="NUEVO").product == product


def test_dry_run_counts_but_writes_nothing(write_csv, actor, table_counts):
    before = table_counts()
    run = _customers(write_csv, actor, dry_run=True)
    assert (run.status, run.rows_created) == ("validated", 2)
    assert table_counts() == before


def test_unreadable_file_is_reported(write_csv, actor):
    run = _customers(write_csv, actor, "")
    assert run.status == "invalid" and run.errors[0]["row"] is None


def test_preview_detects_options_and_first_rows(write_csv):
    preview = import_preview(path=write_csv(ORDERS), kind="orders")
    assert (preview.options.delimiter, preview.options.decimal) == (";", ",")
    assert preview.row_count == 3 and preview.rows[0][0] == "T-1"
    assert preview.mapping["Nº ticket"] == "order_id"
