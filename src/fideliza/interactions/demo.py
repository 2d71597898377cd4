"""The demo business's relationship work: a few hundred logged interactions over the last
six months, most of them with the customers that matter most (seed 004: 80 % of the effort
on the 20 % that buy most), and open follow-ups for each person of the team — overdue, due
today, snoozed ones coming back today and the rest of the week — so «Mi día», the home's
«Hoy» block and the card's timeline have content on the first `make run`.

Written with bulk inserts (a few hundred rows: well under a second); deterministic for
(`today`, `seed`). Run after the analytics snapshot, which ranks the customers.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import F

from fideliza.accounts.models import Role, User
from fideliza.customers.models import Customer
from fideliza.followups.models import FollowUp, FollowUpOrigin, FollowUpPriority, FollowUpStatus
from fideliza.followups.services import local_moment

from .models import Interaction, InteractionKind, InteractionOutcome

KIND_WEIGHTS = (
    (InteractionKind.CALL, 40), (InteractionKind.WHATSAPP, 15), (InteractionKind.EMAIL, 12),
    (InteractionKind.VISIT, 10), (InteractionKind.MEETING, 6), (InteractionKind.MEAL, 5),
    (InteractionKind.EVENT, 5), (InteractionKind.NOTE, 7),
)
TEXTS = {
    InteractionKind.CALL: ["Llamada de seguimiento tras su última compra.", "Pregunta por el plazo de entrega del pedido.",
                           "Le ofrecí la revisión anual de sus herramientas.", "Interesado en la oferta de jardín."],
    InteractionKind.WHATSAPP: ["Envié el catálogo de primavera.", "Confirma que pasa por tienda el sábado.",
                               "Pide foto del taladro nuevo."],
    InteractionKind.EMAIL: ["Presupuesto enviado por correo.", "Respondí su consulta sobre la garantía."],
    InteractionKind.VISIT: ["Visita a su obra: necesita andamio y escaleras.", "Visita a su taller para ver el pedido grande."],
    InteractionKind.MEETING: ["Reunión en tienda para planificar las compras del trimestre."],
    InteractionKind.MEAL: ["Comida con el cliente: contento con el servicio, quiere condiciones de empresa."],
    InteractionKind.EVENT: ["Vino a la jornada de demostración de herramientas eléctricas."],
    InteractionKind.NOTE: ["Prefiere que le llamemos por la tarde.", "Su hijo se ocupa ahora de las compras."],
}
OUTCOMES = (InteractionOutcome.REACHED, InteractionOutcome.REACHED, InteractionOutcome.INTERESTED,
            InteractionOutcome.NO_ANSWER, InteractionOutcome.NOT_INTERESTED, InteractionOutcome.NONE)
TASKS = ("Llamar para ofrecer la revisión anual", "Enviar presupuesto de la obra", "Invitar a la jornada de fin de año",
         "Preguntar por qué no compra desde hace meses", "Felicitar por su cumpleaños",
         "Confirmar la entrega del pedido", "Ofrecer condiciones de cliente Oro", "Visitar su taller")
SNOOZE_REASONS = ("Está de viaje hasta hoy", "Pidió que le llamemos otro día")
INTERACTIONS = 300
HISTORY_DAYS = 180


def _at(rng: random.Random, day: date) -> datetime:
    return local_moment(day, time(rng.randint(9, 18), rng.choice((0, 15, 30, 45))))


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


@transaction.atomic
def relationship_demo_create(*, today: date, seed: int = 15) -> dict[str, int]:
    """Interactions and open follow-ups for the demo's team; does nothing when some exist."""
    if Interaction.objects.exists() or FollowUp.objects.exists():
        return {"interactions": 0, "followups": 0}
    rng = random.Random(f"{seed}:{today.isoformat()}")
    team = list(User.objects.filter(is_active=True).exclude(role="").order_by("pk"))
    if not team:
        return {"interactions": 0, "followups": 0}
    owner = next((u for u in team if u.role == Role.OWNER), team[0])
    reps = [u for u in team if u.role == Role.SALES_REP]
    # Who matters most: predicted CLV from the snapshot, else the newest cards.
    ranked = list(Customer.objects.filter(merged_into__isnull=True, is_active=True)
                  .order_by(F("metrics__clv_predicted").desc(nulls_last=True), "-pk")
                  .values_list("pk", "account_executive_id")[:400])
    if not ranked:
        return {"interactions": 0, "followups": 0}
    users = {u.pk: u for u in team}
    top = ranked[: max(1, len(ranked) // 5)]

    rows = []
    for _n in range(INTERACTIONS):
        customer_id, executive_id = rng.choice(top) if rng.random() < 0.8 else rng.choice(ranked)
        who = users.get(executive_id) or rng.choice([u for u in team if not u.is_sales_rep] or team)
        kind = rng.choices([k for k, _w in KIND_WEIGHTS], weights=[w for _k, w in KIND_WEIGHTS])[0]
        day = _weekday(today - timedelta(days=rng.randint(1, HISTORY_DAYS)))
        rows.append(Interaction(customer_id=customer_id, kind=kind, occurred_at=_at(rng, day), user=who,
                                outcome=rng.choice(OUTCOMES) if kind != InteractionKind.NOTE else "",
                                text=rng.choice(TEXTS[kind]), via="demo", created_by=who))
    Interaction.objects.bulk_create(rows, batch_size=500)

    # Follow-ups: per person, (days from today, how many, status); reps on their own customers.
    plan = ((-3, 2, FollowUpStatus.OPEN), (-1, 1, FollowUpStatus.OPEN), (0, 5, FollowUpStatus.OPEN),
            (0, 2, FollowUpStatus.SNOOZED), (1, 3, FollowUpStatus.OPEN), (4, 3, FollowUpStatus.OPEN))
    followups = []
    for person in [*reps, owner]:
        own = [pk for pk, executive in ranked if executive == person.pk] if person.is_sales_rep else \
            [pk for pk, executive in ranked if executive is None]
        if not own:
            continue
        for offset, count, status in plan:
            for _n in range(count):
                due = _at(rng, today + timedelta(days=offset))
                followup = FollowUp(customer_id=rng.choice(own[:80]), title=rng.choice(TASKS), assignee=person,
                                    due_at=due, status=status, created_by=owner,
                                    priority=rng.choice((FollowUpPriority.HIGH, FollowUpPriority.NORMAL,
                                                         FollowUpPriority.NORMAL, FollowUpPriority.LOW)))
                if status == FollowUpStatus.SNOOZED:
                    followup.due_at = _at(rng, today - timedelta(days=2))
                    followup.snoozed_until = local_moment(today, time(rng.randint(10, 17)))
                    followup.status_reason = rng.choice(SNOOZE_REASONS)
                followups.append(followup)
    # Work for a role nobody is named for yet: support's queue.
    for _n in range(2):
        followups.append(FollowUp(customer_id=rng.choice(ranked)[0], title="Resolver la consulta sobre la garantía",
                                  assignee_role=Role.SUPPORT, due_at=_at(rng, today), created_by=owner))
    FollowUp.objects.bulk_create(followups, batch_size=500)
    # The latest interaction of a customer with an open follow-up names it as its next step.
    linked = 0
    for followup in FollowUp.objects.filter(status=FollowUpStatus.OPEN).order_by("pk")[::3]:
        last = (Interaction.objects.filter(customer_id=followup.customer_id,
                                           occurred_at__gte=local_moment(today - timedelta(days=10), time(0)))
                .order_by("-occurred_at").first())
        if last is not None and last.next_followup_id is None:
            Interaction.objects.filter(pk=last.pk).update(next_followup=followup)
            FollowUp.objects.filter(pk=followup.pk).update(origin_kind=FollowUpOrigin.INTERACTION, origin_id=last.pk)
            linked += 1
    return {"interactions": len(rows), "followups": len(followups), "linked": linked}
