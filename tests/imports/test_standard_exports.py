"""Issue 11: the exports a shop already has are recognised without mapping.

The files under `exports/` are written from each product's published column list (in the
order the product writes them): Shopify's customers export (current and legacy) and orders
export (one row per line item, the order's fields only on its first row); WooCommerce's
Customer/Order/Coupon Export (customers, and orders one row per line item) and its
Analytics orders download; Salesforce contacts as a report (labels) and through the Data
Loader (API names); HubSpot's contacts export; Odoo's contacts (labels and import-compatible
technical names) and sale orders (lines on continuation rows) and its sale order list.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from fideliza.catalog.models import Product
from fideliza.customers.models import Customer, CustomerKind
from fideliza.imports.examples import example_csv
from fideliza.imports.reader import ImportOptions
from fideliza.imports.services import import_file, import_preview
from fideliza.sales.models import Order, Store

pytestmark = pytest.mark.django_db

EXPORTS = Path(__file__).parent / "exports"


def _import(actor, name, kind, source, **options):
    path = EXPORTS / f"{name}.csv"
    preview = import_preview(path=path, kind=kind)
    assert preview.problems == [], preview.problems  # recognised: nothing to assign by hand
    run = import_file(path=path, kind=kind, source=source, actor=actor,
                      options=ImportOptions(**options) if options else None)
    assert run.status == "done", run.errors
    return run


@pytest.fixture
def catalog(tmp_path, actor):
    path = tmp_path / "productos.csv"
    path.write_bytes(example_csv("products"))
    assert import_file(path=path, kind="products", source="erp", actor=actor).status == "done"


def _consent(customer, channel):
    record = customer.consents.filter(channel=channel).order_by("-recorded_at", "-id").first()
    return None if record is None else record.status


def _card(source, external_id):
    return Customer.objects.get(source_ids__source=source, source_ids__external_id=external_id)


def test_shopify_customers_and_orders(actor, catalog):
    _import(actor, "shopify_customers", "customers", "shopify")
    lucia = _card("shopify", "7236412342001")  # Shopify's leading apostrophe is dropped
    assert (lucia.first_name, lucia.last_name, lucia.phone, lucia.postal_code, lucia.city,
            lucia.region, lucia.country) == ("Lucía", "García Pérez", "+34612345678", "41003",
                                             "Sevilla", "SE", "ES")
    assert (_consent(lucia, "email"), _consent(lucia, "sms")) == ("granted", "withdrawn")
    assert sorted(lucia.interests.values_list("name", flat=True)) == ["bricolaje", "vip"]
    assert lucia.notes == "Prefiere recoger en tienda"
    jose = _card("shopify", "7236412342002")
    assert (_consent(jose, "email"), _consent(jose, "sms")) == ("withdrawn", "granted")
    assert jose.company_name == "Reformas Núñez"
    assert jose.phone == "+34699887766"  # "Phone" is empty: "Default Address Phone" fills it

    legacy = _import(actor, "shopify_customers_legacy", "customers", "shopify")
    marta = Customer.objects.get(email="marta@example.com")
    assert legacy.rows_created == 1 and marta.country == "ES" and _consent(marta, "email") == "granted"

    run = _import(actor, "shopify_orders", "orders", "shopify")
    summary = run.options["summary"]
    assert (summary["orders_created"], summary["orders_skipped"]) == (2, 2)  # #1002 voided, #1004 cancelled
    first = Order.objects.get(source="shopify", external_id="#1001")
    assert first.customer == lucia
    assert first.placed_at == datetime(2024, 3, 5, 9, 30, 26, tzinfo=UTC)
    assert [(line.sku, line.quantity, line.discount, line.line_total) for line in first.lines.all()] == [
        ("MART-1", Decimal("2.000"), Decimal("1.00"), Decimal("24.00")),
        ("TAL-2", Decimal("1.000"), Decimal("0.00"), Decimal("89.90"))]
    assert first.total == Decimal("113.90") and first.currency == "EUR"
    custom = Order.objects.get(source="shopify", external_id="#1003")
    line = custom.lines.get()
    assert (line.sku, line.product, line.description, line.line_total) == (
        "", None, "Pack regalo personalizado", Decimal("23.00"))
    assert custom.customer == jose and custom.store == Store.objects.get(code="Tienda Centro")
    assert not Order.objects.filter(external_id__in=["#1002", "#1004"]).exists()
    again = import_file(path=EXPORTS / "shopify_orders.csv", kind="orders", source="shopify", actor=actor)
    assert (again.rows_created, again.rows_unchanged) == (0, 3)


def test_woocommerce_customers_orders_and_analytics(actor, catalog):
    _import(actor, "woocommerce_customers", "customers", "woo")
    jose = _card("woo", "15")
    assert (jose.company_name, jose.phone, jose.city, jose.region, jose.acquisition_date) == (
        "Reformas Núñez", "+34699887766", "Córdoba", "CO", date(2024, 1, 15))
    lucia = _card("woo", "12")

    run = _import(actor, "woocommerce_orders", "orders", "woo",
                  create_missing_customers=True, create_missing_products=True)
    summary = run.options["summary"]
    assert (summary["orders_created"], summary["orders_skipped"], summary["customers_created"]) == (2, 1, 1)
    order = Order.objects.get(source="woo", external_id="1201")
    assert order.customer == lucia and order.total == Decimal("113.90")
    assert [(line.sku, line.unit_price, line.line_total) for line in order.lines.all()] == [
        ("MART-1", Decimal("12.00"), Decimal("24.00")), ("TAL-2", Decimal("89.90"), Decimal("89.90"))]
    guest = Order.objects.get(source="woo", external_id="1203")  # customer_id 0: a guest checkout
    assert guest.customer.email == "pilar@example.com" and guest.total == Decimal("6.00")
    assert Product.objects.filter(sku="TORN-100").exists()
    assert not Order.objects.filter(source="woo", external_id="1202").exists()  # cancelled

    # WooCommerce Analytics: one row per order with the customer's name and the net sales.
    tickets = _import(actor, "woocommerce_analytics_orders", "tickets", "woo")
    assert (tickets.rows_created, tickets.rows_unchanged) == (1, 1)
    assert tickets.options["summary"]["orders_skipped"] == 1
    assert Order.objects.get(source="woo", external_id="1204").customer == jose


def test_salesforce_contacts_report_and_data_loader(actor):
    _import(actor, "salesforce_contacts_report", "customers", "salesforce")
    lucia = _card("salesforce", "0035g00000ABCdEAAX")
    assert (lucia.company_name, lucia.phone, lucia.address, lucia.postal_code, lucia.country) == (
        "Reformas Sur S.L.", "+34954123456", "Calle Feria 12", "41003", "ES")
    assert (lucia.birth_date, lucia.acquisition_date, lucia.acquisition_channel) == (
        date(1980, 1, 5), date(2023, 5, 10), "Web")
    assert (_consent(lucia, "email"), _consent(lucia, "phone")) == ("granted", "granted")
    jose = _card("salesforce", "0035g00000ABCdFAAX")
    assert jose.phone == "+34699887766"  # "Phone" empty, "Mobile" fills it
    # «Email Opt Out» and «Do Not Call» say no: consent withdrawn.
    assert (_consent(jose, "email"), _consent(jose, "phone")) == ("withdrawn", "withdrawn")
    # The Data Loader's API names (FirstName, MailingPostalCode, HasOptedOutOfEmail…) describe
    # the same contacts: nothing changes.
    loader = _import(actor, "salesforce_contacts_dataloader", "customers", "salesforce")
    assert (loader.rows_created, loader.rows_updated, loader.rows_unchanged) == (0, 0, 2)


def test_hubspot_contacts(actor):
    _import(actor, "hubspot_contacts", "customers", "hubspot")
    lucia = _card("hubspot", "51")
    assert (lucia.phone, lucia.company_name, lucia.region, lucia.country, lucia.acquisition_date) == (
        "+34954123456", "Reformas Sur S.L.", "Sevilla", "ES", date(2023, 5, 10))
    assert _consent(lucia, "email") == "granted"
    jose = _card("hubspot", "52")
    assert jose.phone == "+34699887766" and _consent(jose, "email") == "withdrawn"


def test_odoo_contacts_and_sale_orders(actor, catalog):
    _import(actor, "odoo_contacts", "customers", "odoo")
    company = Customer.objects.get(email="info@reformassur.example")
    assert (company.kind, company.company_name, company.first_name, company.tax_id) == (
        CustomerKind.COMPANY, "Reformas Sur S.L.", "", "ESB12345674")
    ana = Customer.objects.get(email="ana.ruiz@reformassur.example")
    assert (ana.kind, ana.first_name, ana.last_name, ana.company_name, ana.phone) == (
        CustomerKind.PERSON, "Ana", "Ruiz", "Reformas Sur S.L.", "+34612345678")
    pedro = Customer.objects.get(email="pedro@example.com")
    assert sorted(pedro.interests.values_list("name", flat=True)) == ["bricolaje", "jardín"]

    run = _import(actor, "odoo_sale_orders", "orders", "odoo")
    assert (run.options["summary"]["orders_created"], run.options["summary"]["orders_skipped"]) == (2, 2)
    first = Order.objects.get(source="odoo", external_id="S00021")
    assert first.customer == company  # found by its name among the source's cards
    assert [(line.sku, line.product.sku, line.discount, line.line_total) for line in first.lines.all()] == [
        ("MART-1", "MART-1", Decimal("12.50"), Decimal("112.50")),   # "[MART-1] …", 10 %
        ("TAL-2", "TAL-2", Decimal("0.00"), Decimal("179.80"))]       # a continuation row
    assert first.total == Decimal("292.30")
    # Odoo's display name of a company's contact: "Company, Person".
    assert Order.objects.get(source="odoo", external_id="S00022").customer == ana

    listing = _import(actor, "odoo_sale_orders_list", "tickets", "odoo")
    assert (listing.rows_created, listing.rows_unchanged) == (0, 2)

    compatible = _import(actor, "odoo_contacts_import_compatible", "customers", "odoo-ic")
    assert compatible.rows_created == 2
    firm = _card("odoo-ic", "__export__.res_partner_41_5f1a2b3c")
    assert firm.kind == CustomerKind.COMPANY and firm.company_name == "Reformas Sur S.L."
    assert _card("odoo-ic", "__export__.res_partner_42_6a7b8c9d").company_name == "Reformas Sur S.L."
