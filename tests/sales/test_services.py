"""`sales.services.order_record`: one order with its lines, priced in Decimal cents,
recorded once per (source, id), with the order-recorded reactions inside its transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from fideliza.accounts.models import AuditLog
from fideliza.accounts.services import Actor
from fideliza.insights.models import AnalyticsState
from fideliza.loyalty.models import EntryKind, LedgerEntry, Member
from fideliza.sales.models import Order, OrderLine
from fideliza.sales.services import OrderAlreadyRecorded, order_record
from tests.clock import MADRID, SPRING_FORWARD
from tests.factories.customers import customer_make
from tests.factories.sales import order_make, store_make

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")
PLACED = SPRING_FORWARD - timedelta(hours=1)


def record(customer, lines, **kwargs):
    kwargs.setdefault("source", "tpv")
    kwargs.setdefault("external_id", "T-1")
    kwargs.setdefault("placed_at", PLACED)
    return order_record(actor=ACTOR, customer=customer, lines=lines, **kwargs)


def errors_of(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        call()
    return raised.value.message_dict


def counts() -> tuple[int, int, int, int]:
    return (Order.objects.count(), OrderLine.objects.count(),
            AuditLog.objects.filter(entity="sales.order").count(), LedgerEntry.objects.count())


# --- lines and totals ---------------------------------------------------------------

def test_lines_take_price_and_cost_from_the_catalog_and_totals_are_exact_cents(customer, products):
    order = record(customer, [
        {"sku": "TAL-1", "quantity": 1},
        {"sku": "MAR-1", "quantity": 3, "discount": "6.00"},
        # 1.5 × 19.99 = 29.985: half up to 29.99; the cost still comes from the product.
        {"sku": "PIN-1", "quantity": "1.5", "unit_price": "19.99"},
    ])
    order.refresh_from_db()
    assert (order.subtotal, order.discount_total, order.total, order.cost_total) == (
        Decimal("189.99"), Decimal("6.00"), Decimal("183.99"), Decimal("102.75"))
    assert order.margin == Decimal("81.24")
    assert order.currency == "EUR" and order.channel == "store"
    lines = list(order.lines.order_by("line_no").values_list(
        "line_no", "product__sku", "description", "quantity", "unit_price", "unit_cost", "discount", "line_total"))
    assert lines == [
        (1, "TAL-1", "Taladro", Decimal("1.000"), Decimal("100.00"), Decimal("60.00"), Decimal("0.00"), Decimal("100.00")),
        (2, "MAR-1", "Martillo", Decimal("3.000"), Decimal("20.00"), Decimal("8.00"), Decimal("6.00"), Decimal("54.00")),
        (3, "PIN-1", "Pintura blanca", Decimal("1.500"), Decimal("19.99"), Decimal("12.50"), Decimal("0.00"), Decimal("29.99")),
    ]
    assert sum(line[-1] for line in lines) == order.total


def test_json_numbers_are_read_as_decimals_never_as_binary_floats(customer):
    """0.1 × 3 is 0.30000000000000004 in floating point; money must stay 0.30."""
    order = record(customer, [{"description": "Tornillo", "quantity": 3, "unit_price": 0.1},
                              {"description": "Arandela", "quantity": 7, "unit_price": 0.07}])
    order.refresh_from_db()
    assert [ln.line_total for ln in order.lines.order_by("line_no")] == [Decimal("0.30"), Decimal("0.49")]
    assert order.total == Decimal("0.79") and isinstance(order.total, Decimal)


def test_the_order_cost_is_unknown_when_one_line_cost_is(customer, products):
    order = record(customer, [{"sku": "TAL-1", "quantity": 1}, {"sku": "CLA-1", "quantity": 10}])
    assert order.total == Decimal("150.00")
    assert order.cost_total is None and order.margin is None


def test_a_line_without_product_needs_its_price(customer):
    assert errors_of(lambda: record(customer, [{"description": "Portes", "quantity": 1}])) == {
        "lines.0.unit_price": ["Este campo es obligatorio."]}
    order = record(customer, [{"description": "Portes", "quantity": 1, "unit_price": "4.95"}])
    line = order.lines.get()
    assert (line.product, line.sku, line.description, line.unit_cost) == (None, "", "Portes", None)


def test_store_by_code_and_channel(customer, products):
    store = store_make("T1", "Tienda Centro", city="Córdoba")
    order = record(customer, [{"sku": "MAR-1", "quantity": 1}], store=" T1 ", channel="web")
    assert (order.store, order.channel) == (store, "web")


# --- currency -------------------------------------------------------------------------

def test_currency_defaults_to_the_business_one_and_is_normalised(customer, settings):
    settings.FIDELIZA_DEFAULT_CURRENCY = "EUR"
    line = [{"description": "Venta", "quantity": 1, "unit_price": "10"}]
    assert record(customer, line, external_id="a").currency == "EUR"
    assert record(customer, line, external_id="b", currency=" usd ").currency == "USD"
    assert errors_of(lambda: record(customer, line, external_id="c", currency="EURO")) == {
        "currency": ["«EURO» no es un código de moneda ISO 4217 (por ejemplo EUR)."]}


def test_a_product_priced_in_another_currency_needs_the_price_in_the_order_currency(customer, products):
    assert errors_of(lambda: record(customer, [{"sku": "TAL-1", "quantity": 1}], currency="USD")) == {
        "lines.0.unit_price": ["El producto tiene precio en EUR; indique el precio unitario en USD."]}
    order = record(customer, [{"sku": "TAL-1", "quantity": 1, "unit_price": "110.00"}], currency="USD")
    # The product's cost is in euros: it is not used as a dollar cost.
    assert (order.total, order.currency, order.cost_total) == (Decimal("110.00"), "USD", None)


# --- idempotency by source id -------------------------------------------------------------

def test_the_same_source_id_is_recorded_once(customer, products, program):
    first = record(customer, [{"sku": "TAL-1", "quantity": 1}])
    before = counts()
    with pytest.raises(OrderAlreadyRecorded) as raised:
        # Spaces around the ids are not a different order; nor are different lines.
        record(customer, [{"sku": "MAR-1", "quantity": 5}], source=" tpv ", external_id=" T-1 ")
    assert raised.value.order == first
    assert str(raised.value) == f"El pedido «T-1» de «tpv» ya está registrado (pedido {first.pk})."
    assert counts() == before
    assert Member.objects.get(customer=customer).points_balance == 100  # earned once


def test_the_same_id_from_another_source_is_another_order(customer, products):
    till = record(customer, [{"sku": "TAL-1", "quantity": 1}], source="tpv", external_id="1001")
    web = record(customer, [{"sku": "TAL-1", "quantity": 1}], source="web", external_id="1001")
    assert till.pk != web.pk and Order.objects.count() == 2


# --- reactions ----------------------------------------------------------------------------

def test_recording_runs_the_reactions_audits_and_marks_analytics_stale(customer, products, program):
    AnalyticsState.objects.update_or_create(pk=1, defaults={"stale_since": None})
    order = record(customer, [{"sku": "TAL-1", "quantity": 1}, {"sku": "MAR-1", "quantity": 3, "discount": "6"}])

    member = Member.objects.get(customer=customer, program=program)  # enrolled by its first order
    earn = LedgerEntry.objects.get(member=member, kind=EntryKind.EARN)
    assert (earn.points, earn.cause_id, earn.occurred_at, earn.qualifying_amount) == (
        154, str(order.pk), PLACED, Decimal("154.00"))
    assert member.points_balance == 154
    assert AnalyticsState.objects.get(pk=1).stale_since == SPRING_FORWARD
    audit = AuditLog.objects.get(entity="sales.order", entity_id=str(order.pk))
    assert audit.changes["total"] == [None, "154.00"] and audit.context["external_id"] == "T-1"


def test_a_failing_reaction_leaves_no_order_behind(customer, products, program, monkeypatch):
    """The reactions run inside the recording transaction: all of it, or none of it."""
    def broken(**kwargs):
        raise RuntimeError("analytics unavailable")

    monkeypatch.setattr("fideliza.insights.services.snapshot_mark_stale", broken)
    with pytest.raises(RuntimeError):
        record(customer, [{"sku": "TAL-1", "quantity": 1}])
    assert counts() == (0, 0, 0, 0) and not Member.objects.exists()


def test_the_factory_records_through_the_service(customer, products, program):
    """tests.factories.sales.order_make is the real path: lines, totals and points."""
    order = order_make(customer, placed_at=PLACED, items=[(products["paint"], 2)])
    assert (order.total, order.lines.count()) == (Decimal("60.00"), 1)
    assert LedgerEntry.objects.filter(cause_id=str(order.pk), kind=EntryKind.EARN).get().points == 60


# --- validation: field-level, everything at once, nothing written -----------------------------

def test_every_problem_is_reported_by_field_and_nothing_is_written(customer, products):
    before = counts()
    errors = errors_of(lambda: record(customer, [
        {"sku": "NOPE", "quantity": 1},
        {"sku": "TAL-1", "quantity": 0},
        {"sku": "MAR-1", "quantity": 1, "unit_price": "-1"},
        {"sku": "MAR-1", "quantity": 2, "discount": "50"},
        {"sku": "MAR-1", "quantity": "mucho"},
        {"quantity": 1},
    ], source="", currency="XXX1", channel="fax", store="NO-EXISTE"))
    assert errors == {
        "source": ["El origen es obligatorio (máximo 64 caracteres)."],
        "currency": ["«XXX1» no es un código de moneda ISO 4217 (por ejemplo EUR)."],
        "channel": ["Canal de venta desconocido."],
        "store": ["Tienda «NO-EXISTE» desconocida."],
        "lines.0.sku": ["Producto «NOPE» desconocido."],
        "lines.1.quantity": ["La cantidad debe ser mayor que cero; las devoluciones se registran aparte."],
        "lines.2.unit_price": ["El precio no puede ser negativo."],
        "lines.3.discount": ["El descuento (50,00\xa0€) supera el importe de la línea (40,00\xa0€)."],
        "lines.4.quantity": ["La cantidad debe ser mayor que cero; las devoluciones se registran aparte."],
        "lines.5.sku": ["Indique el SKU de un producto o una descripción."],
        "lines.5.unit_price": ["Este campo es obligatorio."],
    }
    assert counts() == before


@pytest.mark.parametrize("language, expected", [
    ("es", {"lines": ["Un pedido necesita al menos una línea."],
            "placed_at": ["La fecha no puede estar en el futuro."],
            "lines.0.discount": ["El descuento (12,00\xa0€) supera el importe de la línea (10,00\xa0€)."]}),
    ("en", {"lines": ["An order needs at least one line."],
            "placed_at": ["The date cannot be in the future."],
            "lines.0.discount": ["The discount (€12.00) exceeds the line amount (€10.00)."]}),
])
def test_errors_speak_the_language_of_the_request(customer, language, expected):
    """Spanish msgids, English translations; amounts with their currency, as the reader writes them."""
    with translation.override(language):
        empty = errors_of(lambda: record(customer, [], placed_at=SPRING_FORWARD + timedelta(days=2)))
        discount = errors_of(lambda: record(customer, [
            {"description": "Caja", "quantity": 1, "unit_price": "10", "discount": "12"}]))
    assert {**empty, **discount} == expected


def test_an_order_for_a_merged_customer_points_at_the_surviving_card(customer, products):
    from fideliza.customers.merging import customer_merge

    duplicate = customer_make(first_name="Lucia", last_name="Garcia", email="lucia.g@example.com")
    customer_merge(actor=ACTOR, survivor=customer, duplicate=duplicate)
    duplicate.refresh_from_db()
    assert errors_of(lambda: record(duplicate, [{"sku": "MAR-1", "quantity": 1}])) == {
        "customer_id": [f"El cliente se fusionó con el cliente {customer.pk}; registre el pedido en ese."]}


def test_too_many_lines_or_too_large_amounts_are_refused(customer):
    line = {"description": "Tornillo", "quantity": 1, "unit_price": "0.10"}
    assert errors_of(lambda: record(customer, [line] * 1001))["lines"] == [
        "Un pedido no puede tener más de 1000 líneas."]
    assert errors_of(lambda: record(customer, [{**line, "unit_price": "1000000000000"}])) == {
        "lines.0.quantity": ["El importe de la línea es demasiado grande."]}
    assert errors_of(lambda: record(customer, [{**line, "quantity": "1000000000"}])) == {
        "lines.0.quantity": ["Cantidad demasiado grande."]}


# --- dates --------------------------------------------------------------------------------

def test_a_till_clock_a_little_ahead_is_tolerated_a_day_ahead_is_not(customer):
    line = [{"description": "Venta", "quantity": 1, "unit_price": "5"}]
    ahead = record(customer, line, external_id="ahead", placed_at=SPRING_FORWARD + timedelta(hours=23, minutes=59))
    assert ahead.placed_at == SPRING_FORWARD + timedelta(hours=23, minutes=59)
    assert errors_of(lambda: record(customer, line, external_id="future",
                                    placed_at=SPRING_FORWARD + timedelta(days=1, minutes=1))) == {
        "placed_at": ["La fecha no puede estar en el futuro."]}
    assert errors_of(lambda: record(customer, line, external_id="old",
                                    placed_at=datetime(1899, 12, 31, tzinfo=MADRID))) == {
        "placed_at": ["La fecha es demasiado antigua."]}


def test_a_naive_till_time_is_the_business_wall_clock_on_both_sides_of_the_dst_change(customer):
    """09:00 on the till is 08:00 UTC on the Saturday (CET) and 07:00 UTC on the Sunday (CEST)."""
    line = [{"description": "Venta", "quantity": 1, "unit_price": "5"}]
    saturday = record(customer, line, external_id="sat", placed_at=datetime(2025, 3, 29, 9, 0))
    sunday = record(customer, line, external_id="sun", placed_at=datetime(2025, 3, 30, 9, 0))
    saturday.refresh_from_db()
    sunday.refresh_from_db()
    assert saturday.placed_at.astimezone(UTC).hour == 8
    assert sunday.placed_at.astimezone(UTC).hour == 7
    assert timezone.localtime(saturday.placed_at).hour == timezone.localtime(sunday.placed_at).hour == 9
    # 24 hours of wall clock, 23 hours of real time: the change happened in between.
    assert sunday.placed_at - saturday.placed_at == timedelta(hours=23)
