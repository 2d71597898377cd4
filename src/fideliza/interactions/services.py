"""Writes of the interaction log. The caller has already checked that its user may see the customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import User
from fideliza.accounts.services import Actor
from fideliza.customers.models import Contact, Customer
from fideliza.followups.models import FollowUp, FollowUpOrigin, FollowUpPriority
from fideliza.followups.services import followup_complete, followup_create

from .models import Interaction

# A clock a little ahead (a phone, a till) is not an interaction "in the future".
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class NextStep:
    """The follow-up an interaction asks for: what, when, for whom (default: the customer's
    account executive, else whoever logs it)."""

    title: str
    due_at: datetime
    assignee: User | None = None
    priority: int = FollowUpPriority.NORMAL


@transaction.atomic
def interaction_log(
    *,
    actor: Actor,
    customer: Customer,
    kind: str,
    occurred_at: datetime | None = None,
    user: User | None = None,
    outcome: str = "",
    text: str = "",
    contact_name: str = "",
    contact: Contact | None = None,
    next_step: NextStep | None = None,
    completes: FollowUp | None = None,
    via: str = "",
    now: datetime | None = None,
) -> Interaction:
    """Log one interaction (with a company, it may name one of its `contact` persons, and
    `contact_name` stays free text); in the same transaction (all saved or nothing), mark done the
    follow-up it answers (`completes`, with the interaction's text as outcome) and create
    the follow-up of its `next_step`."""
    now = now or timezone.now()
    occurred_at = occurred_at or now
    if timezone.is_naive(occurred_at):
        raise ValidationError({"occurred_at": _("Falta la zona horaria de la fecha.")}, code="naive")
    if occurred_at > now + FUTURE_TOLERANCE:
        raise ValidationError({"occurred_at": _("Una interacción no puede ser futura: para algo que "
                                                "hay que hacer, cree un seguimiento.")}, code="future")
    if customer.merged_into_id is not None:
        raise ValidationError(_("Esta ficha se fusionó con otra: registre la interacción en la ficha que permanece."),
                              code="merged")
    if user is not None and actor.user is not None and user.pk != actor.user.pk:
        # Naming someone else (a telephony integration posting its agents' calls): a
        # representative only themselves, and nobody a representative of another's customer.
        if actor.user.is_sales_rep:
            raise ValidationError({"user": _("Un representante solo registra sus propias interacciones.")},
                                  code="not_allowed")
        if not user.is_active or (user.is_sales_rep and customer.account_executive_id != user.pk):
            raise ValidationError({"user": _("Ese usuario no puede atender a este cliente.")}, code="not_visible")
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationError({"contact": _("Esa persona de contacto es de otro cliente.")}, code="other_customer")
    interaction = Interaction(customer=customer, kind=kind, occurred_at=occurred_at,
                              user=user or actor.user, outcome=outcome, text=text.strip(), contact=contact,
                              contact_name=contact_name.strip(), via=via[:40], created_by=actor.user)
    interaction.full_clean()
    interaction.save()
    if completes is not None:
        if completes.customer_id != customer.pk:
            raise ValidationError({"completes": _("Ese seguimiento es de otro cliente.")}, code="other_customer")
        followup_complete(actor=actor, followup=completes, at=now,
                          outcome=interaction.text or interaction.get_outcome_display() or interaction.get_kind_display())
    if next_step is not None:
        if not next_step.title.strip():
            raise ValidationError({"next_step": _("Escriba qué hay que hacer en el siguiente paso.")},
                                  code="required")
        try:
            followup = followup_create(actor=actor, customer=customer, title=next_step.title,
                                       due_at=next_step.due_at, assignee=next_step.assignee,
                                       priority=next_step.priority, origin_kind=FollowUpOrigin.INTERACTION,
                                       origin_id=interaction.pk)
        except ValidationError as exc:
            # The step's fields, under "next_step", so a form or the API can point at them.
            raise ValidationError({f"next_step.{k}" if k != "__all__" else "next_step": v
                                   for k, v in exc.message_dict.items()}) from None
        interaction.next_followup = followup
        interaction.save(update_fields=["next_followup"])
    return interaction


def interactions_erase(customer_ids: list[int], values: set[str]) -> int:
    """Erasure (customers.privacy): keep kind, time and who (team figures and cadences stay
    right); drop what was said and to whom."""
    return Interaction.objects.filter(customer_id__in=customer_ids).update(text="", contact_name="")


def interactions_contact_erase(contact_ids: list[int]) -> int:
    """Erasure of contact persons (customers.contacts): the free-text name written beside
    them goes too (the key stays, to the anonymous contact)."""
    return Interaction.objects.filter(contact_id__in=contact_ids).update(contact_name="")


def interactions_contact_fold(folds: dict[int, int]) -> dict[str, list[int]]:
    """A merge folded contacts ({the duplicate's: the survivor's same person}, customers.
    contacts): the interactions that named them name the survivor's. Returns {duplicate's
    contact: the interactions re-pointed}, which `interactions_contact_fold.undo` reverses."""
    moved: dict[str, list[int]] = {}
    for duplicate, twin in folds.items():
        ids = list(Interaction.objects.filter(contact_id=duplicate).values_list("pk", flat=True))
        if ids:
            Interaction.objects.filter(pk__in=ids).update(contact_id=twin)
            moved[str(duplicate)] = ids
    return moved


def _interactions_contact_fold_undo(payload: dict[str, list[int]]) -> None:
    for duplicate, ids in payload.items():
        Interaction.objects.filter(pk__in=ids).update(contact_id=int(duplicate))


interactions_contact_fold.undo = _interactions_contact_fold_undo  # type: ignore[attr-defined]
