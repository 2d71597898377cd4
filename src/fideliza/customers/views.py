"""Customer pages: the list, creating and editing a card. Thin: parse, call one service, render.

The card itself (`customers:detail`) gathers every domain and is composed in web.customer_card.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from fideliza.accounts.http import AuthedRequest
from fideliza.accounts.services import Actor
from fideliza.core.pagination import count_capped, keyset_page

from .forms import CustomerFilterForm, CustomerForm
from .models import Customer
from .search import customer_list, customer_sort_key, customer_suggestions
from .selectors import customers_visible_to
from .services import customer_create, customer_update

PAGE_SIZE = 50
COUNT_CAP = 10_000
# A search has to test every card it counts (no index serves "contains"): count less.
SEARCH_COUNT_CAP = 1_000


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
