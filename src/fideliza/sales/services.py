"""Writes for sales: one order at a time (API, web) and returns/refunds.

Bulk ingestion (imports, demo) lives in `sales/ingest.py`; both paths run the same
`hooks.run_orders_recorded` inside their transaction, so the registered reactions —
loyalty's accrual and insights marking the snapshot stale — treat an API order exactly as
an imported one. Automations notice new orders later, on their own schedule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record
from fideliza.catalog.models import Product
from fideliza.catalog.selectors import products_by_sku
from fideliza.core.money import ISO_4217, money_format, quantize_money
from fideliza.customers.models import Customer

from . import hooks
from .models import Order, OrderLine, Return, ReturnKind, ReturnLine, SalesChannel, Store

MAX_LINES = 1000
# Money columns hold 14 digits with 2 decimals: amounts must stay below 10^12.
MONEY_LIMIT = Decimal(10) ** 12
QUANTITY_LIMIT = Decimal(10) ** 9
# Tills' clocks drift; an order "from the future" beyond this is a data error.
FUTURE_TOLERANCE = timedelta(days=1)

ORDER_AUDIT_ENTITY = "sales.order"
RETURN_AUDIT_ENTITY = "sales.return"


class OrderAlreadyRecorded(Exception):
    """An order with this (source, external_id) exists; `order` is it."""

    def __init__(self, order: Order) -> None:
        self.order = order
        super().__init__(
            _("El pedido «%(id)s» de «%(source)s» ya está registrado (pedido %(pk)s).")
            % {"id": order.external_id, "source": order.source, "pk": order.pk}
        )


class ReturnAlreadyRecorded(Exception):
    """A return with this (source, external_id) exists; `ret` is it."""

    def __init__(self, ret: Return) -> None:
        self.ret = ret
        super().__init__(
            _("La devolución «%(id)s» de «%(source)s» ya está registrada (devolución %(pk)s).")
            % {"id": ret.external_id, "source": ret.source, "pk": ret.pk}
        )


def currency_clean(value: str | None) -> str:
    """An ISO 4217 code in upper case; the business's currency when empty."""
    code = (value or "").strip().upper() or settings.FIDELIZA_DEFAULT_CURRENCY
    if code not in ISO_4217:
        raise ValidationError({"currency": _("«%(value)s» no es un código de moneda ISO 4217 (por ejemplo EUR).")
                               % {"value": value}})
    return code


def _aware(value: datetime) -> datetime:
    if timezone.is_naive(value):
        # A till that sends local wall-clock time means the business's time zone.
        return timezone.make_aware(value)
    return value


def _check_identity(errors: dict[str, list[str]], source: str, external_id: str) -> None:
    if not source or len(source) > 64:
        errors.setdefault("source", []).append(_("El origen es obligatorio (máximo 64 caracteres)."))
    if not external_id or len(external_id) > 128:
        errors.setdefault("external_id", []).append(
            _("El id en el origen es obligatorio (máximo 128 caracteres)."))


def _check_moment(errors: dict[str, list[str]], key: str, moment: datetime) -> None:
    if moment > timezone.now() + FUTURE_TOLERANCE:
        errors.setdefault(key, []).append(_("La fecha no puede estar en el futuro."))
    if moment.year < 1900:
        errors.setdefault(key, []).append(_("La fecha es demasiado antigua."))


def _units(quantity: Decimal) -> str:
    """A quantity as the reader writes it: «1,5» in Spanish, «10» (never «1E+1»)."""
    return number_format(quantity.normalize())


def line_amounts(*, quantity: Decimal, unit_price: Decimal, discount: Decimal) -> tuple[Decimal, Decimal]:
    """(gross, line total) of one order line, in cents: gross = quantity × price."""
    gross = quantize_money(quantity * unit_price)
    return gross, quantize_money(gross - discount)


def _decimal(value: Any) -> Decimal | None:
    """`value` as a finite Decimal, or None when it is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _order_line(
    *, line_no: int, line: Mapping[str, Any], products: Mapping[str, Product], currency: str | None
) -> tuple[OrderLine | None, dict[str, list[str]]]:
    """One validated, priced OrderLine (not saved), or None with its field errors.

    `currency` is None when the order's own currency is invalid (reported on its field):
    the lines are then checked without comparing currencies.
    """
    errors: dict[str, list[str]] = {}

    def error(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    sku = str(line.get("sku") or "").strip()
    description = str(line.get("description") or "").strip()[:200]
    product = products.get(sku) if sku else None
    if sku and product is None:
        error("sku", _("Producto «%(sku)s» desconocido.") % {"sku": sku})
    if not sku and not description:
        error("sku", _("Indique el SKU de un producto o una descripción."))

    quantity = _decimal(line.get("quantity"))
    if quantity is None or quantity <= 0:
        error("quantity", _("La cantidad debe ser mayor que cero; las devoluciones se registran aparte."))
    elif quantity >= QUANTITY_LIMIT:
        error("quantity", _("Cantidad demasiado grande."))

    unit_price = _decimal(line.get("unit_price"))
    if line.get("unit_price") is not None and unit_price is None:
        error("unit_price", _("No es un importe válido."))
    elif unit_price is None and product is not None:
        if currency is None or product.currency == currency:
            unit_price = product.list_price
        else:
            error("unit_price", _("El producto tiene precio en %(cur)s; indique el precio unitario en %(order_cur)s.")
                  % {"cur": product.currency, "order_cur": currency})
    elif unit_price is None and not sku:
        error("unit_price", _("Este campo es obligatorio."))
    if unit_price is not None and unit_price < 0:
        error("unit_price", _("El precio no puede ser negativo."))

    unit_cost = _decimal(line.get("unit_cost"))
    if line.get("unit_cost") is not None and unit_cost is None:
        error("unit_cost", _("No es un importe válido."))
    elif unit_cost is None and product is not None and product.currency == currency:
        unit_cost = product.unit_cost
    if unit_cost is not None and unit_cost < 0:
        error("unit_cost", _("El coste no puede ser negativo."))

    discount = _decimal(line.get("discount") or 0)
    if discount is None or discount < 0:
        error("discount", _("El descuento no puede ser negativo."))

    if errors or quantity is None or unit_price is None or discount is None:
        return None, errors
    unit_price, discount = quantize_money(unit_price), quantize_money(discount)
    gross, line_total = line_amounts(quantity=quantity, unit_price=unit_price, discount=discount)
    if gross >= MONEY_LIMIT:
        error("quantity", _("El importe de la línea es demasiado grande."))
    elif discount > gross:
        error("discount", _("El descuento (%(discount)s) supera el importe de la línea (%(gross)s).")
              % {"discount": money_format(discount, currency), "gross": money_format(gross, currency)})
    if errors:
        return None, errors
    return OrderLine(
        line_no=line_no, product=product, sku=sku,
        description=description or (product.name[:200] if product else ""),
        quantity=quantity, unit_price=unit_price,
        unit_cost=None if unit_cost is None else quantize_money(unit_cost),
        discount=discount, line_total=line_total,
    ), errors


@transaction.atomic
def order_record(
    *,
    actor: Actor,
    customer: Customer,
    source: str,
    external_id: str,
    placed_at: datetime,
    lines: Sequence[Mapping[str, Any]],
    channel: str = SalesChannel.STORE,
    store: Store | str | None = None,
    currency: str | None = None,
) -> Order:
    """Record one order with its lines and run the order-recorded reactions.

    Each line is a mapping with `quantity` (> 0) and either `sku` (an existing product) or
    a `description`; optional `unit_price` (defaults to the product's list price when the
    currency matches), `unit_cost` (defaults to the product's cost), `discount` (≥ 0, at
    most the line's gross amount). Totals are computed here, in Decimal cents.
    Raises ValidationError with keys like "lines.2.sku", or OrderAlreadyRecorded when
    (source, external_id) exists.
    """
    source = (source or "").strip()
    external_id = (external_id or "").strip()
    errors: dict[str, list[str]] = {}
    _check_identity(errors, source, external_id)
    try:
        currency = currency_clean(currency)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        currency = None  # one error on the currency, not a "price in another currency" per line
    placed_at = _aware(placed_at)
    _check_moment(errors, "placed_at", placed_at)
    if channel not in SalesChannel.values:
        errors.setdefault("channel", []).append(_("Canal de venta desconocido."))
    if customer.merged_into_id is not None:
        errors.setdefault("customer_id", []).append(
            _("El cliente se fusionó con el cliente %(pk)s; registre el pedido en ese.")
            % {"pk": customer.merged_into_id})
    if isinstance(store, str):
        code = store.strip()
        store = Store.objects.filter(code=code).first() if code else None
        if code and store is None:
            errors.setdefault("store", []).append(_("Tienda «%(code)s» desconocida.") % {"code": code})
    if not lines:
        errors.setdefault("lines", []).append(_("Un pedido necesita al menos una línea."))
    elif len(lines) > MAX_LINES:
        errors.setdefault("lines", []).append(
            _("Un pedido no puede tener más de %(max)s líneas.") % {"max": MAX_LINES})

    skus = {str(line.get("sku") or "").strip() for line in lines[:MAX_LINES]} - {""}
    products = products_by_sku(skus) if skus else {}

    order_lines: list[OrderLine] = []
    for n, line in enumerate(lines[:MAX_LINES]):
        built, line_errors = _order_line(line_no=n + 1, line=line, products=products, currency=currency)
        if built is None:
            errors.update({f"lines.{n}.{k}": v for k, v in line_errors.items()})
        else:
            order_lines.append(built)
    subtotal = sum((line_amounts(quantity=ln.quantity, unit_price=ln.unit_price, discount=ln.discount)[0]
                    for ln in order_lines), Decimal(0))
    discount_total = sum((ln.discount for ln in order_lines), Decimal(0))
    cost_total: Decimal | None = Decimal(0)
    for ln in order_lines:  # the order's cost is known only when every line's is
        cost_total = None if cost_total is None or ln.unit_cost is None else (
            cost_total + quantize_money(ln.unit_cost * ln.quantity))
    if not errors and (subtotal >= MONEY_LIMIT or (cost_total or 0) >= MONEY_LIMIT):
        errors.setdefault("lines", []).append(_("El importe del pedido es demasiado grande."))
    if errors:
        raise ValidationError(errors)
    assert currency is not None  # currency_clean succeeded, or errors were raised above

    existing = Order.objects.filter(source=source, external_id=external_id).first()
    if existing is not None:
        raise OrderAlreadyRecorded(existing)
    order = Order(
        customer=customer, source=source, external_id=external_id, placed_at=placed_at,
        channel=channel, store=store, currency=currency, subtotal=quantize_money(subtotal),
        discount_total=quantize_money(discount_total), total=quantize_money(subtotal - discount_total),
        cost_total=None if cost_total is None else quantize_money(cost_total),
    )
    order.full_clean(exclude=["customer", "store"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError:
        # A concurrent request recorded the same (source, external_id) after our check.
        existing = Order.objects.filter(source=source, external_id=external_id).first()
        if existing is None:
            raise
        raise OrderAlreadyRecorded(existing) from None
    for order_line in order_lines:
        order_line.order = order
    OrderLine.objects.bulk_create(order_lines)
    audit_record(actor=actor, action=AuditAction.CREATE, entity=ORDER_AUDIT_ENTITY, entity_id=order.pk,
                 changes={"customer": (None, customer.pk), "total": (None, order.total),
                          "currency": (None, currency)},
                 context={"source": source, "external_id": external_id})
    hooks.run_orders_recorded([order.pk])
    return order


@transaction.atomic
def return_record(
    *,
    actor: Actor,
    order: Order,
    external_id: str,
    lines: Sequence[Mapping[str, Any]] = (),
    kind: str = ReturnKind.RETURN,
    source: str | None = None,
    returned_at: datetime | None = None,
    reason: str = "",
    refund_amount: Decimal | None = None,
) -> Return:
    """Record goods returned and/or money refunded against `order` (never editing it).

    `lines` name the original lines by `line_no` with a `quantity` and an optional
    `amount` (default: that share of the line total). A return of goods needs lines; a
    refund may be money only (`refund_amount`). Refuses to return more units than were
    bought, counting earlier returns, and to refund more than the order's total. The order
    row is locked (SELECT … FOR UPDATE) so that two concurrent returns cannot both pass
    those checks. Raises ReturnAlreadyRecorded when (source, external_id) exists, before
    checking anything against the earlier returns.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    source = (source or order.source).strip()
    external_id = (external_id or "").strip()
    errors: dict[str, list[str]] = {}
    _check_identity(errors, source, external_id)
    if not errors:
        # Before the checks against earlier returns: a till retrying a whole-line return
        # must get this return back, not "those units were already returned" (by itself).
        existing = Return.objects.filter(source=source, external_id=external_id).first()
        if existing is not None:
            raise ReturnAlreadyRecorded(existing)
    returned_at = _aware(returned_at or timezone.now())
    _check_moment(errors, "returned_at", returned_at)
    if returned_at < order.placed_at:
        errors.setdefault("returned_at", []).append(_("La devolución no puede ser anterior al pedido."))
    if kind not in ReturnKind.values:
        errors.setdefault("kind", []).append(_("Tipo de devolución desconocido."))
    if kind == ReturnKind.RETURN and not lines:
        errors.setdefault("lines", []).append(_("Indique qué líneas y cuántas unidades se devuelven."))
    if kind == ReturnKind.REFUND and not lines and refund_amount is None:
        errors.setdefault("refund_amount", []).append(_("Indique el importe reembolsado."))

    order_lines = {line.line_no: line for line in order.lines.all()}
    returned_before = dict(
        ReturnLine.objects.filter(ret__order=order, ret__kind=ReturnKind.RETURN)
        .values("order_line__line_no").annotate(q=Sum("quantity")).values_list("order_line__line_no", "q")
    )
    refunded_before = Return.objects.filter(order=order).aggregate(s=Sum("refund_amount"))["s"] or Decimal(0)

    return_lines: list[ReturnLine] = []
    seen: set[int] = set()
    lines_amount = Decimal(0)
    for n, line in enumerate(lines):
        prefix = f"lines.{n}."
        raw_no = line.get("line_no")
        line_no = raw_no if isinstance(raw_no, int) and not isinstance(raw_no, bool) else -1
        original = order_lines.get(line_no)
        if original is None:
            errors.setdefault(prefix + "line_no", []).append(
                _("El pedido no tiene la línea %(no)s.") % {"no": raw_no})
            continue
        if line_no in seen:
            errors.setdefault(prefix + "line_no", []).append(_("Línea repetida."))
            continue
        seen.add(line_no)
        quantity = _decimal(line.get("quantity")) or Decimal(0)
        if quantity <= 0:
            errors.setdefault(prefix + "quantity", []).append(_("La cantidad debe ser mayor que cero."))
            continue
        already = (returned_before.get(line_no) or Decimal(0)) if kind == ReturnKind.RETURN else Decimal(0)
        if already + quantity > original.quantity:
            errors.setdefault(prefix + "quantity", []).append(
                _("Se compraron %(bought)s unidades y ya se devolvieron %(returned)s: no se pueden devolver %(qty)s más.")
                % {"bought": _units(original.quantity), "returned": _units(already),
                   "qty": _units(quantity)})
            continue
        amount = _decimal(line.get("amount"))
        if amount is None:
            amount = original.line_total * quantity / original.quantity
        amount = quantize_money(amount)
        if amount < 0 or amount > original.line_total:
            errors.setdefault(prefix + "amount", []).append(
                _("El importe debe estar entre 0 y el total de la línea (%(total)s).")
                % {"total": money_format(original.line_total, order.currency)})
            continue
        lines_amount += amount
        return_lines.append(ReturnLine(order_line=original, quantity=quantity, amount=amount))

    refund = quantize_money(refund_amount) if refund_amount is not None else quantize_money(lines_amount)
    if refund < 0:
        errors.setdefault("refund_amount", []).append(_("El importe no puede ser negativo."))
    elif refunded_before + refund > order.total:
        errors.setdefault("refund_amount", []).append(
            _("El pedido suma %(total)s y ya se reembolsaron %(before)s: no se pueden reembolsar %(amount)s más.")
            % {"total": money_format(order.total, order.currency),
               "before": money_format(refunded_before, order.currency),
               "amount": money_format(refund, order.currency)})
    if errors:
        raise ValidationError(errors)

    ret = Return(order=order, kind=kind, source=source, external_id=external_id, returned_at=returned_at,
                 reason=(reason or "").strip()[:200], refund_amount=refund, currency=order.currency)
    try:
        with transaction.atomic():
            ret.save()
    except IntegrityError:
        existing = Return.objects.filter(source=source, external_id=external_id).first()
        if existing is None:
            raise
        raise ReturnAlreadyRecorded(existing) from None
    for rl in return_lines:
        rl.ret = ret
    ReturnLine.objects.bulk_create(return_lines)
    audit_record(actor=actor, action=AuditAction.CREATE, entity=RETURN_AUDIT_ENTITY, entity_id=ret.pk,
                 changes={"order": (None, order.pk), "refund_amount": (None, refund)},
                 context={"source": source, "external_id": external_id, "kind": kind})
    hooks.run_returns_recorded([ret.pk])
    return ret


def store_save(*, code: str, name: str, city: str = "", is_online: bool = False) -> Store:
    """Create the store `code`, or update its name, city and kind."""
    store, _created = Store.objects.update_or_create(code=code, defaults={
        "name": name, "city": city, "is_online": is_online})
    return store


def stores_create_bare(codes: Sequence[str]) -> None:
    """Stores named only by their code (an import that meets codes it does not know)."""
    Store.objects.bulk_create([Store(code=code, name=code) for code in codes])
