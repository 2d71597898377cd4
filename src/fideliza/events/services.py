"""Writes of events: create and edit, send invitations, answers (RSVP) with the waiting
list, check-in at the door (walk-ins too), reminders and cancellation.

Every message goes through engagement's one gate and outbox (`messages_queue`): the
invitation is marketing (consent, contact budget, quiet hours, topic «eventos»); what a
guest gets because of their own answer — a place freed from the waiting list, the reminder
the day before, the cancellation — is transactional, like a receipt. Each has a dedupe key
of its own («event:<id>:<what>:<customer>»), so none is ever sent twice.

Capacity is guarded by the event's row lock: every change that can add or remove a «sí»
runs while holding `SELECT … FOR UPDATE` on the event (PostgreSQL serialises them; SQLite
serialises writers anyway), so two guests answering at once never both take the last seat.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction
from fideliza.accounts.services import Actor, audit_record
from fideliza.analytics.labels import VALUE_TIERS
from fideliza.customers.models import Customer
from fideliza.customers.selectors import customer_get, customers_by_id, customers_reachable
from fideliza.customers.services import customer_create
from fideliza.engagement.services import MessageRequest, QueueDecision, messages_queue, public_url
from fideliza.followups.services import business_zone, local_day_bounds
from fideliza.insights.selectors import metrics_lookup
from fideliza.interactions.models import InteractionKind
from fideliza.interactions.services import interaction_log
from fideliza.segments.selectors import segment_customers

from .models import VIP_TIERS, Event, EventStatus, Invitation, Response

AUDIT_ENTITY = "events.event"
RSVP_SALT = "fideliza.events.rsvp"
TOPIC = "eventos"
# The door opens this long before the start (a check-in earlier than that is a mistake).
CHECKIN_OPENS = timedelta(hours=12)
# Answers a guest may give through their link.
ANSWERS = (Response.YES, Response.NO, Response.MAYBE)
# Changes of these fields make calendars update the entry (RFC 5545 SEQUENCE).
CALENDAR_FIELDS = ("title", "starts_at", "ends_at", "place", "online_url", "city", "status")
EDITABLE = ("kind", "title", "description", "starts_at", "ends_at", "place", "online_url", "city",
            "capacity", "rsvp_deadline", "audience_segment", "audience_tiers", "audience_city",
            "vip_only", "status")


def source_of(event_id: int) -> str:
    return f"event:{event_id}"


def event_id_of_source(source: str) -> int | None:
    prefix, _sep, rest = source.partition(":")
    return int(rest) if prefix == "event" and rest.isdigit() else None


# --- the personal links -------------------------------------------------------------------

def rsvp_token(event_id: int, customer_id: int) -> str:
    """A signed (event, customer) pair: the guest's personal link needs nothing stored."""
    return signing.Signer(salt=RSVP_SALT).sign_object([event_id, customer_id], compress=False)


def rsvp_token_read(token: str) -> tuple[int, int] | None:
    """The (event, customer) of a token; None for a forged, damaged or foreign one."""
    try:
        value = signing.Signer(salt=RSVP_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError, UnicodeDecodeError):
        return None
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**63 for v in value)):
        return value[0], value[1]
    return None


def rsvp_url(event_id: int, customer_id: int) -> str:
    return public_url(reverse("events_public:rsvp", kwargs={"token": rsvp_token(event_id, customer_id)}))


def ics_url(event_id: int, customer_id: int) -> str:
    return public_url(reverse("events_public:ics", kwargs={"token": rsvp_token(event_id, customer_id)}))


# --- events -----------------------------------------------------------------------------------

def _clean_event(event: Event) -> None:
    errors: dict[str, list[str]] = {}
    unknown = [t for t in event.audience_tiers if t not in VALUE_TIERS]
    if unknown:
        errors.setdefault("audience_tiers", []).append(_("Nivel de valor desconocido: %(v)s.") % {"v": ", ".join(map(str, unknown))})
    if event.ends_at and event.starts_at and event.ends_at <= event.starts_at:
        errors.setdefault("ends_at", []).append(_("El final debe ser posterior al comienzo."))
    if event.rsvp_deadline and event.starts_at and event.rsvp_deadline > event.starts_at:
        errors.setdefault("rsvp_deadline", []).append(_("El plazo para responder debe terminar antes del comienzo."))
    if event.capacity is not None and event.capacity < 1:
        errors.setdefault("capacity", []).append(_("El aforo debe ser de al menos una plaza (vacío: sin límite)."))
    if not event.place.strip() and not event.online_url.strip():
        errors.setdefault("place", []).append(_("Indique el lugar o el enlace para conectarse."))
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def event_save(*, actor: Actor, data: Mapping[str, Any], event: Event | None = None,
               now: datetime | None = None) -> Event:
    """Create an event, or change one (locked while changed). Changing the time or place
    raises the calendar sequence; a larger capacity gives its new seats to the waiting
    list, in order, each promoted guest told through the outbox."""
    now = now or timezone.now()
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise ValidationError({f: _("Campo desconocido.") for f in sorted(unknown)})
    creating = event is None
    if event is None:
        row = Event(created_by=actor.user)
        before: dict[str, Any] = {}
    else:
        row = Event.objects.select_for_update().get(pk=event.pk)
        before = {f: getattr(row, f) for f in EDITABLE}
    for name, value in data.items():
        setattr(row, name, value.strip() if isinstance(value, str) and name != "description" else value)
    if row.audience_tiers is None:
        row.audience_tiers = []
    _clean_event(row)
    row.full_clean()
    if not creating and any(before[f] != getattr(row, f) for f in CALENDAR_FIELDS):
        row.sequence += 1
    row.save()
    changes = {f: (before.get(f), getattr(row, f)) for f in EDITABLE
               if before.get(f) != getattr(row, f) and (not creating or getattr(row, f) not in ("", None, [], False))}
    audit_record(actor=actor, action=AuditAction.CREATE if creating else AuditAction.UPDATE,
                 entity=AUDIT_ENTITY, entity_id=row.pk,
                 changes={k: (_plain(a), _plain(b)) for k, (a, b) in changes.items()})
    if not creating and row.status == EventStatus.PUBLISHED:
        _promote(row, now)
    return row


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value


def audience_customers(event: Event) -> Any:
    """The cards the event is for: active, not merged, in its segment, of its value tiers
    (VIP only: Platino or Oro), in its city. A QuerySet of customers."""
    qs = customers_reachable()
    if event.audience_segment_id is not None and event.audience_segment is not None:
        qs = qs.filter(pk__in=segment_customers(event.audience_segment).values("pk"))
    tiers = set(event.audience_tiers or [])
    if event.vip_only:
        tiers = (tiers & set(VIP_TIERS)) if tiers else set(VIP_TIERS)
        if not tiers:
            return qs.none()
    if tiers:
        qs = qs.filter(**{f"{metrics_lookup('value_tier')}__in": sorted(tiers)})
    if event.audience_city.strip():
        qs = qs.filter(city__iexact=event.audience_city.strip())
    return qs


def audience_uninvited(event: Event) -> Any:
    """The audience's customers without an invitation yet (whom «Enviar invitaciones» would try)."""
    return audience_customers(event).exclude(pk__in=Invitation.objects.filter(event=event).values("customer_id"))


def _when(event: Event) -> str:
    zone = business_zone()
    start, end = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    day = date_format(start, "l j \\d\\e F \\d\\e Y" if translation.get_language() == "es" else "l, F j, Y")
    if start.date() == end.date():
        return _("%(day)s, de %(start)s a %(end)s") % {"day": day, "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}
    return _("%(start)s a %(end)s") % {"start": date_format(start, "SHORT_DATETIME_FORMAT"),
                                       "end": date_format(end, "SHORT_DATETIME_FORMAT")}


def _where(event: Event) -> str:
    parts = [p for p in (event.place, event.city) if p]
    text = ", ".join(parts)
    if event.online_url:
        text = f"{text} · {_('en línea')}: {event.online_url}" if text else f"{_('En línea')}: {event.online_url}"
    return text


@dataclass(frozen=True)
class _Text:
    subject: str
    text: str
    html: str


class _Letter:
    """The message `what` (invitation, promoted, reminder, cancelled) of one event, in the
    business's language: everything but the guest's name and links is written once, so
    writing to 20,000 guests costs one substitution each (no gettext, date formatting or
    URL resolving per guest). Build and use it under the language it is written in."""

    NAME, RSVP, ICS = "\x00name\x00", "\x00rsvp\x00", "\x00ics\x00"

    def __init__(self, event: Event, what: str) -> None:
        self.event = event
        title = {"title": event.title}
        intro = {
            "invitation": _("Le invitamos a «%(title)s».") % title,
            "promoted": _("Se ha liberado una plaza y es suya: queda confirmada su asistencia a «%(title)s».") % title,
            "reminder": _("Le recordamos que mañana le esperamos en «%(title)s».") % title,
            "cancelled": _("Lo sentimos: «%(title)s» se ha cancelado.") % title,
        }[what]
        self.subject = {
            "invitation": _("Invitación: %(title)s") % title,
            "promoted": _("Tiene plaza: %(title)s") % title,
            "reminder": _("Mañana: %(title)s") % title,
            "cancelled": _("Cancelado: %(title)s") % title,
        }[what][:300]
        deadline = date_format(event.deadline.astimezone(business_zone()), "SHORT_DATETIME_FORMAT")
        when, where = _when(event), _where(event)
        hello = _("Hola %(name)s:") % {"name": self.NAME}
        lines = [hello, "", intro, "", f"{_('Cuándo')}: {when}", f"{_('Dónde')}: {where}"]
        if event.description and what in ("invitation", "promoted"):
            lines += ["", event.description.strip()]
        if what != "cancelled":
            ask = (_("¿Vendrá? Responda sí, no o quizá aquí (puede cambiar su respuesta hasta el %(deadline)s):")
                   % {"deadline": deadline}) if what == "invitation" else _("Si no puede venir, díganoslo aquí:")
            lines += ["", ask, self.RSVP, "", f"{_('Añadir a su calendario')}: {self.ICS}"]
        self.text = "\n".join(lines) + "\n"
        html_lines = [f"<p>{escape(hello)}</p>", f"<p><strong>{escape(intro)}</strong></p>",
                      f"<p>{escape(_('Cuándo'))}: {escape(when)}<br>{escape(_('Dónde'))}: {escape(where)}</p>"]
        if event.description and what in ("invitation", "promoted"):
            html_lines.append(f"<p>{escape(event.description.strip())}</p>".replace("\n", "<br>"))
        if what != "cancelled":
            html_lines.append(f'<p><a href="{self.RSVP}">{escape(_("Responder"))}</a> · '
                              f'<a href="{self.ICS}">{escape(_("Añadir a su calendario"))}</a></p>')
        self.html = "<html><body>" + "".join(html_lines) + "</body></html>"
        # The links of one guest differ only by the token: resolved once.
        self.rsvp_base = public_url(reverse("events_public:rsvp", kwargs={"token": "TOKEN"}))
        self.ics_base = public_url(reverse("events_public:ics", kwargs={"token": "TOKEN"}))

    def to(self, customer: Customer) -> _Text:
        token = rsvp_token(self.event.pk, customer.pk)
        name = customer.first_name or customer.display_name
        rsvp, ics = self.rsvp_base.replace("TOKEN", token), self.ics_base.replace("TOKEN", token)
        text = self.text.replace(self.NAME, name).replace(self.RSVP, rsvp).replace(self.ICS, ics)
        html = (self.html.replace(escape(self.NAME), escape(name)).replace(self.RSVP, escape(rsvp))
                .replace(self.ICS, escape(ics)))
        return _Text(subject=self.subject, text=text, html=html)


def _requests(event: Event, customer_ids: Iterable[int], what: str, kind: str) -> list[MessageRequest]:
    cards = customers_by_id(customer_ids)
    requests = []
    with translation.override(settings.LANGUAGE_CODE):
        letter = _Letter(event, what)
        for cid in sorted(cards):
            body = letter.to(cards[cid])
            requests.append(MessageRequest(
                customer_id=cid, channel="email", kind=kind, source=source_of(event.pk),
                dedupe_key=f"event:{event.pk}:{what}:{cid}", subject=body.subject, body_text=body.text,
                body_html=body.html, topic=TOPIC if kind == "marketing" else "", over_budget="skip"))
    return requests


@dataclass
class SendSummary:
    invited: int = 0
    already: int = 0
    not_sent: Counter[str] = field(default_factory=Counter)  # DecisionReason value -> count

    @property
    def not_sent_total(self) -> int:
        return sum(self.not_sent.values())


def _open_for_answers(event: Event, now: datetime) -> None:
    if event.status != EventStatus.PUBLISHED:
        raise ValidationError(_("Publique el evento antes de invitar."), code="not_published")
    if now >= event.deadline:
        raise ValidationError(_("El plazo para responder ya terminó."), code="deadline_passed")


@transaction.atomic
def invitations_send(*, actor: Actor, event: Event, now: datetime | None = None,
                     customer_ids: Iterable[int] | None = None) -> SendSummary:
    """Invite the event's audience (or `customer_ids` of it) who are not invited yet.

    One `messages_queue` call for all of them: customers the gate lets through (queued, or
    deferred past the quiet hours) get their invitation row; the others are counted by
    reason and get none, so a later run tries them again."""
    now = now or timezone.now()
    event = Event.objects.select_for_update(of=("self",)).select_related("audience_segment").get(pk=event.pk)
    _open_for_answers(event, now)
    audience = audience_customers(event)
    if customer_ids is not None:
        audience = audience.filter(pk__in=list(customer_ids))
    invited = set(Invitation.objects.filter(event=event).values_list("customer_id", flat=True))
    ids = [cid for cid in audience.order_by("pk").values_list("pk", flat=True) if cid not in invited]
    summary = SendSummary(already=len(invited))
    if not ids:
        return summary
    decisions: list[QueueDecision] = messages_queue(_requests(event, ids, "invitation", "marketing"), now=now)
    rows = []
    for d in decisions:
        if d.status in ("queued", "deferred", "duplicate"):
            rows.append(Invitation(event=event, customer_id=d.request.customer_id, invited_at=now,
                                   invited_by=actor.user, delivery=d.status, delivery_reason=d.reason[:40]))
        else:
            summary.not_sent[d.reason] += 1
    Invitation.objects.bulk_create(rows, batch_size=1000)
    summary.invited = len(rows)
    audit_record(actor=actor, action=AuditAction.BULK_CREATE, entity=AUDIT_ENTITY, entity_id=event.pk,
                 context={"invited": summary.invited, "not_sent": dict(summary.not_sent)})
    return summary


# --- answers and the waiting list ----------------------------------------------------------------

def _confirmed(event: Event) -> int:
    return Invitation.objects.filter(event=event, response=Response.YES).count()


def _notify(event: Event, customer_ids: list[int], what: str, now: datetime) -> list[QueueDecision]:
    if not customer_ids:
        return []
    return messages_queue(_requests(event, customer_ids, what, "transactional"), now=now)


def _promote(event: Event, now: datetime) -> list[Invitation]:
    """Give free seats to the waiting list, first come first served, and tell each promoted
    guest. Precondition: the caller holds the event's row lock (`select_for_update`)."""
    if event.status != EventStatus.PUBLISHED or now >= event.starts_at:
        return []
    waiting = Invitation.objects.filter(event=event, response=Response.WAITING).order_by("waitlisted_at", "id")
    if event.capacity is not None:
        free = event.capacity - _confirmed(event)
        if free <= 0:
            return []
        waiting = waiting[:free]
    promoted = list(waiting)
    for row in promoted:
        row.response, row.promoted_at, row.waitlisted_at = Response.YES, now, None
        row.save(update_fields=["response", "promoted_at", "waitlisted_at"])
    _notify(event, [r.customer_id for r in promoted], "promoted", now)
    return promoted


@dataclass(frozen=True)
class RsvpResult:
    invitation: Invitation
    changed: bool
    promoted: list[Invitation]


@transaction.atomic
def rsvp_answer(*, invitation: Invitation, answer: str, now: datetime | None = None,
                actor: Actor | None = None) -> RsvpResult:
    """Record a guest's answer: «sí» takes a seat, or a place on the waiting list when the
    event is full; leaving a seat («no», «quizá») promotes the first on the list.

    Through the guest's link (`actor` None) only until the deadline; staff recording an
    answer given by phone (`actor`) until the event ends."""
    now = now or timezone.now()
    if answer not in ANSWERS:
        raise ValidationError({"answer": _("Respuesta desconocida.")}, code="invalid")
    event = Event.objects.select_for_update().get(pk=invitation.event_id)
    row = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if event.status == EventStatus.CANCELLED:
        raise ValidationError(_("Este evento se ha cancelado."), code="cancelled")
    if event.status != EventStatus.PUBLISHED:
        raise ValidationError(_("Este evento todavía no admite respuestas."), code="not_published")
    if now >= event.ends_at:
        raise ValidationError(_("Este evento ya terminó."), code="ended")
    if actor is None and now >= event.deadline:
        raise ValidationError(_("El plazo para responder terminó el %(when)s.") % {
            "when": date_format(event.deadline.astimezone(business_zone()), "SHORT_DATETIME_FORMAT")},
            code="deadline_passed")
    previous = row.response
    if answer == Response.YES and previous in (Response.YES, Response.WAITING):
        return RsvpResult(row, False, [])
    if answer == previous:
        return RsvpResult(row, False, [])
    if answer == Response.YES:
        if event.capacity is not None and _confirmed(event) >= event.capacity:
            row.response, row.waitlisted_at = Response.WAITING, now
        else:
            row.response, row.waitlisted_at = Response.YES, None
    else:
        row.response, row.waitlisted_at = answer, None
    row.responded_at = now
    row.full_clean()
    row.save(update_fields=["response", "waitlisted_at", "responded_at"])
    promoted = _promote(event, now) if previous == Response.YES else []
    if actor is not None:
        audit_record(actor=actor, action=AuditAction.UPDATE, entity="events.invitation", entity_id=row.pk,
                     changes={"response": (previous, row.response)})
    return RsvpResult(row, True, promoted)


def invitation_for(event_id: int, customer_id: int) -> Invitation | None:
    """The invitation of a personal link, following the card if it was merged since."""
    qs = Invitation.objects.select_related("event", "customer")
    found = qs.filter(event_id=event_id, customer_id=customer_id).first()
    if found is None:
        customer = customer_get(customer_id)
        if customer is not None and customer.merged_into_id is not None:
            found = qs.filter(event_id=event_id, customer_id=customer.merged_into_id).first()
    return found


# --- at the door ----------------------------------------------------------------------------------

@transaction.atomic
def checkin_mark(*, actor: Actor, invitation: Invitation, now: datetime | None = None) -> Invitation:
    """Mark a guest as present (once: a second mark changes nothing) and log the attendance
    on their card as an interaction of kind «Asistencia a un evento»."""
    now = now or timezone.now()
    row = Invitation.objects.select_for_update(of=("self",)).select_related("event", "customer").get(pk=invitation.pk)
    if row.attended_at is not None:
        return row
    event = row.event
    if event.status == EventStatus.CANCELLED:
        raise ValidationError(_("Este evento se ha cancelado."), code="cancelled")
    if now < event.starts_at - CHECKIN_OPENS:
        raise ValidationError(_("La puerta abre el día del evento."), code="too_early")
    # Attendance typed in after the event (a paper list) happened at the event.
    at = now if now <= event.ends_at else event.starts_at
    interaction = interaction_log(actor=actor, customer=row.customer, kind=InteractionKind.EVENT, occurred_at=at,
                                  text=_("Asistió a «%(title)s».") % {"title": event.title}, via="evento", now=now)
    row.attended_at, row.checked_in_by, row.interaction_id = at, actor.user, interaction.pk
    row.save(update_fields=["attended_at", "checked_in_by", "interaction_id"])
    return row


@transaction.atomic
def walk_in_register(*, actor: Actor, event: Event, customer: Customer, now: datetime | None = None) -> Invitation:
    """Someone at the door without an invitation (or whose invitation is found by name):
    their invitation (a new one, marked as a walk-in) and the check-in, in one save. Walk-ins
    do not wait for a seat: they are already here."""
    now = now or timezone.now()
    event = Event.objects.select_for_update().get(pk=event.pk)
    if customer.merged_into_id is not None:
        raise ValidationError(_("Esta ficha se fusionó con otra: búsquela por el nombre de la que permanece."),
                              code="merged")
    row = Invitation.objects.filter(event=event, customer=customer).first()
    if row is None:
        row = Invitation(event=event, customer=customer, walk_in=True, response=Response.YES, responded_at=now,
                         invited_at=now, invited_by=actor.user)
        row.full_clean()
        row.save()
    return checkin_mark(actor=actor, invitation=row, now=now)


@transaction.atomic
def walk_in_new_customer(*, actor: Actor, event: Event, data: Mapping[str, Any],
                         now: datetime | None = None) -> Invitation:
    """A newcomer at the door: their card (through customers' service, so the usual rules
    and audit apply; a representative's card is theirs) and their attendance."""
    customer = customer_create(actor=actor, data=data)
    return walk_in_register(actor=actor, event=event, customer=customer, now=now)


# --- reminders and cancellation -------------------------------------------------------------------

def reminders_send(*, now: datetime | None = None) -> int:
    """The day before (business's calendar): remind every «sí» of the events starting
    tomorrow. Idempotent: each reminder has its dedupe key, so a second run (or a second
    worker) queues nothing new. Returns how many were queued now."""
    now = now or timezone.now()
    today = now.astimezone(business_zone()).date()
    start, end = local_day_bounds(today + timedelta(days=1))
    queued = 0
    for event in Event.objects.filter(status=EventStatus.PUBLISHED, starts_at__gte=start, starts_at__lt=end):
        with transaction.atomic():
            ids = list(Invitation.objects.filter(event=event, response=Response.YES)
                       .order_by("customer_id").values_list("customer_id", flat=True))
            decisions = _notify(event, ids, "reminder", now)
            queued += sum(1 for d in decisions if d.status in ("queued", "deferred"))
    return queued


@transaction.atomic
def event_cancel(*, actor: Actor, event: Event, now: datetime | None = None) -> Event:
    """Cancel an event and tell everyone who said sí, quizá or was waiting."""
    now = now or timezone.now()
    row = Event.objects.select_for_update().get(pk=event.pk)
    if row.status == EventStatus.CANCELLED:
        return row
    was_published = row.status == EventStatus.PUBLISHED
    row.status = EventStatus.CANCELLED
    row.sequence += 1
    row.save(update_fields=["status", "sequence", "updated_at"])
    audit_record(actor=actor, action=AuditAction.UPDATE, entity=AUDIT_ENTITY, entity_id=row.pk,
                 changes={"status": (EventStatus.PUBLISHED if was_published else EventStatus.DRAFT, row.status)})
    if was_published and now < row.ends_at:
        ids = list(Invitation.objects.filter(event=row, response__in=(Response.YES, Response.MAYBE, Response.WAITING))
                   .order_by("customer_id").values_list("customer_id", flat=True))
        _notify(row, ids, "cancelled", now)
    return row


def local_datetime(day: Any, at: time) -> datetime:
    """A form's date and time in the business's zone, as an instant (DST-safe)."""
    from fideliza.followups.services import local_moment

    return local_moment(day, at)
