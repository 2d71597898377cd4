"""`sales.services.return_record`: goods back and money refunded against an order that is
never edited, within what was bought and paid, once per (source, id), with the points
of the refunded share taken back (loyalty's claw-back reaction)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from fideliza.accounts.services import Actor
from fideliza.loyalty.models import EntryKind, LedgerEntry, Member
from fideliza.sales.models import Order, Return, ReturnLine
from fideliza.sales.services import ReturnAlreadyRecorded, return_record
from tests.clock import FALL_BACK, MADRID, SPRING_FORWARD
from tests.factories.sales import order_make, return_make

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")
PLACED = SPRING_FORWARD - timedelta(days=3)


@pytest.fixture
def order(customer, products, program):
    """A drill (100,00 €, line 1) and ten hammers less 20,00 € (180,00 €, line 2): 280 points."""
    return order_make(customer, placed_at=PLACED, external_id="T-100", lines=[
        {"sku": "TAL-1", "quantity": 1}, {"sku": "MAR-1", "quantity": 10, "discount": "20"}])


def balance(customer) -> int:
    return Member.objects.get(customer=customer).points_balance


def refund(order, amount, external_id, **kwargs):
    return return_record(actor=ACTOR, order=order, external_id=external_id, kind="refund",
                         refund_amount=Decimal(amount), **kwargs)


def errors_of(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        call()
    return raised.value.message_dict


def test_partial_returns_add_up_to_the_whole_order_and_its_points(order, customer):
    assert balance(customer) == 280
    first = return_make(order, returned_at=SPRING_FORWARD, line_quantities={2: 3}, reason="  Defectuoso ")
    # Three of ten hammers: that share of the line's total after its discount.
    assert (first.refund_amount, first.currency, first.source, first.kind, first.reason) == (
        Decimal("54.00"), "EUR", "tpv", "return", "Defectuoso")
    assert list(first.lines.values_list("order_line__line_no", "quantity", "amount")) == [
        (2, Decimal("3.000"), Decimal("54.00"))]
    assert balance(customer) == 226

    return_make(order, returned_at=SPRING_FORWARD, line_quantities={2: 7})
    assert balance(customer) == 100
    return_make(order, returned_at=SPRING_FORWARD, line_quantities={1: 1})
    assert balance(customer) == 0

    reversals = LedgerEntry.objects.filter(kind=EntryKind.REVERSE).order_by("id")
    assert [e.points for e in reversals] == [-54, -126, -100]
    assert sorted(e.cause_id for e in reversals) == sorted(str(r.pk) for r in Return.objects.all())
    # The order itself is history: never edited by its returns.
    order.refresh_from_db()
    assert (order.total, order.lines.count()) == (Decimal("280.00"), 2)


def test_more_units_than_were_bought_are_refused_counting_earlier_returns(order):
    return_make(order, returned_at=SPRING_FORWARD, line_quantities={2: 10})
    before = ReturnLine.objects.count()
    problem = lambda: return_make(order, returned_at=SPRING_FORWARD, line_quantities={2: 1})  # noqa: E731
    assert errors_of(problem) == {"lines.0.quantity": [
        "Se compraron 10 unidades y ya se devolvieron 10: no se pueden devolver 1 más."]}
    with translation.override("en"):
        assert errors_of(problem) == {"lines.0.quantity": [
            "10 units were bought and 10 already returned: 1 more cannot be returned."]}
    assert ReturnLine.objects.count() == before


def test_fractional_quantities_in_the_readers_notation(customer, products):
    order = order_make(customer, placed_at=PLACED, items=[(products["paint"], "2.5")])
    return_make(order, returned_at=SPRING_FORWARD, line_quantities={1: "1.5"})
    assert errors_of(lambda: return_make(order, returned_at=SPRING_FORWARD, line_quantities={1: "1.25"})) == {
        "lines.0.quantity": ["Se compraron 2,5 unidades y ya se devolvieron 1,5: no se pueden devolver 1,25 más."]}


def test_money_refunds_are_capped_at_what_was_paid(order, customer):
    refund(order, "30", "RF-1")
    assert balance(customer) == 250
    assert errors_of(lambda: refund(order, "250.01", "RF-2")) == {"refund_amount": [
        "El pedido suma 280,00\xa0€ y ya se reembolsaron 30,00\xa0€: no se pueden reembolsar 250,01\xa0€ más."]}
    refund(order, "250", "RF-3")
    assert balance(customer) == 0
    assert sum(Return.objects.values_list("refund_amount", flat=True)) == order.total


def test_a_price_refund_on_a_line_does_not_count_as_units_returned(order):
    """Compensation for scratched hammers, then the hammers come back for the rest of their price."""
    return_record(actor=ACTOR, order=order, external_id="RF-1", kind="refund",
                  lines=[{"line_no": 2, "quantity": 10, "amount": "18.00"}])
    goods = return_make(order, returned_at=SPRING_FORWARD, line_quantities={2: 10})
    assert goods.refund_amount == Decimal("180.00")
    assert errors_of(lambda: return_record(actor=ACTOR, order=order, external_id="R-2", lines=[
        {"line_no": 2, "quantity": 1, "amount": "0"}])) == {"lines.0.quantity": [
            "Se compraron 10 unidades y ya se devolvieron 10: no se pueden devolver 1 más."]}


def test_every_problem_is_reported_by_field_and_nothing_is_written(order, customer):
    before = (Return.objects.count(), LedgerEntry.objects.count(), balance(customer))
    assert errors_of(lambda: return_record(actor=ACTOR, order=order, external_id=" ", kind="return", lines=[
        {"line_no": 9, "quantity": 1},
        {"line_no": 1, "quantity": 0},
        {"line_no": 1, "quantity": 1},
        {"line_no": 2, "quantity": 1, "amount": "180.01"},
    ], returned_at=PLACED - timedelta(minutes=1))) == {
        "external_id": ["El id en el origen es obligatorio (máximo 128 caracteres)."],
        "returned_at": ["La devolución no puede ser anterior al pedido."],
        "lines.0.line_no": ["El pedido no tiene la línea 9."],
        "lines.1.quantity": ["La cantidad debe ser mayor que cero."],
        "lines.2.line_no": ["Línea repetida."],
        "lines.3.amount": ["El importe debe estar entre 0 y el total de la línea (180,00\xa0€)."],
    }
    assert errors_of(lambda: return_record(actor=ACTOR, order=order, external_id="R-1")) == {
        "lines": ["Indique qué líneas y cuántas unidades se devuelven."]}
    assert errors_of(lambda: return_record(actor=ACTOR, order=order, external_id="R-1", kind="refund")) == {
        "refund_amount": ["Indique el importe reembolsado."]}
    assert errors_of(lambda: refund(order, "-5", "R-1")) == {
        "refund_amount": ["El importe no puede ser negativo."]}
    assert errors_of(lambda: return_record(actor=ACTOR, order=order, external_id="R-1", kind="swap",
                                           refund_amount=Decimal(1))) == {
        "kind": ["Tipo de devolución desconocido."]}
    assert errors_of(lambda: return_make(order, returned_at=SPRING_FORWARD + timedelta(days=2),
                                         line_quantities={1: 1})) == {
        "returned_at": ["La fecha no puede estar en el futuro."]}
    assert (Return.objects.count(), LedgerEntry.objects.count(), balance(customer)) == before


def test_the_same_return_sent_twice_is_recorded_once(order, customer):
    """A till that retries a whole-line return gets the recorded return back, not a quantity error."""
    first = return_make(order, returned_at=SPRING_FORWARD, line_quantities={2: 10}, external_id="R-1")
    with pytest.raises(ReturnAlreadyRecorded) as raised:
        return_make(order, returned_at=SPRING_FORWARD, line_quantities={2: 10}, external_id=" R-1 ")
    assert raised.value.ret == first
    assert str(raised.value) == f"La devolución «R-1» de «tpv» ya está registrada (devolución {first.pk})."
    assert Return.objects.count() == 1 and balance(customer) == 100  # 180 points taken back once


def test_returned_at_defaults_to_now(order):
    ret = return_record(actor=ACTOR, order=order, external_id="R-1", lines=[{"line_no": 1, "quantity": 1}])
    assert ret.returned_at == SPRING_FORWARD


def test_in_the_repeated_hour_of_the_autumn_change_the_real_instant_decides(customer, time_machine):
    """On 26 October 2025 Madrid lived 02:00-03:00 twice. A return at the second 02:10 (CET)
    is half an hour after an order at the first 02:40 (CEST), though its wall clock is earlier."""
    time_machine.move_to(FALL_BACK)
    placed = datetime(2025, 10, 26, 2, 40, tzinfo=MADRID)  # fold=0: the first pass, +02:00
    order = order_make(customer, placed_at=placed, total="40.00")
    second_pass = datetime(2025, 10, 26, 2, 10, fold=1, tzinfo=MADRID)  # +01:00
    first_pass = datetime(2025, 10, 26, 2, 10, tzinfo=MADRID)  # +02:00, before the order
    # (Subtract in UTC: Python ignores fold when both sides share a tzinfo.)
    assert second_pass.astimezone(UTC) - placed.astimezone(UTC) == timedelta(minutes=30)
    assert errors_of(lambda: refund(order, "10", "R-early", returned_at=first_pass)) == {
        "returned_at": ["La devolución no puede ser anterior al pedido."]}
    ret = refund(order, "10", "R-1", returned_at=second_pass)
    ret.refresh_from_db()
    # (Compared in UTC too: an instant in the fold never equals one in another zone, PEP 495.)
    assert ret.returned_at == second_pass.astimezone(UTC) and Order.objects.get().total == Decimal("40.00")
