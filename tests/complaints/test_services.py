"""The complaints book's services: filing (code, deadlines, card, follow-up, copy through the
outbox), the status workflow with its pausing clock and append-only history, answers,
recovery gestures through loyalty, visibility, merge and erasure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from fideliza.accounts.services import Actor
from fideliza.complaints.models import (
    CannedAnswer,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    EventKind,
    RecoveryGesture,
)
from fideliza.complaints.selectors import (
    complaints_visible_to,
    overdue_count,
    overdue_customers,
    timer_of,
)
from fideliza.complaints.services import (
    complaint_answer,
    complaint_file,
    complaint_transition,
    gesture_give,
)
from fideliza.customers.merging import customer_merge
from fideliza.customers.models import Customer
from fideliza.customers.privacy import customer_erase
from fideliza.engagement.models import Message
from fideliza.followups.models import FollowUp
from fideliza.loyalty.models import Coupon, LedgerEntry
from tests.complaints.conftest import NOW, filing
from tests.factories.catalog import product_make
from tests.factories.loyalty import program_make

pytestmark = pytest.mark.django_db
LIMA = ZoneInfo("America/Lima")
UTC = ZoneInfo("UTC")


def _file(owner=None, **fields) -> Complaint:
    return complaint_file(actor=Actor.system("web") if owner is None else Actor.of(owner), filing=filing(**fields))


def test_filing_gives_a_code_the_legal_deadline_a_card_a_follow_up_and_the_copy(clock, owner):
    complaint = _file()
    assert complaint.tracking_code.startswith("LR-2026-") and len(complaint.tracking_code) == 14
    # 15 business days across Fiestas Patrias (see test_rules): Friday 14 August, Lima.
    assert complaint.due_at == datetime(2026, 8, 15, 5, 0, tzinfo=UTC)
    # First answer within 2 business days: Wednesday 22 July.
    assert complaint.first_response_due_at == datetime(2026, 7, 23, 5, 0, tzinfo=UTC)
    card = complaint.customer
    assert (card.first_name, card.last_name, card.email, card.country) == ("Rosa", "Quispe", "rosa@example.com", "PE")
    followup = FollowUp.objects.get(pk=complaint.followup_id)
    assert (followup.origin_kind, followup.origin_id, followup.customer_id) == ("complaint", complaint.pk, card.pk)
    assert followup.assignee_role == "support" and complaint.tracking_code in followup.title
    copy = Message.objects.get(source=f"complaint:{complaint.pk}")
    assert (copy.kind, copy.channel, copy.address) == ("transactional", "email", "rosa@example.com")
    assert complaint.tracking_code in copy.subject and complaint.tracking_code in copy.body_text
    assert "2026-08-14" in copy.body_text and "El taladro" in copy.body_text
    assert list(complaint.events.values_list("kind", flat=True)) == [EventKind.FILED, EventKind.ANSWER]


def test_a_known_consumer_is_matched_by_e_mail_then_by_phone(clock, people):
    by_email = _file(email="LUCIA@example.com")
    assert by_email.customer_id == people["mine"].pk
    people["theirs"].phone = "+51987654321"
    people["theirs"].save()
    by_phone = _file(email="", phone="987 654 321")
    assert by_phone.customer_id == people["theirs"].pk
    # The complaint goes to the customer's account executive.
    assert by_email.assignee_id == people["mine"].account_executive_id
    assert Customer.objects.count() == 2


def test_the_copy_is_never_queued_twice_and_needs_no_marketing_consent(clock):
    complaint = _file()
    assert Message.objects.filter(customer=complaint.customer).count() == 1
    assert not complaint.customer.consents.exists() if hasattr(complaint.customer, "consents") else True


def test_workflow_with_append_only_history_and_reopening(clock, owner):
    actor = Actor.of(owner)
    complaint = _file()
    with pytest.raises(ValidationError):
        complaint_transition(actor=actor, complaint=complaint, to=ComplaintStatus.CLOSED)
    complaint = complaint_transition(actor=actor, complaint=complaint, to=ComplaintStatus.IN_PROGRESS)
    with pytest.raises(ValidationError) as missing:
        complaint_transition(actor=actor, complaint=complaint, to=ComplaintStatus.RESOLVED)
    assert "resolution" in missing.value.message_dict
    complaint = complaint_transition(actor=actor, complaint=complaint, to=ComplaintStatus.RESOLVED,
                                     resolution="Se cambió el taladro.")
    assert complaint.resolved_at == NOW and FollowUp.objects.get(pk=complaint.followup_id).status == "done"
    complaint = complaint_transition(actor=actor, complaint=complaint, to=ComplaintStatus.CLOSED)
    complaint = complaint_transition(actor=actor, complaint=complaint, to=ComplaintStatus.IN_PROGRESS,
                                     note="El cliente volvió: el nuevo también falla.")
    assert complaint.resolved_at is None and complaint.closed_at is None
    moves = list(ComplaintEvent.objects.filter(complaint=complaint, kind=EventKind.STATUS)
                 .values_list("from_status", "to_status"))
    assert moves == [("new", "in_progress"), ("in_progress", "resolved"), ("resolved", "closed"),
                     ("closed", "in_progress")]


def test_waiting_for_the_customer_pauses_both_clocks(clock, owner):
    actor = Actor.of(owner)
    complaint = _file()
    clock.move_to(datetime(2026, 7, 24, 16, 0, tzinfo=LIMA))  # Friday: 21, 22, 24 July have run
    complaint = complaint_transition(actor=actor, complaint=complaint, to=ComplaintStatus.WAITING,
                                     note="Pedimos la boleta de compra.")
    assert complaint.due_at is None and complaint.paused_days == 12
    assert complaint.first_response_due_at is None and complaint.paused_first_days == 0
    # Paused: never overdue, whatever the date.
    clock.move_to(datetime(2026, 8, 3, 9, 0, tzinfo=LIMA))
    assert overdue_count() == 0
    assert timer_of(complaint, which="resolution", now=datetime(2026, 8, 3, 9, 0, tzinfo=LIMA)).state == "paused"
    complaint = complaint_transition(actor=actor, complaint=complaint, to=ComplaintStatus.IN_PROGRESS)
    # 12 business days from Monday 3 August: Thursday 20 August (6 August is a holiday).
    assert complaint.due_at == datetime(2026, 8, 21, 5, 0, tzinfo=UTC) and complaint.paused_days is None


def test_overdue_count_and_customers_for_the_six_moves_plan(clock, owner, people):
    late = _file(email="lucia@example.com")
    _file(email="tomas@example.com")
    clock.move_to(datetime(2026, 8, 15, 0, 30, tzinfo=LIMA))  # the term ended at midnight
    complaint_transition(actor=Actor.of(owner), complaint=late, to=ComplaintStatus.RESOLVED, resolution="Hecho")
    assert overdue_count() == 1
    assert overdue_customers() == [people["theirs"].pk]
    rep = people["mine"].account_executive
    assert overdue_count(user=rep) == 0
    assert overdue_count(user=people["theirs"].account_executive) == 1


def test_a_canned_answer_goes_through_the_outbox_and_starts_the_work(clock, owner):
    complaint = _file()
    answer = CannedAnswer.objects.create(
        title="Producto defectuoso", subject="Su {{ tipo|lower }} {{ codigo }}",
        body="Hola {{ nombre }}: cambiaremos el producto antes del {{ fecha_limite }}. Cupón: {{ cupon }}")
    gesture_give(actor=Actor.of(owner), complaint=complaint, kind="coupon", value=Decimal("10"))
    event = complaint_answer(actor=Actor.of(owner), complaint=complaint, subject=answer.subject, body=answer.body,
                             canned=answer)
    complaint.refresh_from_db()
    message = Message.objects.get(pk=event.message_id)
    coupon = Coupon.objects.get(customer=complaint.customer)
    assert message.kind == "transactional" and message.subject == f"Su reclamo {complaint.tracking_code}"
    assert message.body_text.startswith("Hola Rosa: cambiaremos el producto antes del 14/08/2026") or \
        "14" in message.body_text
    assert coupon.code in message.body_text
    assert complaint.first_response_at == NOW and complaint.status == ComplaintStatus.IN_PROGRESS
    # A second answer is a new message, not a duplicate.
    again = complaint_answer(actor=Actor.of(owner), complaint=complaint, subject="Seguimos", body="Texto {{ codigo }}")
    assert again.message_id != event.message_id


def test_a_template_error_is_a_field_error_not_a_500(clock, owner):
    complaint = _file()
    with pytest.raises(ValidationError) as bad:
        complaint_answer(actor=Actor.of(owner), complaint=complaint, subject="Hola", body="{{ nombre ")
    assert "body" in bad.value.message_dict


def test_gestures_go_through_loyalty_with_their_cost(clock, owner):
    actor = Actor.of(owner)
    complaint = _file()
    coupon = gesture_give(actor=actor, complaint=complaint, kind="coupon", value=Decimal("15.00"))
    stored = Coupon.objects.get(pk=coupon.coupon_id)
    assert (stored.customer_id, stored.source, stored.value, stored.max_uses) == (
        complaint.customer_id, "recovery", Decimal("15.00"), 1)
    assert coupon.cost == Decimal("15.00")
    program_make(point_value=Decimal("0.02"))
    points = gesture_give(actor=actor, complaint=complaint, kind="points", points=500)
    assert points.cost == Decimal("10.00")
    assert LedgerEntry.objects.filter(member__customer=complaint.customer, points=500).exists()
    drill = product_make(sku="TAL-9", name="Taladro", list_price="100.00", unit_cost=Decimal("60.00"))
    gift = gesture_give(actor=actor, complaint=complaint, kind="gift", product=drill)
    assert (gift.cost, gift.value) == (Decimal("60.00"), Decimal("100.00"))
    assert Coupon.objects.get(pk=gift.coupon_id).kind == "free_product"
    assert complaint.events.filter(kind=EventKind.GESTURE).count() == 3
    with pytest.raises(ValidationError):
        gesture_give(actor=actor, complaint=complaint, kind="coupon", value=None)


def test_a_representative_sees_only_their_customers_complaints(clock, people, rep):
    mine = _file(email="lucia@example.com")
    _file(email="tomas@example.com")
    _file(email="nadie@example.com")
    assert list(complaints_visible_to(rep)) == [mine]


def test_complaints_follow_the_merged_card(clock, owner, people):
    complaint = _file(email="otra@example.com", name="Lucía García")
    customer_merge(actor=Actor.of(owner), survivor=people["mine"], duplicate=complaint.customer)
    complaint.refresh_from_db()
    assert complaint.customer_id == people["mine"].pk


def test_erasure_keeps_the_register_not_the_words(clock, owner):
    complaint = _file()
    gesture_give(actor=Actor.of(owner), complaint=complaint, kind="coupon", value=Decimal("5"))
    customer_erase(actor=Actor.of(owner), customer=complaint.customer)
    complaint.refresh_from_db()
    assert complaint.name == "[suprimido]" and complaint.email == "" and complaint.document_number == ""
    assert "taladro" not in complaint.description and complaint.status == ComplaintStatus.CLOSED
    assert complaint.tracking_code.startswith("LR-") and complaint.due_at is not None
    assert not ComplaintEvent.objects.filter(complaint=complaint, text__icontains="Rosa").exists()
    assert RecoveryGesture.objects.filter(complaint=complaint).count() == 1


@pytest.mark.parametrize(("field", "value"), [("kind", "peticion"), ("document_number", ""), ("address", ""),
                                              ("description", "corto"), ("email", "no-es-correo")])
def test_peru_rules_refuse_what_the_book_does_not_allow(clock, field, value):
    with pytest.raises(ValidationError) as refused:
        _file(**{field: value})
    assert field in refused.value.message_dict


def test_spain_needs_the_autonomous_community_and_counts_its_holidays(owner):
    import time_machine

    with time_machine.travel(datetime(2026, 3, 30, 9, 0, tzinfo=ZoneInfo("Europe/Madrid")), tick=False):
        with pytest.raises(ValidationError) as refused:
            _file(rules="ES", kind="reclamo")
        assert "subdivision" in refused.value.message_dict
        complaint = _file(rules="ES", kind="reclamo", subdivision="AN")
    due = (complaint.due_at.astimezone(ZoneInfo("Europe/Madrid")) - timedelta(microseconds=1)).date()
    assert due == date(2026, 4, 15) and complaint.tracking_code.startswith("HR-2026-")


def test_a_representative_registers_complaints_of_their_own_customers_only(clock, rep, people):
    mine = complaint_file(actor=Actor.of(rep), channel="counter", filing=filing(email="lucia@example.com"))
    assert mine.customer_id == people["mine"].pk and mine.assignee_id == rep.pk
    newcomer = complaint_file(actor=Actor.of(rep), channel="phone", filing=filing(email="nuevo@example.com"))
    assert newcomer.customer.account_executive_id == rep.pk
    with pytest.raises(ValidationError) as refused:
        complaint_file(actor=Actor.of(rep), channel="counter", filing=filing(email="tomas@example.com"))
    assert "email" in refused.value.message_dict


def _resolve(owner, complaint, text="Se cambió el taladro."):
    actor = Actor.of(owner)
    complaint = complaint_transition(actor=actor, complaint=complaint, to=ComplaintStatus.IN_PROGRESS)
    return complaint_transition(actor=actor, complaint=complaint, to=ComplaintStatus.RESOLVED, resolution=text)


def test_resolving_asks_how_it_went_once_with_the_csat_survey(clock, owner, settings):
    """Seed 002 §5: after the resolution, the «CSAT tras una queja» survey goes to the
    complainant through the outbox — once per complaint, and only with e-mail consent."""
    from fideliza.customers.services import consent_record
    from fideliza.surveys.models import Invitation
    from fideliza.surveys.services import survey_from_template

    settings.FIDELIZA_QUIET_HOURS_START = settings.FIDELIZA_QUIET_HOURS_END = ""
    complaint = _file()
    consent_record(customer=complaint.customer, channel="email", granted=True, source="tests")
    # No such survey open: nothing is sent.
    complaint = _resolve(owner, complaint)
    assert not Message.objects.filter(source=f"complaint:{complaint.pk}:csat").exists()

    survey = survey_from_template(actor=Actor.of(owner), template="csat_complaint", name="Tras una queja")
    other = _file(email="ana.flores@example.com", name="Ana Flores")
    consent_record(customer=other.customer, channel="email", granted=True, source="tests")
    other = _resolve(owner, other)
    [message] = Message.objects.filter(source=f"complaint:{other.pk}:csat")
    assert message.customer_id == other.customer_id and other.tracking_code in message.subject
    invitation = Invitation.objects.get(survey=survey, customer=other.customer)
    assert "/e/" in message.body_text and invitation.source == f"complaint:{other.pk}:csat"
    # Reopened and resolved again: not asked twice.
    other = complaint_transition(actor=Actor.of(owner), complaint=other, to=ComplaintStatus.IN_PROGRESS,
                                 note="Volvió a fallar")
    complaint_transition(actor=Actor.of(owner), complaint=other, to=ComplaintStatus.RESOLVED, resolution="Reembolso")
    assert Message.objects.filter(source=f"complaint:{other.pk}:csat").count() == 1
    assert Invitation.objects.filter(survey=survey, customer=other.customer).count() == 1

    # Without marketing consent (a consumer the book created a card for): no survey.
    stranger = _resolve(owner, _file(email="sin.permiso@example.com", name="Pedro Ríos"))
    assert not Message.objects.filter(source=f"complaint:{stranger.pk}:csat").exists()
    assert not Invitation.objects.filter(survey=survey, customer=stranger.customer).exists()
