"""The 360° customer card: one page that gathers every domain around one card.

The card itself, consent and its history come from customers; orders from sales; RFM, CLV
and the next best product from insights; points from loyalty and segment memberships from
segments (their template tags). It is composed here, above all of them, so that none of
those apps has to import another to show it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.services import Actor
from fideliza.complaints.selectors import customer_complaints
from fideliza.customers.card import consent_overview, customer_audit_entries
from fideliza.customers.contacts import (
    contact_consent_record,
    contact_create,
    contact_deactivate,
    contact_erase,
    contact_set_primary,
    contact_update,
)
from fideliza.customers.forms import ConsentForm, ContactConsentForm, ContactForm
from fideliza.customers.forms_privacy import EraseForm
from fideliza.customers.models import Channel, Contact, Customer, CustomerKind
from fideliza.customers.selectors import (
    contact_consent_history,
    contact_consents_current,
    contacts_of,
    customers_visible_to,
)
from fideliza.customers.services import consent_record
from fideliza.customers.views_privacy import PRIVACY_ROLES
from fideliza.followups.forms import FollowUpForm
from fideliza.followups.models import FollowUp
from fideliza.followups.selectors import customer_followups, followups_open_of
from fideliza.followups.services import followup_create
from fideliza.insights.selectors import customer_insights_context
from fideliza.interactions.documents import document_add, files_removed_on_error
from fideliza.interactions.forms import DocumentForm, InteractionForm
from fideliza.interactions.selectors import customer_documents
from fideliza.interactions.services import interaction_log
from fideliza.sales.selectors import customer_purchase_summary

from .timeline import KIND_NAMES, KINDS, PER_KIND, customer_timeline

ORDERS_SHOWN = PER_KIND


def _visible_customer(request: AuthedRequest, pk: int) -> Customer:
    """The customer, or 404 when it does not exist *or* the user may not see it."""
    return get_object_or_404(customers_visible_to(request.user), pk=pk)


def _open_followups(customer: Customer) -> QuerySet[FollowUp]:
    """The card's open and snoozed follow-ups, which a logged contact may mark done."""
    return followups_open_of(customer.pk)


def _may_erase(request: AuthedRequest) -> bool:
    """Erasing personal data is for the roles that answer data-subject requests."""
    return request.user.is_superuser or request.user.role in PRIVACY_ROLES


def _contacts_context(customer: Customer, *, contact_form: ContactForm | None,
                      edit_forms: dict[int, ContactForm], consent_form: ContactConsentForm | None) -> dict[str, object]:
    """The card's «Personas de contacto»: each person with their consent per channel and an
    edit form; the add form; the consent form and history."""
    contacts = list(contacts_of(customer.pk))
    consents = contact_consents_current(c.pk for c in contacts)
    rows = []
    for contact in contacts:
        current = consents.get(contact.pk, {})
        rows.append({
            "contact": contact,
            "consents": [(str(label), current.get(value)) for value, label in Channel.choices if value in current],
            "form": edit_forms.get(contact.pk) or ContactForm(prefix=f"c{contact.pk}", initial={
                f: getattr(contact, f) for f in ("name", "role", "email", "phone", "is_primary", "notes")}),
            "erase_form": EraseForm(prefix=f"s{contact.pk}"),
        })
    active = [c for c in contacts if c.is_active]
    return {
        "contacts_shown": customer.kind == CustomerKind.COMPANY or bool(contacts),
        "contact_rows": rows,
        "contacts_without_primary": bool(active) and not any(c.is_primary for c in active),
        "contact_form": contact_form or ContactForm(prefix="nuevo"),
        "contact_consent_form": consent_form or ContactConsentForm(prefix="cc", contacts=active),
        "contact_consent_history": list(contact_consent_history([c.pk for c in contacts])[:50]),
    }


def _render_card(request: AuthedRequest, customer: Customer, consent_form: ConsentForm | None = None,
                 status: int = 200, interaction_form: InteractionForm | None = None,
                 followup_form: FollowUpForm | None = None,
                 document_form: DocumentForm | None = None, contact_form: ContactForm | None = None,
                 contact_edit_forms: dict[int, ContactForm] | None = None,
                 contact_consent_form: ContactConsentForm | None = None) -> HttpResponse:
    consents, consent_history = consent_overview(customer=customer)
    summary = customer_purchase_summary(customer_id=customer.pk)
    today = timezone.localdate()
    shown = request.GET.get("ver")
    shown = shown if shown in KIND_NAMES else None
    timeline = customer_timeline(customer, kind=shown)
    return render(request, "web/customer_card.html", {
        "customer": customer,
        "interests": list(customer.interests.values_list("name", flat=True)),
        "source_ids": list(customer.source_ids.order_by("source", "external_id")),
        "consents": consents,
        "consent_history": consent_history,
        "consent_form": consent_form or ConsentForm(),
        "summary": summary,
        "timeline": timeline,
        "timeline_kinds": KINDS,
        "timeline_shown": shown,
        "timeline_orders": sum(1 for i in timeline if i.kind == "compras"),
        "orders_shown": ORDERS_SHOWN,
        "followups": customer_followups(customer_id=customer.pk),
        "interaction_form": interaction_form or InteractionForm(
            user=request.user, today=today, open_followups=_open_followups(customer),
            contacts=contacts_of(customer.pk, active_only=True),
            initial={"completes": request.GET.get("seguimiento")}),
        "interaction_open": bool(request.GET.get("seguimiento")),
        "followup_form": followup_form or FollowUpForm(user=request.user, today=today),
        "documents": customer_documents(customer_id=customer.pk),
        "document_form": document_form or DocumentForm(),
        "audit": customer_audit_entries(customer=customer),
        **_contacts_context(customer, contact_form=contact_form, edit_forms=contact_edit_forms or {},
                            consent_form=contact_consent_form),
        "may_erase_contacts": _may_erase(request),
        "complaints": customer_complaints(customer_id=customer.pk, limit=10),
        # RFM, CLV, P(alive) and next best product from the analytics snapshot.
        **customer_insights_context(customer),
    }, status=status)


@login_required
def customer_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    return _render_card(request, customer)


@login_required
@require_POST
def customer_consent(request: AuthedRequest, pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        return _render_card(request, customer, consent_form=form, status=400)
    try:
        consent_record(customer=customer, channel=form.cleaned_data["channel"],
                       granted=form.cleaned_data["granted"], source=form.cleaned_data["source"],
                       wording=form.cleaned_data["wording"], recorded_by=request.user)
    except ValidationError as exc:
        form.add_error(None, exc)
        return _render_card(request, customer, consent_form=form, status=400)
    messages.success(request, _("Consentimiento registrado."))
    return redirect(reverse("customers:detail", kwargs={"pk": customer.pk}) + "#consentimientos")


@login_required
@require_POST
def customer_interaction(request: AuthedRequest, pk: int) -> HttpResponse:
    """«Registrar contacto» on the card: the interaction and its optional next step, in one save."""
    customer = _visible_customer(request, pk)
    form = InteractionForm(request.POST, request.FILES, user=request.user, today=timezone.localdate(),
                           open_followups=_open_followups(customer),
                           contacts=contacts_of(customer.pk, active_only=True))
    if not form.is_valid():
        return _render_card(request, customer, interaction_form=form, status=400)
    data = form.cleaned_data
    try:
        # The interaction, its next step and its document: all saved, or none (nor the file).
        with files_removed_on_error(), transaction.atomic():
            interaction = interaction_log(actor=Actor.of(request.user), customer=customer, kind=data["kind"],
                                          outcome=data["outcome"], text=data["text"],
                                          contact_name=data["contact_name"], contact=data.get("contact"),
                                          next_step=form.next_step(),
                                          completes=data.get("completes"), via="web")
            if data.get("document"):
                document_add(customer=customer, upload=data["document"], user=request.user,
                             interaction=interaction)
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return _render_card(request, customer, interaction_form=form, status=400)
    if interaction.next_followup is not None:
        messages.success(request, _("Interacción registrada; siguiente paso para el %(when)s.") % {
            "when": date_format(timezone.localtime(interaction.next_followup.due_at), "SHORT_DATETIME_FORMAT")})
    else:
        messages.success(request, _("Interacción registrada."))
    return redirect(reverse("customers:detail", kwargs={"pk": customer.pk}) + "#cronologia")


@login_required
@require_POST
def customer_followup(request: AuthedRequest, pk: int) -> HttpResponse:
    """«Nuevo seguimiento» on the card."""
    customer = _visible_customer(request, pk)
    form = FollowUpForm(request.POST, user=request.user, today=timezone.localdate())
    if not form.is_valid():
        return _render_card(request, customer, followup_form=form, status=400)
    data = form.cleaned_data
    try:
        followup_create(actor=Actor.of(request.user), customer=customer, title=data["title"],
                        due_at=form.due_at(), assignee=data.get("assignee"), priority=data["priority"],
                        notes=data["notes"])
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return _render_card(request, customer, followup_form=form, status=400)
    messages.success(request, _("Seguimiento creado."))
    return redirect(reverse("customers:detail", kwargs={"pk": customer.pk}) + "#seguimientos")


@login_required
@require_POST
def customer_document(request: AuthedRequest, pk: int) -> HttpResponse:
    """«Adjuntar documento» on the card: a file kept with the card."""
    customer = _visible_customer(request, pk)
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_card(request, customer, document_form=form, status=400)
    try:
        document_add(customer=customer, upload=form.cleaned_data["file"], user=request.user,
                     description=form.cleaned_data["description"])
    except ValidationError as exc:
        form.add_error("file", exc.messages)
        return _render_card(request, customer, document_form=form, status=400)
    messages.success(request, _("Documento guardado."))
    return redirect(reverse("customers:detail", kwargs={"pk": customer.pk}) + "#documentos")


def _card_contact(customer: Customer, contact_pk: int) -> Contact:
    """One of the card's contact persons, or 404."""
    return get_object_or_404(contacts_of(customer.pk), pk=contact_pk)


def _to_contacts(customer: Customer) -> HttpResponse:
    return redirect(reverse("customers:detail", kwargs={"pk": customer.pk}) + "#contactos")


@login_required
@require_POST
def customer_contact_add(request: AuthedRequest, pk: int) -> HttpResponse:
    """«Añadir persona de contacto» on the card."""
    customer = _visible_customer(request, pk)
    form = ContactForm(request.POST, prefix="nuevo")
    if form.is_valid():
        try:
            contact_create(actor=Actor.of(request.user), customer=customer, data=form.service_data())
        except ValidationError as exc:
            form.add_service_error(exc)
    if form.errors:
        return _render_card(request, customer, contact_form=form, status=400)
    messages.success(request, _("Persona de contacto añadida."))
    return _to_contacts(customer)


@login_required
@require_POST
def customer_contact_edit(request: AuthedRequest, pk: int, contact_pk: int) -> HttpResponse:
    """Edit one contact person of the card."""
    customer = _visible_customer(request, pk)
    contact = _card_contact(customer, contact_pk)
    form = ContactForm(request.POST, prefix=f"c{contact.pk}")
    if form.is_valid():
        data = form.service_data()
        if not data["is_primary"] and not contact.is_primary:
            data.pop("is_primary")  # unticked on a non-primary contact: nothing to change
        try:
            contact_update(actor=Actor.of(request.user), contact=contact, data=data)
        except ValidationError as exc:
            form.add_service_error(exc)
    if form.errors:
        return _render_card(request, customer, contact_edit_forms={contact.pk: form}, status=400)
    messages.success(request, _("Persona de contacto guardada."))
    return _to_contacts(customer)


@login_required
@require_POST
def customer_contact_primary(request: AuthedRequest, pk: int, contact_pk: int) -> HttpResponse:
    """«Hacer principal»: the company's messages go to this person from now on."""
    customer = _visible_customer(request, pk)
    contact = _card_contact(customer, contact_pk)
    try:
        contact_set_primary(actor=Actor.of(request.user), contact=contact)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _to_contacts(customer)
    messages.success(request, _("%(name)s es ahora el contacto principal.") % {"name": contact.name})
    return _to_contacts(customer)


@login_required
@require_POST
def customer_contact_deactivate(request: AuthedRequest, pk: int, contact_pk: int) -> HttpResponse:
    """«Dar de baja»: the person left; kept with their history, no longer addressed."""
    customer = _visible_customer(request, pk)
    contact = _card_contact(customer, contact_pk)
    was_primary = contact.is_primary
    contact_deactivate(actor=Actor.of(request.user), contact=contact)
    if was_primary:
        messages.warning(request, _("%(name)s dado de baja. La empresa se queda sin contacto principal: "
                                    "no recibirá mensajes hasta que elija otro.") % {"name": contact.name})
    else:
        messages.success(request, _("%(name)s dado de baja.") % {"name": contact.name})
    return _to_contacts(customer)


@login_required
@require_POST
def customer_contact_consent(request: AuthedRequest, pk: int) -> HttpResponse:
    """A grant or withdrawal of one contact person's consent (appended, never edited)."""
    customer = _visible_customer(request, pk)
    active = list(contacts_of(customer.pk, active_only=True))
    form = ContactConsentForm(request.POST, prefix="cc", contacts=active)
    if not form.is_valid():
        return _render_card(request, customer, contact_consent_form=form, status=400)
    contact = next(c for c in active if c.pk == form.cleaned_data["contact"])
    contact_consent_record(contact=contact, channel=form.cleaned_data["channel"],
                           granted=form.cleaned_data["granted"], source=form.cleaned_data["source"],
                           wording=form.cleaned_data["wording"], recorded_by=request.user)
    messages.success(request, _("Consentimiento de %(name)s registrado.") % {"name": contact.name})
    return _to_contacts(customer)


@login_required
@require_POST
def customer_contact_erase(request: AuthedRequest, pk: int, contact_pk: int) -> HttpResponse:
    """«Suprimir sus datos»: one contact person's right to erasure (owner and support, as the
    data-subject requests); the row stays anonymous so the interactions that named them keep
    their place. Irreversible: asks for confirmation."""
    if not _may_erase(request):
        raise PermissionDenied
    customer = _visible_customer(request, pk)
    contact = _card_contact(customer, contact_pk)
    if not EraseForm(request.POST, prefix=f"s{contact.pk}").is_valid():
        messages.error(request, _("Marque la confirmación para suprimir."))
        return _to_contacts(customer)
    contact_erase(actor=Actor.of(request.user, via="web"), contact=contact)
    messages.success(request, _("Datos de la persona de contacto suprimidos."))
    return _to_contacts(customer)
