"""The demo business's events: one past (a training 40 days ago, with attendance, no-shows
and walk-ins, so its report has its 30-day window complete) and one upcoming (the year-end
evening in 12 days, full, with a waiting list), for the customers that matter most.

Written as history: no message is queued (the guests of a demo were never written to, and
the first start sends nothing by itself; the upcoming event is further away than the
day-before reminder). Attendance is logged on the cards through the interactions' service.
Deterministic for (`today`, `seed`).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.db import transaction

from fideliza.accounts.services import Actor
from fideliza.customers.selectors import customers_newest
from fideliza.followups.services import local_moment
from fideliza.insights.selectors import customers_ranked_by_clv
from fideliza.interactions.models import InteractionKind
from fideliza.interactions.services import interaction_log

from .models import Event, EventKind, EventStatus, Invitation, Response
from .selectors import events_exist

PAST_DAYS_AGO, UPCOMING_IN_DAYS = 40, 12


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return local_moment(day, time(hour, minute))


def _invite(event: Event, customer_ids: list[int], at: datetime) -> list[Invitation]:
    rows = [Invitation(event=event, customer_id=cid, invited_at=at, delivery="") for cid in customer_ids]
    return Invitation.objects.bulk_create(rows)


@transaction.atomic
def events_demo_create(*, today: date, actor: Actor, seed: int = 15) -> dict[str, int]:
    """The two events and their guests; does nothing when an event exists."""
    if events_exist():
        return {"events": 0, "invitations": 0}
    ranked = customers_ranked_by_clv(200) or customers_newest(200)
    if len(ranked) < 20:
        return {"events": 0, "invitations": 0}
    rng = random.Random(f"{seed}:events:{today.isoformat()}")
    ids = [cid for cid, _executive in ranked]

    # The past one: a training in the shop, 40 days ago.
    past_day = today - timedelta(days=PAST_DAYS_AGO)
    past = Event.objects.create(
        kind=EventKind.TRAINING, title="Taller de herramientas eléctricas para profesionales",
        description="Demostración de taladros y amoladoras, con consejos de seguridad y un aperitivo.",
        starts_at=_at(past_day, 18), ends_at=_at(past_day, 20, 30), place="Tienda Centro, C/ Mayor 12",
        city="Córdoba", capacity=35, rsvp_deadline=_at(past_day - timedelta(days=2), 20),
        status=EventStatus.PUBLISHED, created_by=actor.user)
    guests = ids[:min(60, len(ids))]
    invited_at = _at(past_day - timedelta(days=15), 10)
    rows = _invite(past, guests, invited_at)
    came: list[Invitation] = []
    for row in rows:
        roll = rng.random()
        row.response = (Response.YES if roll < 0.55 else Response.NO if roll < 0.75
                        else Response.MAYBE if roll < 0.85 else Response.PENDING)
        if row.response != Response.PENDING:
            row.responded_at = invited_at + timedelta(days=rng.randint(0, 12), hours=rng.randint(0, 8))
        if row.response == Response.YES and rng.random() < 0.8:
            came.append(row)
    Invitation.objects.bulk_update(rows, ["response", "responded_at"])
    walk_ins = ids[60:63]  # regulars who came without an invitation
    came += Invitation.objects.bulk_create([
        Invitation(event=past, customer_id=cid, invited_at=past.starts_at, walk_in=True, response=Response.YES,
                   responded_at=past.starts_at, invited_by=actor.user) for cid in walk_ins])
    for row in came:
        at = past.starts_at + timedelta(minutes=rng.randint(-10, 40))
        logged = interaction_log(actor=actor, customer=row.customer, kind=InteractionKind.EVENT, occurred_at=at,
                                 text=f"Asistió a «{past.title}».", via="demo")
        row.attended_at, row.checked_in_by, row.interaction_id = at, actor.user, logged.pk
    Invitation.objects.bulk_update(came, ["attended_at", "checked_in_by", "interaction_id"])

    # The upcoming one: the year-end evening, full, with people waiting.
    day = today + timedelta(days=UPCOMING_IN_DAYS)
    upcoming = Event.objects.create(
        kind=EventKind.YEAR_END, title="Jornada de fin de año de El Martillo",
        description="Brindamos por el año con nuestros mejores clientes: novedades, sorteo y picoteo.",
        starts_at=_at(day, 19), ends_at=_at(day, 22), place="Tienda Centro, C/ Mayor 12", city="Córdoba",
        capacity=25, rsvp_deadline=_at(day - timedelta(days=3), 20), audience_tiers=["platino", "oro"],
        status=EventStatus.PUBLISHED, created_by=actor.user)
    invited_at = _at(today - timedelta(days=4), 10)
    rows = _invite(upcoming, ids[:45], invited_at)
    confirmed = 0
    for i, row in enumerate(rows):
        roll = rng.random()
        answer = (Response.YES if roll < 0.7 else Response.NO if roll < 0.8
                  else Response.MAYBE if roll < 0.87 else Response.PENDING)
        if answer == Response.PENDING:
            continue
        row.responded_at = invited_at + timedelta(hours=2 + i * 3)
        if answer == Response.YES and confirmed >= (upcoming.capacity or 0):
            row.response, row.waitlisted_at = Response.WAITING, row.responded_at
        else:
            row.response = answer
            confirmed += answer == Response.YES
    Invitation.objects.bulk_update(rows, ["response", "responded_at", "waitlisted_at"])
    return {"events": 2, "invitations": Invitation.objects.count(), "attended": len(came)}
