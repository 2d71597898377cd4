"""The demo business's six-moves plan: a few chosen actions per move, as the seed's tables
ask for them («acción elegida — cuándo — quién — cómo»), with owners and dates around
`today`, so each move page shows a plan beside its live lists. Idempotent."""

from __future__ import annotations

from datetime import date, timedelta

from fideliza.accounts.models import Role, User
from fideliza.accounts.selectors import users_active
from fideliza.accounts.services import Actor

from .models import Move, PlanItem, PlanItemStatus
from .services import plan_item_create

# (move, action, when, who role, how, line, days from today, status)
ITEMS: tuple[tuple[str, str, str, str, str, str, int, str], ...] = (
    (Move.RELACION, "Llamar a los clientes Platino sin contacto", "Cada lunes", Role.SALES_REP,
     "Llamada personal del ejecutivo de cuenta; registrar el resultado en la ficha.", "platinum_no_contact", 0,
     PlanItemStatus.IN_PROGRESS),
    (Move.RELACION, "Jornada de fin de año con los mejores clientes", "Diciembre", Role.OWNER,
     "Invitación personal a los clientes Platino y Oro; merienda en la tienda del centro.", "", 20,
     PlanItemStatus.PENDING),
    (Move.RETENCION, "Fijar y revisar las metas de retención", "Primer lunes de cada trimestre", Role.OWNER,
     "Revisar la página de metas con el equipo.", "", -3, PlanItemStatus.PENDING),
    (Move.RETENCION, "Avisar de los puntos por vencer", "Cada semana", Role.MARKETING,
     "Correo con el saldo y una sugerencia de canje.", "points_expiring", 2, PlanItemStatus.PENDING),
    (Move.RENTABILIZACION, "Ofrecer pintura a quien solo compra herramientas", "Este mes", Role.MARKETING,
     "Campaña de venta cruzada con un cupón de 5 €.", "one_category", 10, PlanItemStatus.PENDING),
    (Move.REFERENCIACION, "Pedir referidos a los clientes leales", "Tras cada compra grande", Role.SALES_REP,
     "Entregar la tarjeta con el código de recomendación.", "loyal_no_referrals", 7, PlanItemStatus.PENDING),
    (Move.RECUPERACION, "Llamar a quien devolvió algo", "A los dos días de la devolución", Role.SUPPORT,
     "Preguntar qué falló y ofrecer un gesto (cupón o envío gratis).", "returned_recently", 0,
     PlanItemStatus.PENDING),
    (Move.REACTIVACION, "Recuperar a los clientes A que bajaron", "Este trimestre", Role.OWNER,
     "Llamada del ejecutivo de cuenta y oferta personal.", "a_dropped", 30, PlanItemStatus.PENDING),
    (Move.REACTIVACION, "Correo «te echamos de menos» a los dormidos de 1–2 años", "Hecho en octubre",
     Role.MARKETING, "Campaña con cupón de bienvenida.", "dormant_1_2", -40, PlanItemStatus.DONE),
)


def plan_demo_create(*, today: date, owner: User) -> int:
    """Create the demo's plan items; returns how many (0 when there already are some)."""
    if PlanItem.objects.exists():
        return 0
    people: dict[str, User] = {}
    for user in users_active():
        people.setdefault(user.role, user)
    actor = Actor.of(owner)
    for move, action, when, role, how, line, days, status in ITEMS:
        person = people.get(role, owner)
        plan_item_create(actor=actor, move=move, action=action, when=when, who=str(Role(role).label), how=how,
                         line_key=line, owner=person, due_date=today + timedelta(days=days), status=status)
    return len(ITEMS)
