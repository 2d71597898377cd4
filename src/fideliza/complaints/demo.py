"""The demo business's complaints book: categories, root causes, canned answers and a few
dozen complaints of the last four months in every state — new (some past their term),
in progress, waiting for the customer, resolved and closed, some with a recovery coupon —
so the book, its report, the cards and «Mi día» have content on the first `make run`.

Writes rows only: no copy and no answer goes to the outbox (the demo sends nothing by
itself; tests/automations/test_demo_sends.py). Deterministic for (`today`, `seed`).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from fideliza.accounts.services import Actor
from fideliza.customers.selectors import customers_by_id, customers_newest
from fideliza.followups.models import FollowUpOrigin, FollowUpPriority
from fideliza.followups.services import followup_create, local_moment
from fideliza.insights.selectors import customers_ranked_by_clv
from fideliza.loyalty.coupons import coupon_create
from fideliza.loyalty.models import CouponSource, RewardKind

from . import rules as R
from .models import (
    CannedAnswer,
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintEvent,
    ComplaintStatus,
    EventKind,
    GestureKind,
    RecoveryGesture,
    RootCause,
)
from .selectors import complaints_exist
from .services import tracking_code_new

CATEGORIES = ("Producto defectuoso", "Retraso en la entrega", "Atención en tienda", "Cobro incorrecto",
              "Garantía", "Devolución rechazada", "Falta de stock", "Limpieza y orden de la tienda")
CAUSES = ("Proveedor", "Formación del personal", "Error de sistema", "Falta de personal", "Transporte")
ANSWERS = (
    ("Producto defectuoso: cambio", "Producto defectuoso",
     "Su {{ tipo|lower }} {{ codigo }}: cambiamos el producto",
     "Hola {{ nombre }}:\nSentimos que el producto le haya fallado. Puede pasar por {{ tienda|default(\"cualquiera de "
     "nuestras tiendas\") }} y se lo cambiamos en el momento.{% if cupon %}\nComo disculpa, le regalamos el cupón "
     "{{ cupon }}.{% endif %}\nUn saludo."),
    ("Retraso: nueva fecha de entrega", "Retraso en la entrega",
     "Su pedido: nueva fecha de entrega ({{ codigo }})",
     "Hola {{ nombre }}:\nLamentamos el retraso. Le llamaremos para acordar la entrega antes del {{ fecha_limite }}."
     "\nUn saludo."),
    ("Atención en tienda: disculpas", "Atención en tienda",
     "Disculpas por la atención recibida ({{ codigo }})",
     "Hola {{ nombre }}:\nGracias por contárnoslo. Hemos hablado con el equipo de la tienda para que no vuelva a "
     "pasar.{% if cupon %}\nLe dejamos el cupón {{ cupon }} para su próxima compra.{% endif %}\nUn saludo."),
    ("Pedimos más datos", "",
     "Necesitamos un dato para su {{ tipo|lower }} {{ codigo }}",
     "Hola {{ nombre }}:\n¿Nos puede enviar una foto del ticket o el número de pedido? En cuanto lo tengamos "
     "seguimos con su caso.\nUn saludo."),
)
TEXTS = {
    "Producto defectuoso": ("El taladro que compré hace una semana no enciende.",
                            "La escalera vino con un peldaño roto."),
    "Retraso en la entrega": ("El pedido tenía que llegar el martes y aún no sé nada.",
                              "Me dieron fecha para la semana pasada y no han venido."),
    "Atención en tienda": ("Esperé más de veinte minutos en caja sin que nadie me atendiera.",
                           "El dependiente no supo explicarme la garantía."),
    "Cobro incorrecto": ("Me cobraron dos veces la misma pintura.",),
    "Garantía": ("No me aceptan la garantía de la cortacésped.",),
    "Devolución rechazada": ("No me dejaron devolver un producto sin abrir.",),
    "Falta de stock": ("Vine tres veces a por el mismo artículo y nunca hay.",),
    "Limpieza y orden de la tienda": ("Los pasillos estaban bloqueados con cajas.",),
}
# (status, how many, days ago received: range)
PLAN = ((ComplaintStatus.NEW, 4, (0, 2)), (ComplaintStatus.NEW, 3, (18, 30)),
        (ComplaintStatus.IN_PROGRESS, 7, (2, 12)), (ComplaintStatus.IN_PROGRESS, 2, (20, 35)),
        (ComplaintStatus.WAITING, 4, (4, 20)), (ComplaintStatus.RESOLVED, 10, (15, 90)),
        (ComplaintStatus.CLOSED, 9, (40, 120)))
SPAIN = R.rule_set("ES")


def _at(rng: random.Random, day: date) -> datetime:
    return local_moment(day, time(rng.randint(9, 19), rng.choice((0, 10, 25, 40, 55))))


@transaction.atomic
def complaints_demo_create(*, today: date, seed: int = 16) -> int:
    """Writes the demo book (once: nothing when complaints exist); returns how many."""
    if complaints_exist():
        return 0
    rng = random.Random(seed)
    actor = Actor.system("demo")
    categories = {name: ComplaintCategory.objects.create(name=name) for name in CATEGORIES}
    causes = [RootCause.objects.create(name=name) for name in CAUSES]
    for title, category, subject, body in ANSWERS:
        CannedAnswer.objects.create(title=title, category=categories.get(category), subject=subject, body=body)
    ranked = customers_ranked_by_clv(400) or customers_newest(400)
    if not ranked:
        return 0
    picked = rng.sample(ranked, min(len(ranked), sum(n for _s, n, _d in PLAN)))
    cards = customers_by_id(pk for pk, _executive in picked)
    weights = [6, 4, 4, 3, 2, 2, 2, 1]
    n = 0
    for status, count, (low, high) in PLAN:
        for _i in range(count):
            customer_id, _executive = picked[n]
            card = cards[customer_id]
            n += 1
            category_name = rng.choices(CATEGORIES, weights=weights)[0]
            # Never later than now: today's complaints arrived earlier today.
            received = min(_at(rng, today - timedelta(days=rng.randint(low, high))),
                           timezone.now() - timedelta(minutes=rng.randint(5, 120)))
            region = rng.choice(("AN", "AN", "MD"))
            complaint = Complaint.objects.create(
                tracking_code=tracking_code_new(SPAIN, received), rules=SPAIN.code, subdivision=region,
                kind=rng.choice(("queja", "queja", "reclamo", "sugerencia")),
                channel=rng.choice((ComplaintChannel.WEB, ComplaintChannel.COUNTER, ComplaintChannel.COUNTER,
                                    ComplaintChannel.PHONE, ComplaintChannel.EMAIL)),
                status=ComplaintStatus.NEW, customer=card, category=categories[category_name],
                root_cause=rng.choice(causes) if status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED) else None,
                name=card.display_name, email=card.email, phone=card.phone,
                description=rng.choice(TEXTS[category_name]), received_at=received,
                assignee=card.account_executive, language="es",
                due_at=R.due_at(received, SPAIN.term_days(region), SPAIN, region),
                first_response_due_at=R.due_at(received, SPAIN.first_response_days, SPAIN, region))
            _history(rng, complaint, status, today)
            if complaint.status in (ComplaintStatus.NEW, ComplaintStatus.IN_PROGRESS, ComplaintStatus.WAITING):
                followup = followup_create(
                    actor=actor, customer=card, title=f"Atender {complaint.get_kind_display().lower()} "
                                                      f"{complaint.tracking_code}",
                    due_at=complaint.first_response_due_at or complaint.due_at or received,
                    assignee=card.account_executive, assignee_role="" if card.account_executive else "support",
                    priority=FollowUpPriority.HIGH, notes=complaint.description,
                    origin_kind=FollowUpOrigin.COMPLAINT, origin_id=complaint.pk)
                complaint.followup_id = followup.pk
                complaint.save(update_fields=["followup_id"])
    return n


def _history(rng: random.Random, c: Complaint, status: str, today: date) -> None:
    """The states a complaint went through to reach `status`, as the services would write them."""
    events = [ComplaintEvent(complaint=c, kind=EventKind.FILED, at=c.received_at, to_status=ComplaintStatus.NEW)]
    now = local_moment(today, time(8))
    if status != ComplaintStatus.NEW:
        first = min(c.received_at + timedelta(hours=rng.choice((2, 5, 20, 30, 52, 75))), now)
        c.first_response_at = first
        events.append(ComplaintEvent(complaint=c, kind=EventKind.ANSWER, at=first,
                                     text="Respuesta registrada en la demostración (no enviada)."))
        events.append(ComplaintEvent(complaint=c, kind=EventKind.STATUS, at=first, from_status=ComplaintStatus.NEW,
                                     to_status=ComplaintStatus.IN_PROGRESS))
        c.status = ComplaintStatus.IN_PROGRESS
    if status == ComplaintStatus.WAITING:
        at = min((c.first_response_at or c.received_at) + timedelta(hours=1), now)
        assert c.due_at is not None and c.first_response_due_at is not None
        c.paused_days = R.remaining_days(at, c.due_at, SPAIN, c.subdivision)
        c.due_at = None
        events.append(ComplaintEvent(complaint=c, kind=EventKind.STATUS, at=at, from_status=ComplaintStatus.IN_PROGRESS,
                                     to_status=ComplaintStatus.WAITING, text="Pedimos el ticket de compra."))
        c.status = ComplaintStatus.WAITING
    if status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
        assert c.first_response_at is not None
        resolved = min(c.first_response_at + timedelta(days=rng.choice((1, 3, 6, 9, 16))), now)
        if rng.random() < 0.5:
            value = Decimal(rng.choice((5, 10, 15)))
            coupon = coupon_create(actor=Actor.system("demo"), name=f"Disculpas por la queja {c.tracking_code}",
                                   kind=RewardKind.AMOUNT, value=value, source=CouponSource.RECOVERY,
                                   customer=c.customer, valid_from=resolved, valid_until=resolved + timedelta(days=60))
            RecoveryGesture.objects.create(complaint=c, customer=c.customer, kind=GestureKind.COUPON,
                                           coupon_id=coupon.pk, coupon_code=coupon.code, value=value, cost=value,
                                           created_at=resolved)
            events.append(ComplaintEvent(complaint=c, kind=EventKind.GESTURE, at=resolved,
                                         text=f"Cupón de descuento: {coupon.code}"))
        c.resolved_at, c.resolution = resolved, "Se atendió al cliente y se resolvió el problema."
        events.append(ComplaintEvent(complaint=c, kind=EventKind.STATUS, at=resolved,
                                     from_status=ComplaintStatus.IN_PROGRESS, to_status=ComplaintStatus.RESOLVED,
                                     text=c.resolution))
        c.status = ComplaintStatus.RESOLVED
        if status == ComplaintStatus.CLOSED:
            c.closed_at = min(resolved + timedelta(days=7), now)
            events.append(ComplaintEvent(complaint=c, kind=EventKind.STATUS, at=c.closed_at,
                                         from_status=ComplaintStatus.RESOLVED, to_status=ComplaintStatus.CLOSED))
            c.status = ComplaintStatus.CLOSED
    c.save()
    ComplaintEvent.objects.bulk_create(events)
