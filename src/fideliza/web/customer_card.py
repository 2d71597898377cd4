"""The 360° customer card: one page that gathers every domain around one card.

The card itself, consent and its history come from customers; orders from sales; RFM, CLV
and the next best product from insights; points from loyalty and segment memberships from
segments (their template tags). It is composed here, above all of them, so that none of
those apps has to import another to show it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.http import AuthedRequest
from fideliza.customers.card import consent_overview, customer_audit_entries
from fideliza.customers.forms import ConsentForm
from fideliza.customers.models import Customer
from fideliza.customers.selectors import customers_visible_to
from fideliza.customers.services import consent_record
from fideliza.insights.selectors import customer_insights_context
from fideliza.sales.selectors import customer_orders, customer_purchase_summary

ORDERS_SHOWN = 100


def _visible_customer(request: AuthedRequest, pk: int) -> Customer:
    """The customer, or 404 when it does not exist *or* the user may not see it."""
    return get_object_or_404(customers_visible_to(request.user), pk=pk)


def _render_card(request: AuthedRequest, customer: Customer, consent_form: ConsentForm | None = None,
                 status: int = 200) -> HttpResponse:
    consents, consent_history = consent_overview(customer=customer)
    summary = customer_purchase_summary(customer_id=customer.pk)
    return render(request, "web/customer_card.html", {
        "customer": customer,
        "interests": list(customer.interests.values_list("name", flat=True)),
        "source_ids": list(customer.source_ids.order_by("source", "external_id")),
        "consents": consents,
        "consent_history": consent_history,
        "consent_form": consent_form or ConsentForm(),
        "summary": summary,
        "orders": customer_orders(customer_id=customer.pk, limit=ORDERS_SHOWN),
        "orders_shown": ORDERS_SHOWN,
        "audit": customer_audit_entries(customer=customer),
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
