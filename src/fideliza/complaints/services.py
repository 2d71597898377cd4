"""Writes of the complaints book: file a complaint, move it through its states (pausing the
clock while it waits for the customer), answer it (canned answers through the outbox),
give a recovery gesture (through loyalty's services), keep exit reasons, erase.

Every writer (the public form, the counter and phone registration, the mailbox endpoint,
the staff pages, the demo) calls these functions. The caller has already checked that its
user may see the customer.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fideliza.accounts.models import User
from fideliza.accounts.services import Actor
from fideliza.catalog.models import Product
from fideliza.core.money import quantize_money
from fideliza.customers.models import Customer
from fideliza.customers.normalize import normalize_email, normalize_phone
from fideliza.customers.selectors import customers_with_email, customers_with_phone
from fideliza.customers.services import customer_create
from fideliza.engagement.models import MessageChannel, MessageKind
from fideliza.engagement.services import MessageRequest, messages_queue
from fideliza.engagement.templating import TemplateError, template_render, template_validate
from fideliza.followups.models import FollowUpOrigin, FollowUpPriority
from fideliza.followups.services import followup_create
from fideliza.loyalty.coupons import coupon_create
from fideliza.loyalty.models import CouponSource, RewardKind
from fideliza.loyalty.selectors import member_for
from fideliza.loyalty.services import default_program, member_enroll, points_adjust

from . import rules as R
from .models import (
    OPEN_STATUSES,
    TRANSITIONS,
    CannedAnswer,
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintEvent,
    ComplaintStatus,
    EventKind,
    ExitReasonRecord,
    GestureKind,
    RecoveryGesture,
    RootCause,
)

ERASED = "[suprimido]"
# The variables a complaint adds to the message templates' own (nombre, cupon, …).
TEMPLATE_VARIABLES = ("codigo", "tipo", "fecha_limite", "tienda", "libro")
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read out over the phone


def tracking_code_new(rules: R.RuleSet, at: datetime) -> str:
    """PREFIX-YEAR-XXXXXX: 31^6 ≈ 900 million per year and prefix, drawn at random (the
    public status page also asks for the e-mail, so a code alone reveals nothing)."""
    while True:
        code = f"{rules.tracking_prefix}-{R.local_date(at, rules).year}-" + "".join(
            secrets.choice(CODE_ALPHABET) for _i in range(6))
        if not Complaint.objects.filter(tracking_code=code).exists():
            return code


@dataclass(frozen=True)
class Filing:
    """What a consumer (or a person of the business for them) writes in the book."""

    rules: str
    kind: str
    name: str
    description: str
    email: str = ""
    phone: str = ""
    subdivision: str = ""
    document_number: str = ""
    address: str = ""
    item: str = ""
    amount: Decimal | None = None
    order_reference: str = ""
    request: str = ""
    store_code: str = ""
    language: str = "es"


def filing_clean(filing: Filing, *, strict: bool = True) -> dict[str, Any]:
    """The filing checked against its rule set: field-level errors in the active language.

    `strict` (the public form): every field the rule set requires. A complaint taken at the
    counter, by phone or from the mailbox is registered with what the consumer gave; staff
    complete the rest."""
    rules = R.rule_set(filing.rules)
    errors: dict[str, str] = {}
    name = " ".join(filing.name.split())
    if not name:
        errors["name"] = _("Escriba su nombre.")
    if filing.kind not in rules.kinds:
        errors["kind"] = _("Elija el tipo: %(kinds)s.") % {"kinds": ", ".join(str(lbl) for _k, lbl in rules.kind_choices())}
    description = filing.description.strip()
    if len(description) < 10:
        errors["description"] = _("Describa lo ocurrido (al menos 10 caracteres).")
    email = normalize_email(filing.email) if filing.email.strip() else ""
    if email:
        try:
            from django.core.validators import validate_email

            validate_email(email)
        except ValidationError:
            errors["email"] = _("Escriba una dirección de e-mail válida.")
    phone = ""
    if filing.phone.strip():
        phone = normalize_phone(filing.phone, rules.holiday_country or settings.FIDELIZA_PHONE_REGION) or ""
        if not phone:
            errors["phone"] = _("Escriba un número de teléfono válido.")
    if not filing.email.strip() and not filing.phone.strip():
        errors["email"] = _("Indique un e-mail o un teléfono para poder responderle.")
    subdivisions = {code for code, _label in rules.subdivisions}
    subdivision = filing.subdivision.strip().upper()
    if subdivisions:
        if subdivision and subdivision not in subdivisions:
            errors["subdivision"] = _("Elija una comunidad autónoma de la lista.")
        elif not subdivision and rules.subdivision_required and strict:
            errors["subdivision"] = _("Elija la comunidad autónoma del establecimiento.")
    else:
        subdivision = ""
    document = "".join(filing.document_number.split()).upper()
    if strict and rules.document_required and not document:
        errors["document_number"] = _("Escriba el número de su documento de identidad.")
    elif document and not (4 <= len(document) <= 20 and document.isalnum()):
        errors["document_number"] = _("El documento tiene entre 4 y 20 letras o cifras.")
    address = " ".join(filing.address.split())
    if strict and rules.address_required and not address:
        errors["address"] = _("Escriba su domicilio.")
    amount = filing.amount
    if amount is not None and (amount < 0 or amount >= Decimal("10000000000")):
        errors["amount"] = _("Escriba un importe entre 0 y 9.999.999.999,99.")
    store = None
    if filing.store_code.strip():
        from fideliza.sales.selectors import store_ids_by_code

        store_id = store_ids_by_code().get(filing.store_code.strip())
        if store_id is None:
            errors["store"] = _("Esa tienda no existe.")
        store = store_id
    for key, value, limit in (("name", name, 200), ("address", address, 300), ("item", filing.item, 200),
                              ("order_reference", filing.order_reference, 64),
                              ("description", description, 10_000), ("request", filing.request, 5_000)):
        if len(value) > limit and key not in errors:
            errors[key] = _("Demasiado largo: como máximo %(n)d caracteres.") % {"n": limit}
    if errors:
        raise ValidationError(errors)
    return {"rules": rules.code, "kind": filing.kind, "name": name, "description": description,
            "email": email, "phone": phone, "subdivision": subdivision, "document_number": document,
            "address": address, "item": " ".join(filing.item.split()),
            "amount": quantize_money(amount) if amount is not None else None,
            "order_reference": filing.order_reference.strip(), "request": filing.request.strip(),
            "store_id": store, "language": filing.language if filing.language in ("es", "en") else "es"}


def consumer_customer(*, actor: Actor, name: str, email: str, phone: str, country: str | None) -> Customer:
    """The card of the consumer: the current card with that e-mail, else with that phone,
    else a new card (no marketing consent: only service messages reach it)."""
    for found in (customers_with_email(email) if email else None, customers_with_phone(phone) if phone else None):
        if found is not None:
            card = found.filter(merged_into__isnull=True).order_by("pk").first()
            if card is not None:
                return card
    first, _sep, last = name.partition(" ")
    data: dict[str, Any] = {"first_name": first[:100], "last_name": last[:150], "email": email, "phone": phone,
                            "acquisition_channel": "libro de quejas"}
    if country:
        data["country"] = country
    # A representative's new card is theirs (customer_create assigns it), as any card they create.
    return customer_create(actor=actor, data=data, source=None)


def _event(complaint: Complaint, kind: str, *, by: User | None, at: datetime, text: str = "",
           from_status: str = "", to_status: str = "", message_id: int | None = None) -> ComplaintEvent:
    return ComplaintEvent.objects.create(complaint=complaint, kind=kind, by=by, at=at, text=text,
                                         from_status=from_status, to_status=to_status, message_id=message_id)


def complaint_context(complaint: Complaint, **extra: Any) -> dict[str, Any]:
    """The variables of a canned answer and of the consumer's copy."""
    rules = complaint.rule_set
    due = (complaint.due_at.astimezone(R.zone_of(rules)) - timedelta(microseconds=1)).date() \
        if complaint.due_at else None
    context = {
        "nombre": complaint.name.split(" ")[0] if complaint.name else "",
        "nombre_completo": complaint.name,
        "codigo": complaint.tracking_code,
        "tipo": str(R.KIND_LABELS.get(complaint.kind, complaint.kind)),
        "fecha_limite": due,
        "tienda": complaint.store.name if complaint.store_id and complaint.store else "",
        "libro": str(rules.book),
        "cupon": "",
    }
    context.update(extra)
    return context


def _send(complaint: Complaint, *, subject: str, body: str, key: str, now: datetime) -> int | None:
    """A transactional e-mail (or SMS without e-mail) to the consumer, through the outbox."""
    channel = MessageChannel.EMAIL if complaint.email or complaint.customer.email else MessageChannel.SMS
    [decision] = messages_queue([MessageRequest(
        customer_id=complaint.customer_id, channel=channel, kind=MessageKind.TRANSACTIONAL,
        source=f"complaint:{complaint.pk}", dedupe_key=f"complaint:{complaint.pk}:{key}"[:200],
        subject=subject[:300], body_text=body, tracking=False)], now=now)
    return decision.message_id


def _copy_text(complaint: Complaint) -> tuple[str, str]:
    rules = complaint.rule_set
    assert complaint.due_at is not None  # a new complaint's clock runs
    due = (complaint.due_at.astimezone(R.zone_of(rules)) - timedelta(microseconds=1)).date()
    with translation.override(complaint.language):
        subject = _("%(book)s: copia de su %(kind)s %(code)s") % {
            "book": rules.book, "kind": str(R.KIND_LABELS[complaint.kind]).lower(), "code": complaint.tracking_code}
        lines = [
            _("Hola, %(name)s:") % {"name": complaint.name},
            "",
            _("Hemos registrado su %(kind)s en nuestro %(book)s.") % {
                "kind": str(R.KIND_LABELS[complaint.kind]).lower(), "book": rules.book},
            f"{rules.tracking_label}: {complaint.tracking_code}",
            _("Fecha de recepción: %(date)s") % {"date": R.local_date(complaint.received_at, rules).isoformat()},
            _("Le responderemos a más tardar el %(date)s (%(days)d días hábiles).") % {
                "date": due.isoformat(), "days": rules.term_days(complaint.subdivision)},
            "",
            _("Detalle:"),
            complaint.description,
        ]
        if complaint.request:
            lines += ["", _("Su pedido:"), complaint.request]
        if complaint.amount is not None:
            lines += ["", _("Importe reclamado: %(amount)s %(currency)s") % {
                "amount": complaint.amount, "currency": complaint.currency}]
        lines += ["", str(rules.legal_note), "", settings.FIDELIZA_BUSINESS_NAME]
    return subject, "\n".join(lines)


def _first_responder(customer: Customer) -> User | None:
    return customer.account_executive if customer.account_executive_id else None


@transaction.atomic
def complaint_file(*, actor: Actor, filing: Filing, channel: str = ComplaintChannel.WEB,
                   now: datetime | None = None, category: ComplaintCategory | None = None,
                   send_copy: bool = True) -> Complaint:
    """Register a complaint: a tracking code, its deadlines under its rule set, the customer
    it belongs to, a «Mi día» follow-up for the responsible person and the consumer's copy
    through the outbox, all in one transaction."""
    now = now or timezone.now()
    clean = filing_clean(filing, strict=channel == ComplaintChannel.WEB)
    rules = R.rule_set(clean["rules"])
    if channel not in ComplaintChannel.values:
        raise ValidationError({"channel": _("Canal desconocido.")})
    customer = consumer_customer(actor=actor, name=clean["name"], email=clean["email"], phone=clean["phone"],
                                 country=rules.holiday_country)
    if actor.user is not None and actor.user.is_sales_rep and customer.account_executive_id != actor.user.pk:
        raise ValidationError({"email": _("Ese cliente es de otro representante: pida a su responsable que "
                                          "registre la queja.")}, code="not_visible")
    store_id = clean.pop("store_id")
    complaint = Complaint(
        tracking_code=tracking_code_new(rules, now), channel=channel, customer=customer, store_id=store_id,
        category=category, received_at=now, created_by=actor.user,
        assignee=_first_responder(customer) or (actor.user if actor.user and actor.user.is_active else None),
        due_at=R.due_at(now, rules.term_days(clean["subdivision"]), rules, clean["subdivision"]),
        first_response_due_at=R.due_at(now, rules.first_response_days, rules, clean["subdivision"]),
        **clean)
    complaint.full_clean()
    complaint.save()
    _event(complaint, EventKind.FILED, by=actor.user, at=now, to_status=ComplaintStatus.NEW)
    followup = followup_create(
        actor=actor if actor.user else Actor.system("complaints"), customer=customer,
        title=_("Atender %(kind)s %(code)s") % {"kind": str(R.KIND_LABELS[complaint.kind]).lower(),
                                                "code": complaint.tracking_code},
        due_at=complaint.first_response_due_at or now, assignee=complaint.assignee,
        assignee_role="" if complaint.assignee else "support", priority=FollowUpPriority.HIGH,
        notes=complaint.description[:2000], origin_kind=FollowUpOrigin.COMPLAINT, origin_id=complaint.pk)
    complaint.followup_id = followup.pk
    complaint.save(update_fields=["followup_id"])
    if send_copy:
        subject, body = _copy_text(complaint)
        message_id = _send(complaint, subject=subject, body=body, key="copy", now=now)
        _event(complaint, EventKind.ANSWER, by=None, at=now, text=subject, message_id=message_id)
    return complaint


def _locked(complaint: Complaint) -> Complaint:
    assert complaint.pk is not None
    return Complaint.objects.select_for_update(of=("self",)).select_related("customer", "store").get(pk=complaint.pk)


def _pause(row: Complaint, now: datetime) -> None:
    rules = row.rule_set
    if row.due_at is not None:
        row.paused_days = R.remaining_days(now, row.due_at, rules, row.subdivision)
        row.due_at = None
    if row.first_response_at is None and row.first_response_due_at is not None:
        row.paused_first_days = R.remaining_days(now, row.first_response_due_at, rules, row.subdivision)
        row.first_response_due_at = None


def _resume(row: Complaint, now: datetime) -> None:
    rules = row.rule_set
    if row.paused_days is not None:
        row.due_at = R.resumed_due_at(row.paused_days, now, rules, row.subdivision)
        row.paused_days = None
    if row.paused_first_days is not None:
        row.first_response_due_at = R.resumed_due_at(row.paused_first_days, now, rules, row.subdivision)
        row.paused_first_days = None


@transaction.atomic
def complaint_transition(*, actor: Actor, complaint: Complaint, to: str, note: str = "",
                         resolution: str = "", now: datetime | None = None) -> Complaint:
    """Move a complaint to `to` along TRANSITIONS. Waiting for the customer stops both
    clocks (the business days left are kept); leaving it restarts them from that day.
    Resolving needs the resolution; reopening a resolved or closed one clears its end."""
    now = now or timezone.now()
    row = _locked(complaint)
    if to not in TRANSITIONS.get(row.status, ()):
        raise ValidationError({"status": _("Una queja «%(from)s» no puede pasar a «%(to)s».") % {
            "from": row.get_status_display(), "to": ComplaintStatus(to).label if to in ComplaintStatus.values else to}},
            code="transition")
    before = row.status
    if to == ComplaintStatus.RESOLVED:
        resolution = resolution.strip()
        if not resolution:
            raise ValidationError({"resolution": _("Escriba cómo se resolvió.")}, code="required")
        row.resolution, row.resolved_at = resolution, now
    if before == ComplaintStatus.WAITING:
        _resume(row, now)
    if to == ComplaintStatus.WAITING:
        _pause(row, now)
    if to == ComplaintStatus.CLOSED:
        row.closed_at = now
    if to == ComplaintStatus.IN_PROGRESS and before in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
        row.resolved_at = row.closed_at = None  # reopened: the clock of the original term goes on
    row.status = to
    row.full_clean()
    row.save()
    _event(row, EventKind.STATUS, by=actor.user, at=now, from_status=before, to_status=to,
           text=(resolution if to == ComplaintStatus.RESOLVED else note).strip())
    if to in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED) and row.followup_id:
        _followup_done(actor, row)
    if to == ComplaintStatus.RESOLVED:
        _satisfaction_survey(row, now)
    return row


def _satisfaction_survey(row: Complaint, now: datetime) -> None:
    """Seed 002 §5: ask how the resolution went. The open survey made from the «CSAT tras
    una queja» template, sent once per complaint through the outbox (consent and budget
    apply); nothing when the business has no such survey open."""
    from fideliza.surveys.services import survey_for_template, survey_invite

    if not getattr(settings, "FIDELIZA_COMPLAINTS_CSAT", True) or row.customer_id is None:
        return
    survey = survey_for_template("csat_complaint")
    if survey is None:
        return
    message_id = survey_invite(
        survey=survey, customer_id=row.customer_id, source=f"complaint:{row.pk}:csat", now=now,
        subject=_("¿Cómo resolvimos su %(kind)s %(code)s?") % {"kind": str(R.KIND_LABELS[row.kind]).lower(),
                                                             "code": row.tracking_code},
        intro=_("Hemos dado por resuelta su %(kind)s %(code)s. ¿Nos dice en un minuto cómo lo hicimos?")
        % {"kind": str(R.KIND_LABELS[row.kind]).lower(), "code": row.tracking_code})
    if message_id is not None:
        _event(row, EventKind.ANSWER, by=None, at=now, text=_("Encuesta de satisfacción enviada"),
               message_id=message_id)


def _followup_done(actor: Actor, row: Complaint) -> None:
    from fideliza.followups.selectors import followups_open_of
    from fideliza.followups.services import followup_complete

    if row.followup_id is None:
        return
    for followup in followups_open_of(row.customer_id).filter(pk=row.followup_id):
        followup_complete(actor=actor, followup=followup, outcome=_("Queja %(code)s resuelta.") % {
            "code": row.tracking_code})


@transaction.atomic
def complaint_classify(*, actor: Actor, complaint: Complaint, category: ComplaintCategory | None,
                       root_cause: RootCause | None, assignee: User | None = None,
                       now: datetime | None = None) -> Complaint:
    """Set the category, the root cause and (optionally) the responsible person."""
    row = _locked(complaint)
    if assignee is not None and assignee.is_sales_rep and row.customer.account_executive_id != assignee.pk:
        raise ValidationError({"assignee": _("Un representante solo atiende quejas de sus propios clientes.")})
    row.category, row.root_cause = category, root_cause
    if assignee is not None and assignee.pk != row.assignee_id:
        row.assignee = assignee
        _event(row, EventKind.ASSIGN, by=actor.user, at=now or timezone.now(),
               text=assignee.get_full_name() or assignee.get_username())
    row.save()
    return row


@transaction.atomic
def complaint_note(*, actor: Actor, complaint: Complaint, text: str, now: datetime | None = None) -> ComplaintEvent:
    if not text.strip():
        raise ValidationError({"text": _("Escriba la nota.")}, code="required")
    return _event(complaint, EventKind.NOTE, by=actor.user, at=now or timezone.now(), text=text.strip())


@transaction.atomic
def complaint_answer(*, actor: Actor, complaint: Complaint, subject: str, body: str,
                     canned: CannedAnswer | None = None, now: datetime | None = None) -> ComplaintEvent:
    """Send an answer to the consumer (a transactional message through the outbox). `subject`
    and `body` are templates with the complaint's variables (a canned answer's, or typed).
    The first answer stops the first-response timer; a new complaint moves to «en curso»."""
    now = now or timezone.now()
    row = _locked(complaint)
    if not subject.strip() or not body.strip():
        raise ValidationError({"body": _("Escriba el asunto y el texto de la respuesta.")}, code="required")
    errors = {k: msgs for k, v in (("subject", subject), ("body", body)) if (msgs := template_validate(v, extra=TEMPLATE_VARIABLES))}
    if errors:
        raise ValidationError({k: v[0] for k, v in errors.items()}, code="template")
    gesture = row.gestures.filter(coupon_code__gt="").order_by("-id").first()
    context = complaint_context(row, cupon=gesture.coupon_code if gesture else "")
    try:
        rendered_subject = " ".join(template_render(subject, context).split())
        rendered_body = template_render(body, context)
    except TemplateError as exc:
        raise ValidationError({"body": str(exc)}, code="template") from exc
    n = row.events.filter(kind=EventKind.ANSWER).count()
    message_id = _send(row, subject=rendered_subject, body=rendered_body, key=f"answer:{n}", now=now)
    event = _event(row, EventKind.ANSWER, by=actor.user, at=now, text=rendered_body, message_id=message_id)
    if row.first_response_at is None:
        row.first_response_at = now
    if row.status == ComplaintStatus.NEW:
        _event(row, EventKind.STATUS, by=actor.user, at=now, from_status=row.status,
               to_status=ComplaintStatus.IN_PROGRESS, text=canned.title if canned else "")
        row.status = ComplaintStatus.IN_PROGRESS
    row.save()
    return event


def _gesture_currency() -> str:
    from fideliza.core.money import default_currency

    return default_currency()


@transaction.atomic
def gesture_give(*, actor: Actor, complaint: Complaint, kind: str, value: Decimal | None = None,
                 points: int | None = None, product: Product | None = None, valid_days: int = 60,
                 note: str = "", now: datetime | None = None) -> RecoveryGesture:
    """A recovery gesture for the complaint's customer, issued by loyalty's services, its
    cost recorded: a single-use coupon of `value` (cost: its face value), `points` (cost:
    points × the program's point value; the customer joins the program if needed), or a
    `product` as a gift coupon (cost: the product's unit cost, else its price)."""
    now = now or timezone.now()
    row = _locked(complaint)
    customer = row.customer
    label = _("Disculpas por la queja %(code)s") % {"code": row.tracking_code}
    gesture = RecoveryGesture(complaint=row, customer=customer, kind=kind, created_at=now, created_by=actor.user,
                              note=note.strip()[:300], currency=_gesture_currency())
    if kind == GestureKind.COUPON:
        if value is None or value <= 0:
            raise ValidationError({"value": _("Indique el importe del cupón.")}, code="required")
        coupon = coupon_create(actor=actor, name=label[:120], kind=RewardKind.AMOUNT, value=quantize_money(value),
                               source=CouponSource.RECOVERY, customer=customer, valid_from=now,
                               valid_until=now + timedelta(days=valid_days))
        gesture.coupon_id, gesture.coupon_code = coupon.pk, coupon.code
        gesture.value = gesture.cost = coupon.value
    elif kind == GestureKind.GIFT:
        if product is None:
            raise ValidationError({"product": _("Elija el producto que se regala.")}, code="required")
        coupon = coupon_create(actor=actor, name=label[:120], kind=RewardKind.FREE_PRODUCT, product=product,
                               source=CouponSource.RECOVERY, customer=customer, valid_from=now,
                               valid_until=now + timedelta(days=valid_days))
        gesture.coupon_id, gesture.coupon_code = coupon.pk, coupon.code
        gesture.value = product.list_price
        gesture.cost = product.unit_cost if product.unit_cost is not None else product.list_price
        gesture.currency = product.currency
    elif kind == GestureKind.POINTS:
        if points is None or points <= 0:
            raise ValidationError({"points": _("Indique cuántos puntos se regalan.")}, code="required")
        program = default_program()
        if program is None:
            raise ValidationError({"points": _("No hay un programa de puntos activo.")}, code="no_program")
        member = member_for(customer, program) or member_enroll(program=program, customer=customer, actor=actor)
        points_adjust(member=member, points=points, reason=label, actor=actor,
                      idempotency_key=f"complaint-{row.pk}-{row.gestures.count() + 1}")
        gesture.points = points
        gesture.value = gesture.cost = quantize_money(Decimal(points) * program.point_value)
    else:
        raise ValidationError({"kind": _("Tipo de gesto desconocido.")}, code="invalid")
    gesture.full_clean()
    gesture.save()
    _event(row, EventKind.GESTURE, by=actor.user, at=now,
           text=f"{gesture.get_kind_display()}: {gesture.coupon_code or gesture.points or ''}".strip(": "))
    return gesture


@transaction.atomic
def canned_answer_save(*, answer: CannedAnswer) -> CannedAnswer:
    """Create or change a canned answer; its subject and text must be valid templates."""
    errors = {}
    for field_name in ("subject", "body"):
        problems = template_validate(getattr(answer, field_name), extra=TEMPLATE_VARIABLES)
        if problems:
            errors[field_name] = problems[0]
    if errors:
        raise ValidationError(errors)
    answer.full_clean()
    answer.save()
    return answer


def exit_reason_keep(customer_id: int, source: str, reason: str, text: str, at: datetime) -> None:
    """The handler `customers.exits` calls: one row per reason given."""
    ExitReasonRecord.objects.create(customer_id=customer_id, source=source, reason=reason, text=text, at=at)


# --- erasure ---------------------------------------------------------------------------------

def complaints_erase(customer_ids: list[int], values: set[str]) -> int:
    """Erasure (customers.privacy): the book keeps each entry's code, dates, kind, states and
    figures (the register and the reports stay right) but loses everything the person wrote
    or that identifies them; open ones are closed."""
    rows = Complaint.objects.filter(customer_id__in=customer_ids)
    rows.filter(status__in=OPEN_STATUSES).update(status=ComplaintStatus.CLOSED, closed_at=timezone.now())
    ComplaintEvent.objects.filter(complaint__customer_id__in=customer_ids).exclude(
        kind=EventKind.STATUS).update(text=ERASED)
    return rows.update(name=ERASED, document_number="", email="", phone="", address="", description=ERASED,
                       request="", item="", order_reference="", resolution=ERASED)


def exit_reasons_erase(customer_ids: list[int], values: set[str]) -> int:
    """The reason stays (the Pareto stays right); the free text goes."""
    return ExitReasonRecord.objects.filter(customer_id__in=customer_ids).update(text="")
