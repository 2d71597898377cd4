"""A small business with two sales representatives, for the visibility tests.

Each representative has two customers of their own, and each of those customers has
everything a list or an export can show: orders and a return, a loyalty membership with
points, a coupon, a referral, e-mail and SMS consent, transactional messages, campaign
messages, an automation enrolment, suppressed addresses, membership of a static and a
dynamic segment, analytics scores, a duplicate candidate and a data-subject request.
One more customer is assigned to nobody. Everything is written through the services
(and the test factories built on them), at a pinned instant: call `world_build()` inside
`time_machine.travel(NOW)`.

Every customer's name, e-mail and phone are unique words, so finding one in a response
means that customer's data is in it (`Person.needles`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fideliza.accounts.models import Role, User
from fideliza.accounts.services import Actor
from fideliza.automations.services import automation_save, automations_run
from fideliza.cadences.services import cadence_rule_save, cadences_run
from fideliza.campaigns.services import MessageContent, campaign_create, campaign_launch
from fideliza.complaints.services import Filing, complaint_file
from fideliza.customers.contacts import contact_create
from fideliza.customers.models import Customer, MatchCandidate
from fideliza.customers.privacy import dsr_open
from fideliza.engagement.services import MessageRequest, messages_queue, suppression_add
from fideliza.followups.models import FollowUp
from fideliza.insights.services import snapshot_recompute
from fideliza.interactions.services import NextStep, interaction_log
from fideliza.loyalty.coupons import coupon_create
from fideliza.loyalty.models import Member, Program
from fideliza.loyalty.referrals import referral_register
from fideliza.sales.models import Order
from fideliza.segments.models import Segment
from fideliza.segments.services import segment_create, segment_refresh, segment_static_add
from fideliza.surveys.models import Invitation, Survey
from fideliza.surveys.services import (
    response_answer,
    response_for_invitation,
    survey_attach,
    survey_content,
    survey_from_template,
)
from tests.factories.catalog import product_make
from tests.factories.customers import consent_grant, customer_make
from tests.factories.loyalty import member_make, points_give, program_make
from tests.factories.sales import order_make, return_make, store_make

MADRID = ZoneInfo("Europe/Madrid")
NOW = dt.datetime(2026, 6, 10, 11, 0, tzinfo=MADRID)
PASSWORD = "clave-segura-1"

# (first name, last name, e-mail local part, phone): words no other test data uses.
PEOPLE = {
    "rep_ana": [("Aurelio", "Quintanar", "aurelio.quintanar", "+34611000101"),
                ("Amparo", "Villalba", "amparo.villalba", "+34611000202")],
    "rep_bruno": [("Bonifacio", "Zurbaran", "bonifacio.zurbaran", "+34622000303"),
                  ("Berenguela", "Oyarzun", "berenguela.oyarzun", "+34622000404")],
}
UNASSIGNED = ("Nuria", "Sinasignar", "nuria.sinasignar", "+34633000505")


@dataclass
class Person:
    customer: Customer
    orders: list[Order] = field(default_factory=list)
    member: Member | None = None
    followup: FollowUp | None = None

    @property
    def needles(self) -> dict[str, str]:
        """What identifies this customer in a page, a JSON document or a file."""
        c = self.customer
        return {"email": c.email, "phone": c.phone, "national phone": c.phone[3:],
                "first name": c.first_name, "last name": c.last_name}


@dataclass
class Rep:
    user: User
    people: list[Person]

    @property
    def customer_ids(self) -> set[int]:
        return {p.customer.pk for p in self.people}


@dataclass
class World:
    owner: User
    reps: dict[str, Rep]
    unassigned: Person
    program: Program
    static_segment: Segment
    dynamic_segment: Segment
    objects: dict[str, Any]

    @property
    def a(self) -> Rep:
        return self.reps["rep_ana"]

    @property
    def b(self) -> Rep:
        return self.reps["rep_bruno"]

    def not_theirs(self, rep: Rep) -> list[Person]:
        """The customers `rep` must not see: the other representatives' and the unassigned."""
        return [p for other in self.reps.values() if other is not rep for p in other.people] + [self.unassigned]


def _person(actor: Actor, spec: tuple[str, str, str, str], *, at: dt.datetime) -> Person:
    first, last, local, phone = spec
    customer = customer_make(actor=actor, first_name=first, last_name=last, email=f"{local}@example.com",
                             phone=phone, city="Sevilla", country="ES")
    consent_grant(customer, at=at, channel="email")
    consent_grant(customer, at=at, channel="sms")
    return Person(customer=customer)


def world_build(owner: User) -> World:
    """The business described in the module docstring (clock pinned at NOW by the caller)."""
    system = Actor.system("tests")
    long_ago = NOW - dt.timedelta(days=400)
    store_make("CENTRO", "Tienda Centro", city="Sevilla")
    drill = product_make(sku="TAL-9", name="Taladro", list_price="100.00", unit_cost=Decimal("60.00"))
    program = program_make(name="Club Martillo")
    reps: dict[str, Rep] = {}
    for username, specs in PEOPLE.items():
        user = User.objects.create_user(username=username, password=PASSWORD, role=Role.SALES_REP)
        people = [_person(Actor.of(user), spec, at=long_ago) for spec in specs]
        reps[username] = Rep(user=user, people=people)
    unassigned = _person(system, UNASSIGNED, at=long_ago)
    everyone = [p for rep in reps.values() for p in rep.people] + [unassigned]

    for i, person in enumerate(everyone):
        person.member = member_make(person.customer, program, at=long_ago)
        for days in (300, 120, 20):
            person.orders.append(order_make(person.customer, placed_at=NOW - dt.timedelta(days=days + i),
                                            items=[(drill, 1)], store="CENTRO"))
        return_make(person.orders[0], returned_at=NOW - dt.timedelta(days=290 + i), line_quantities={1: 1})
        points_give(person.member, 50)
        # A call logged by the customer's representative (or the owner), with its next step.
        executive = person.customer.account_executive or owner
        logged = interaction_log(actor=Actor.of(executive), customer=person.customer, kind="call",
                                 occurred_at=NOW - dt.timedelta(days=2), outcome="reached",
                                 text=f"Llamada a {person.customer.first_name}",
                                 next_step=NextStep(title=f"Volver a llamar a {person.customer.first_name}",
                                                    due_at=NOW + dt.timedelta(days=3)))
        person.followup = logged.next_followup
        # A contact person with consent of their own (GET /customers/{id}/contacts).
        contact_create(actor=Actor.of(executive), customer=person.customer,
                       data={"name": f"Contacto de {person.customer.first_name}",
                             "email": f"contacto.{person.customer.email}"}, consents={"email": True})
        # A complaint in the book, taken at the counter (its copy not sent: the world's
        # messages are the ones above).
        complaint_file(actor=system, channel="counter", send_copy=False, filing=Filing(
            rules="ES", subdivision="AN", kind="queja", name=person.customer.display_name,
            email=person.customer.email, description=f"Queja de {person.customer.first_name} por la espera"))
        coupon_create(actor=system, name=f"Cupón de {person.customer.first_name}", value=Decimal("5.00"),
                      customer=person.customer, valid_until=NOW + dt.timedelta(days=30))
        messages_queue([MessageRequest(customer_id=person.customer.pk, channel=channel, kind="transactional",
                                       source="tests:world", dedupe_key=f"world:{person.customer.pk}:{channel}",
                                       subject="Su ticket", body_text="Gracias por su compra")
                        for channel in ("email", "sms")], now=NOW)

    # Each representative's second customer came through their first customer's code.
    for rep in reps.values():
        first, second = rep.people
        assert first.member is not None
        referral_register(code=first.member.referral_code, customer=second.customer, actor=system,
                          at=NOW - dt.timedelta(days=100))

    static_segment = segment_create(user=owner, name="Lista de todos", kind="static")
    segment_static_add(segment=static_segment, customer_ids=[p.customer.pk for p in everyone])
    dynamic_segment = segment_create(user=owner, name="Clientes de Sevilla",
                                     rules={"op": "and", "rules": [
                                         {"field": "orders_count", "cmp": "gte", "value": 1}]})
    segment_refresh(segment=dynamic_segment)

    campaign = campaign_create(user=owner, name="Rebajas", segment=static_segment, channels=["email"],
                               messages={"email": MessageContent(subject="Rebajas", body_text="Hola {{ nombre }}")},
                               holdout_share=Decimal(0))
    campaign_launch(campaign, now=NOW - dt.timedelta(days=10), user=owner)
    # An upcoming event for everyone, each invited through the outbox and answering sí.
    from fideliza.events.selectors import invitations_visible_to
    from fideliza.events.services import event_save, invitations_send, rsvp_answer

    event = event_save(actor=Actor.of(owner), data={
        "kind": "year_end", "title": "Jornada de fin de año", "starts_at": NOW + dt.timedelta(days=5),
        "ends_at": NOW + dt.timedelta(days=5, hours=3), "place": "Tienda Centro", "city": "Sevilla",
        "capacity": 100, "audience_segment": static_segment, "status": "published"}, now=NOW)
    invitations_send(actor=Actor.of(owner), event=event, now=NOW)
    for invitation in invitations_visible_to(owner).filter(event=event):
        rsvp_answer(invitation=invitation, answer="yes", now=NOW)
    automation = automation_save(
        actor=system,
        data={"name": "Tras la compra", "trigger_kind": "post_purchase", "channels": ["email"],
              "trigger_params": {"days_after": 20, "lookback_days": 10}, "holdout_share": 0, "is_active": True},
        steps=[{"position": 1, "email_subject": "¿Qué tal el taladro?", "email_text": "Hola {{ nombre }}"}],
        include_existing=True)
    automations_run(now=NOW)
    # Active but not run yet: its dry run lists who it would write to today.
    automation_save(
        actor=system,
        data={"name": "Cuatro meses después", "trigger_kind": "post_purchase", "channels": ["email"],
              "trigger_params": {"days_after": 120, "lookback_days": 10}, "holdout_share": 0, "is_active": True},
        steps=[{"position": 1, "email_subject": "¿Repetimos?", "email_text": "Hola {{ nombre }}"}],
        include_existing=True)

    # Suppressed after the sends above, so that the campaign and the automation reached them.
    for person in everyone:
        suppression_add(channel="email", address=person.customer.email, reason="manual", note="prueba")
        suppression_add(channel="sms", address=person.customer.phone, reason="manual", note="prueba")
        suppression_add(channel="webhook", address=person.customer.phone, reason="manual", note="prueba")

    # A contact cadence over everyone whose clock has run out (visits: nobody had one), so
    # «Perdiendo contacto» and its export list every customer, and the scheduler's follow-ups.
    cadence = cadence_rule_save(actor=system, data={
        "name": "Visita cada 90 días", "audience": "segment", "segment": static_segment, "every_days": 90,
        "kinds": ["visit"], "starts_on": NOW.date() - dt.timedelta(days=200)})
    cadences_run(now=NOW)

    run = snapshot_recompute(as_of=NOW.date() - dt.timedelta(days=1))
    survey = _survey_answered(system, everyone)

    b1, b2 = reps["rep_bruno"].people
    MatchCandidate.objects.create(customer_a=b1.customer, customer_b=b2.customer, score=0.8, reasons="prueba")
    dsr = dsr_open(actor=system, customer=b1.customer, kind="access", country="ES")
    return World(owner=owner, reps=reps, unassigned=unassigned, program=program,
                 static_segment=static_segment, dynamic_segment=dynamic_segment,
                 objects={"campaign": campaign, "automation": automation, "run": run, "dsr": dsr, "cadence": cadence,
                          "product": drill, "event": event, "survey": survey})


def _survey_answered(actor: Actor, everyone: list[Person]) -> Survey:
    """An NPS survey every customer answered with a comment that names them."""
    survey = survey_from_template(actor=actor, template="nps", name="Opinión de la tienda")
    survey_attach(source="tests:world", survey=survey)
    survey_content(source="tests:world", customer_ids=[p.customer.pk for p in everyone], now=NOW)
    score, _why, best = survey.questions.order_by("position")
    for person in everyone:
        invitation = Invitation.objects.get(survey=survey, customer=person.customer)
        response = response_for_invitation(invitation=invitation, now=NOW)
        response_answer(response=response, finish=True, now=NOW, answers={
            score.pk: "9", best.pk: f"Me atendió bien, soy {person.customer.first_name} {person.customer.last_name}"})
    return survey
