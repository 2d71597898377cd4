"""Customer pages: list, card, create, edit, consent. Thin: parse, call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fideliza.accounts.services import Actor
from fideliza.insights.selectors import customer_insights_context
from fideliza.sales.selectors import customer_orders, customer_purchase_summary
from fideliza.web.http import AuthedRequest
from fideliza.web.pagination import count_capped, keyset_page

from .card import consent_overview, customer_audit_entries
from .forms import ConsentForm, CustomerFilterForm, CustomerForm
from .models import Customer
from .search import customer_list, customer_sort_key, customer_suggestions
from .selectors import customers_visible_to
from .services import consent_record, customer_create, customer_update

PAGE_SIZE = 50
COUNT_CAP = 10_000
# A search has to test every card it counts (no index serves "contains"): count less.
SEARCH_COUNT_CAP = 1_000
ORDERS_SHOWN = 100


@login_required
def customer_list_view(request: AuthedRequest) -> HttpResponse:
    form = CustomerFilterForm(request.GET, user=request.user)
    filters = form.filters()
    qs = customer_list(user=request.user, filters=filters)
    page = keyset_page(qs, sort=customer_sort_key(filters.sort), cursor=request.GET.get("cursor"),
                       size=PAGE_SIZE)
    if page.next_cursor is None and page.prev_cursor is None:
        count, exact = len(page.rows), True  # everything is on this page: no count query
    else:
        count, exact = count_capped(qs, SEARCH_COUNT_CAP if filters.q.strip() else COUNT_CAP)
    params = request.GET.copy()
    params.pop("cursor", None)
    context = {
        "form": form, "page": page, "count": count, "count_exact": exact,
        "base_query": params.urlencode(), "filtered": form.is_filtered(),
    }
    if request.htmx and not request.htmx.boosted:
        response = render(request, "customers/_results.html", context)
    else:
        context["cities"], context["regions"] = customer_suggestions(user=request.user)
        response = render(request, "customers/list.html", context)
    # The same URL answers with a fragment or a page: caches must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _visible_customer(request: AuthedRequest, pk: int) -> Customer:
    """The customer, or 404 when it does not exist *or* the user may not see it."""
    return get_object_or_404(customers_visible_to(request.user), pk=pk)


def _render_card(request: AuthedRequest, customer: Customer, consent_form: ConsentForm | None = None,
                 status: int = 200) -> HttpResponse:
    consents, consent_history = consent_overview(customer=customer)
    summary = customer_purchase_summary(customer_id=customer.pk)
    return render(request, "customers/detail.html", {
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
def customer_create_view(request: AuthedRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            customer = customer_create(actor=Actor.of(request.user), data=data,
                                       interests=form.interests())
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Cliente «%(name)s» dado de alta.") % {"name": customer})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/form.html", {"form": form, "customer": None},
                  status=400 if form.errors else 200)


@login_required
def customer_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    # The form works on its own copy: binding it must not touch the object the service
    # compares against, or no change would be detected (and audited).
    form = CustomerForm(request.POST or None, instance=Customer.objects.get(pk=customer.pk),
                        user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            customer_update(actor=Actor.of(request.user), customer=customer, data=data,
                            interests=form.interests())
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Ficha guardada."))
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/form.html", {"form": form, "customer": customer},
                  status=400 if form.errors else 200)


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
