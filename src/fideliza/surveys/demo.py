"""The demo business's surveys: two finished rounds with a few hundred answers (NPS about
+20, comments in Spanish), a few testimonials, and the follow-ups of the latest detractors,
so the results, the dashboard's cards and the card's timeline have content on the first
`make run`.

Nothing is sent: the rounds are history (invitations and answers written in bulk, as an
import would), the second survey stays open for the till's public link, and no campaign
or automation carries a survey. Deterministic for (`today`, `seed`).
"""

from __future__ import annotations

import random
import secrets
from datetime import date, datetime, time, timedelta

from django.db import transaction

from fideliza.accounts.models import Role
from fideliza.accounts.selectors import users_active
from fideliza.accounts.services import Actor
from fideliza.customers.selectors import customer_get, customers_newest
from fideliza.followups.models import FollowUpOrigin, FollowUpPriority
from fideliza.followups.services import business_zone, followup_create, local_moment
from fideliza.insights.selectors import customers_ranked_by_clv
from fideliza.sales.selectors import store_ids_by_code

from .models import (
    Answer,
    Invitation,
    Response,
    ResponseChannel,
    Survey,
    SurveyStatus,
    Testimonial,
    month_of,
)
from .services import add_business_days, survey_from_template

# Band shares giving NPS ≈ +20: 45 % promoters − 25 % detractors.
SCORES = {"promoter": ((9, 10), 45), "passive": ((7, 8), 30), "detractor": ((0, 6), 25)}
WHY = {
    "promoter": ["Me asesoran muy bien y encuentro de todo.", "El trato del personal es excelente.",
                 "Siempre tienen stock y los precios son justos.", "Me resolvieron un problema con la garantía enseguida.",
                 "La entrega a domicilio llegó al día siguiente.", "Conocen mi obra y me recomiendan lo que necesito."],
    "passive": ["Bien en general, aunque a veces hay cola en caja.", "Buen surtido, pero algo caros en pintura.",
                "Correcto, sin más.", "La web podría ser más fácil de usar."],
    "detractor": ["El pedido llegó incompleto y nadie me avisó.", "Esperé veinte minutos para que me atendieran.",
                  "Me cobraron de más y costó que lo devolvieran.", "No tenían la pieza y tardó tres semanas.",
                  "La persona de caja fue poco amable.", "El taladro se rompió al mes y la garantía fue un lío."],
}
CHOSE = ["Por cercanía a casa.", "Me lo recomendó un amigo.", "Por el asesoramiento.", "Por los precios.",
         "Porque tienen de todo para la obra.", "Por el programa de puntos."]
BETTER = ["El asesoramiento.", "La rapidez en caja.", "El surtido de herramientas.", "El trato cercano."]
WORSE = ["Las colas de los sábados.", "Los plazos de los pedidos especiales.", "El aparcamiento.",
         "Los precios de la pintura."]
TESTIMONIALS = ["Llevo diez años comprando aquí y siempre me han ayudado con mis obras.",
                "Me salvaron un fin de semana con una pieza que nadie más tenía.",
                "El mejor asesoramiento de la ciudad, y con puntos que de verdad se canjean."]


def _band(rng: random.Random) -> str:
    names = list(SCORES)
    return rng.choices(names, weights=[SCORES[n][1] for n in names])[0]


def _moment(rng: random.Random, day: date) -> datetime:
    return local_moment(day, time(rng.randint(9, 20), rng.randint(0, 59)))


def _round(*, survey: Survey, rng: random.Random, customers: list[tuple[int, int | None]], start: date,
           days: int, invited: int, answered: int, stores: list[int]) -> list[tuple[Response, str]]:
    """Invitations and answers of one past round; returns the detractors' (response, comment)."""
    questions = {q.position: q for q in survey.questions.order_by("position")}
    picked = rng.sample(customers, min(invited, len(customers)))
    sent = [_moment(rng, start + timedelta(days=rng.randint(0, 2))) for _c in picked]
    invitations = Invitation.objects.bulk_create([
        Invitation(survey=survey, customer_id=cid, nonce=secrets.token_urlsafe(16), source="demo",
                   created_at=at, expires_at=at + timedelta(days=survey.link_valid_days))
        for (cid, _e), at in zip(picked, sent, strict=True)], batch_size=500)
    responses, answers, detractors = [], [], []
    for invitation in invitations[:answered]:
        at = invitation.created_at + timedelta(days=rng.randint(0, days), hours=rng.randint(0, 6))
        band = _band(rng)
        low, high = SCORES[band][0]
        score = rng.randint(low, high)
        texts: dict[int, str] = {}
        if survey.template == "seed":
            texts = {1: rng.choice(CHOSE), 2: rng.choice(BETTER), 3: rng.choice(WORSE)}
            scored = questions[4]
        else:
            scored = questions[1]
            if score <= 8 and rng.random() < 0.7:
                texts[2] = rng.choice(WHY[band])
            if band == "promoter" and rng.random() < 0.6:
                texts[3] = rng.choice(WHY["promoter"])
        response = Response(survey=survey, invitation=invitation, customer_id=invitation.customer_id,
                            channel=ResponseChannel.LINK, store_id=rng.choice(stores) if stores else None,
                            started_at=at, month=month_of(at), finished_at=at + timedelta(minutes=rng.randint(1, 4)),
                            nps=score,
                            verbatim="\n".join(texts[p] for p in sorted(texts)))
        responses.append(response)
        answers.append((response, [(scored, score, "")] + [(questions[p], None, t) for p, t in texts.items()]))
        if band == "detractor":
            detractors.append((response, response.verbatim))
    Response.objects.bulk_create(responses, batch_size=500)
    for invitation, response in zip(invitations, responses, strict=False):
        invitation.answered_at = response.finished_at
    Invitation.objects.bulk_update(invitations[:len(responses)], ["answered_at"], batch_size=500)
    Answer.objects.bulk_create([Answer(response=r, question=q, number=n, text=t)
                                for r, rows in answers for q, n, t in rows], batch_size=1000)
    return detractors


@transaction.atomic
def surveys_demo_create(*, today: date, seed: int = 16) -> dict[str, int]:
    """Two answered surveys, testimonials and detractor follow-ups; nothing when some exist."""
    if Survey.objects.exists():
        return {"surveys": 0, "responses": 0}
    rng = random.Random(f"{seed}:{today.isoformat()}")
    ranked = customers_ranked_by_clv(2000) or customers_newest(2000)
    if len(ranked) < 50:
        return {"surveys": 0, "responses": 0}
    team = [u for u in users_active().order_by("pk") if u.role]
    owner = next((u for u in team if u.role == Role.OWNER), team[0] if team else None)
    actor = Actor.of(owner, via="demo") if owner else Actor.system("demo")
    stores = sorted(store_ids_by_code().values())

    first = survey_from_template(actor=actor, template="seed", name="¿Por qué nos elegiste? (primavera)")
    Survey.objects.filter(pk=first.pk).update(status=SurveyStatus.CLOSED)
    first.refresh_from_db()
    _round(survey=first, rng=rng, customers=ranked, start=today - timedelta(days=150), days=20,
           invited=600, answered=220, stores=stores)
    second = survey_from_template(actor=actor, template="nps", name="¿Nos recomendarías? (otoño)")
    Survey.objects.filter(pk=second.pk).update(public_enabled=True, public_identify=True, reminder_days=5)
    second.refresh_from_db()
    detractors = _round(survey=second, rng=rng, customers=ranked, start=today - timedelta(days=40), days=30,
                        invited=800, answered=330, stores=stores)
    # The follow-ups of the detractors of the last two weeks, as the answers made them.
    recent = [(r, text) for r, text in detractors if r.started_at >= local_moment(today - timedelta(days=14), time(0))]
    executives = dict(ranked)
    made = 0
    for response, text in recent[:12]:
        if response.customer_id is None:
            continue
        customer = customer_get(response.customer_id)
        if customer is None:
            continue
        local_day = response.started_at.astimezone(business_zone()).date()
        followup = followup_create(
            actor=actor, customer=customer, title=f"Llamar: respondió NPS {response.nps} en «{second.name}»",
            due_at=local_moment(add_business_days(local_day, second.followup_days), time(18)),
            priority=FollowUpPriority.HIGH, notes=f"Comentarios: {text}" if text else "",
            origin_kind=FollowUpOrigin.SURVEY, origin_id=response.pk,
            assignee_role="" if executives.get(customer.pk) else Role.SUPPORT)
        Response.objects.filter(pk=response.pk).update(followup_id=followup.pk)
        made += 1
    promoters = list(Response.objects.filter(survey=second, nps__gte=9, customer__isnull=False)
                     .order_by("pk")[:len(TESTIMONIALS)])
    for i, (response, text) in enumerate(zip(promoters, TESTIMONIALS, strict=False)):
        assert response.customer_id is not None  # filtered above
        Testimonial.objects.create(customer_id=response.customer_id, response=response, text=text,
                                   consent=i != 1, consent_where="web y redes sociales" if i != 1 else "",
                                   consent_until=today + timedelta(days=365) if i == 0 else None,
                                   consent_at=response.finished_at if i != 1 else None,
                                   created_at=response.finished_at or response.started_at)
    return {"surveys": 2, "responses": Response.objects.count(), "followups": made,
            "testimonials": min(len(promoters), len(TESTIMONIALS))}
