"""The demo team's open follow-ups: for each representative on their own customers and for
the owner on the unassigned ones — overdue, due today, snoozed ones coming back today and
the rest of the week — plus support's queue, so «Mi día» and the home's «Hoy» block have
content on the first `make run`. Deterministic for the caller's random generator."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from fideliza.accounts.models import Role, User
from fideliza.customers.selectors import company_ids_among

from .models import FollowUp, FollowUpPriority, FollowUpStatus
from .services import local_moment

TASKS = ("Llamar para ofrecer la revisión anual", "Enviar presupuesto de la obra", "Invitar a la jornada de fin de año",
         "Preguntar por qué no compra desde hace meses", "Felicitar por su cumpleaños",
         "Confirmar la entrega del pedido", "Ofrecer condiciones de cliente Oro", "Visitar su taller")
# A company has no birthday: its card gets the anniversary of its first purchase instead.
COMPANY_TASKS = tuple("Felicitar por el aniversario de su primera compra" if t == "Felicitar por su cumpleaños" else t
                      for t in TASKS)
SNOOZE_REASONS = ("Está de viaje hasta hoy", "Pidió que le llamemos otro día")
# Per person: (days from today, how many, status).
PLAN = ((-3, 2, FollowUpStatus.OPEN), (-1, 1, FollowUpStatus.OPEN), (0, 5, FollowUpStatus.OPEN),
        (0, 2, FollowUpStatus.SNOOZED), (1, 3, FollowUpStatus.OPEN), (4, 3, FollowUpStatus.OPEN))


def _at(rng: random.Random, day: date) -> datetime:
    return local_moment(day, time(rng.randint(9, 18), rng.choice((0, 15, 30, 45))))


def followups_demo_create(*, today: date, rng: random.Random, team: Sequence[User], owner: User,
                          ranked: Sequence[tuple[int, int | None]]) -> int:
    """Writes the follow-ups of `team` on the `ranked` (customer, account executive) pairs;
    returns how many."""
    reps = [u for u in team if u.role == Role.SALES_REP]
    companies = company_ids_among([pk for pk, _executive in ranked])
    followups = []
    for person in [*reps, owner]:
        own = [pk for pk, executive in ranked if executive == person.pk] if person.is_sales_rep else \
            [pk for pk, executive in ranked if executive is None]
        if not own:
            continue
        for offset, count, status in PLAN:
            for _n in range(count):
                due = _at(rng, today + timedelta(days=offset))
                customer_id = rng.choice(own[:80])
                title = rng.choice(COMPANY_TASKS if customer_id in companies else TASKS)
                followup = FollowUp(customer_id=customer_id, title=title, assignee=person,
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
    return len(followups)
