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

from fideliza.accounts.models import Role
from fideliza.accounts.selectors import users_active
from fideliza.customers.selectors import contact_ids_by_customer, customers_newest
from fideliza.followups.demo import followups_demo_create
from fideliza.followups.models import FollowUpOrigin
from fideliza.followups.selectors import followups_exist, followups_open_by_customer
from fideliza.followups.services import followups_origin_set, local_moment
from fideliza.insights.selectors import customers_ranked_by_clv

from .models import Interaction, InteractionKind, InteractionOutcome
from .selectors import interactions_exist

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
    if interactions_exist() or followups_exist():
        return {"interactions": 0, "followups": 0}
    rng = random.Random(f"{seed}:{today.isoformat()}")
    team = [u for u in users_active().order_by("pk") if u.role]
    if not team:
        return {"interactions": 0, "followups": 0}
    owner = next((u for u in team if u.role == Role.OWNER), team[0])
    # Who matters most: predicted CLV from the snapshot, else the newest cards.
    ranked = customers_ranked_by_clv(400) or customers_newest(400)
    if not ranked:
        return {"interactions": 0, "followups": 0}
    users = {u.pk: u for u in team}
    top = ranked[: max(1, len(ranked) // 5)]

    rows = []
    for _n in range(INTERACTIONS):
        customer_id, executive_id = rng.choice(top) if rng.random() < 0.8 else rng.choice(ranked)
        who = (users.get(executive_id) if executive_id is not None else None) \
            or rng.choice([u for u in team if not u.is_sales_rep] or team)
        kind = rng.choices([k for k, _w in KIND_WEIGHTS], weights=[w for _k, w in KIND_WEIGHTS])[0]
        day = _weekday(today - timedelta(days=rng.randint(1, HISTORY_DAYS)))
        rows.append(Interaction(customer_id=customer_id, kind=kind, occurred_at=_at(rng, day), user=who,
                                outcome=rng.choice(OUTCOMES) if kind != InteractionKind.NOTE else "",
                                text=rng.choice(TEXTS[kind]), via="demo", created_by=who))
    # With a company, the call or the visit was with one of its people (most often the primary).
    people = contact_ids_by_customer({row.customer_id for row in rows})
    for row in rows:
        if row.customer_id in people and row.kind != InteractionKind.NOTE:
            row.contact_id = people[row.customer_id][0 if rng.random() < 0.7 else -1]
    Interaction.objects.bulk_create(rows, batch_size=500)

    created = followups_demo_create(today=today, rng=rng, team=team, owner=owner, ranked=ranked)
    # The latest interaction of a customer with an open follow-up names it as its next step.
    origins: dict[int, int] = {}
    since = local_moment(today - timedelta(days=10), time(0))
    for followup_id, customer_id in followups_open_by_customer()[::3]:
        last = (Interaction.objects.filter(customer_id=customer_id, occurred_at__gte=since)
                .order_by("-occurred_at").first())
        if last is not None and last.next_followup_id is None:
            Interaction.objects.filter(pk=last.pk).update(next_followup_id=followup_id)
            origins[followup_id] = last.pk
    followups_origin_set(origins, kind=FollowUpOrigin.INTERACTION)
    return {"interactions": len(rows), "followups": created, "linked": len(origins)}
