"""Admin for customer cards. Every save goes through the customer services, so it is
normalised (phones to E.164) and audited like any other change."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from fideliza.accounts.models import User
from fideliza.accounts.services import Actor
from fideliza.core.admin import ReadOnlyAdmin, ReadOnlyInline

from .exits import ExitReason, exit_reason_clean
from .models import (
    ConsentRecord,
    Customer,
    CustomerMerge,
    CustomerSourceId,
    DataSubjectRequest,
    ErasureRecord,
    MatchCandidate,
    Tag,
)
from .services import (
    EDITABLE_FIELDS,
    customer_assignment_check,
    customer_clean_data,
    customer_create,
    customer_deactivate,
    customer_update,
)


class CustomerAdminForm(forms.ModelForm):
    actor: Actor | None = None  # who saves (set per request by CustomerAdmin.get_form)

    class Meta:
        model = Customer
        fields = [*EDITABLE_FIELDS, "interests"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Ask the service's own normalisation now, so its errors land on the fields
        # instead of failing later in save_model.
        try:
            customer_clean_data({f: data.get(f) for f in EDITABLE_FIELDS if f in data})
            if self.actor is not None and "account_executive" in data:
                customer_assignment_check(self.actor, {"account_executive": data["account_executive"]},
                                          creating=self.instance.pk is None)
        except ValidationError as exc:
            for field, errors in exc.error_dict.items() if hasattr(exc, "error_dict") else [(None, exc)]:
                self.add_error(field if field in self.fields else NON_FIELD_ERRORS, errors)
        if not any(data.get(f) for f in ("first_name", "last_name", "company_name", "email", "phone")):
            raise ValidationError(
                _("Un cliente necesita al menos un nombre, una razón social, un e-mail o un teléfono.")
            )
        return data

    def _post_clean(self) -> None:
        # The service runs the model validation after normalising; the raw input is not
        # validated against the model here (a phone typed "612 34 56 78" is fine).
        pass


class SourceIdInline(ReadOnlyInline):
    model = CustomerSourceId
    fields = readonly_fields = ("source", "external_id", "created_at")
    verbose_name_plural = _("identificadores en otros sistemas")


class ConsentInline(ReadOnlyInline):
    model = ConsentRecord
    fk_name = "customer"
    fields = readonly_fields = ("recorded_at", "channel", "status", "source", "ip_address", "wording",
                                "recorded_by")
    ordering = ["-recorded_at", "-id"]


class ExitReasonForm(forms.Form):
    """Why a customer leaves: one of the fixed reasons, and a text (needed for «otro»)."""

    exit_reason = forms.ChoiceField(label=_("Motivo de la baja"), choices=[("", "—"), *ExitReason.choices])
    exit_text = forms.CharField(label=_("Comentario"), max_length=500, required=False,
                                widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["exit_reason"], data["exit_text"] = exit_reason_clean(
                data.get("exit_reason", ""), data.get("exit_text", ""), required=True)
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                self.add_error(key, errors)
        return data


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerAdminForm
    sales_reps_see_only_theirs = True  # get_queryset below (see core.admin.admin_close_to_sales_reps)
    list_display = ["display_name", "kind", "email", "phone", "city", "account_executive", "is_active",
                    "created_at"]
    list_filter = ["kind", "is_active", "preferred_channel", "account_executive"]
    search_fields = ["first_name", "last_name", "company_name", "=email", "phone", "=tax_id",
                     "=source_ids__external_id"]
    list_select_related = ["account_executive"]
    autocomplete_fields = ["interests"]
    readonly_fields = ["merged_into", "is_active", "created_at", "updated_at"]
    inlines = [SourceIdInline, ConsentInline]
    actions = ["deactivate"]
    show_full_result_count = False
    list_per_page = 50
    fieldsets = [
        (_("Identidad"), {"fields": ["kind", ("first_name", "last_name"), "company_name", "employees",
                                     "gender", "birth_date", "tax_id"]}),
        (_("Contacto y dirección"), {"fields": ["email", "phone", "address", ("postal_code", "city"),
                                               "region", "country", "timezone"]}),
        (_("Preferencias"), {"fields": ["interests", "preferred_channel", "preferred_contact_time"]}),
        (_("Captación y cuenta"), {"fields": ["acquisition_date", "acquisition_channel",
                                             "acquisition_cost", "wallet_potential",
                                             "account_executive", "notes"]}),
        (_("Estado"), {"fields": ["is_active", "merged_into", "created_at", "updated_at"]}),
    ]

    @admin.display(description=_("cliente"), ordering="last_name")
    def display_name(self, obj: Customer) -> str:
        return obj.display_name

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = cast(type[CustomerAdminForm], super().get_form(request, obj, change, **kwargs))
        form.actor = Actor.of(cast(User, request.user), via="admin")  # the services' assignment rule
        return form

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        qs = super().get_queryset(request)
        if getattr(request.user, "is_sales_rep", False):
            qs = qs.filter(account_executive=request.user)
        return qs

    def has_delete_permission(self, request: HttpRequest, obj: Customer | None = None) -> bool:
        return False  # customers are deactivated, never deleted: their sales feed the analytics

    def save_model(self, request: HttpRequest, obj: Customer, form: forms.ModelForm, change: bool) -> None:
        actor = Actor.of(cast(User, request.user), via="admin")
        data = {f: form.cleaned_data.get(f) for f in EDITABLE_FIELDS if f in form.cleaned_data}
        interests = [t.name for t in form.cleaned_data.get("interests", [])]
        if change:
            # `obj` already carries the new values; the service must compare with the stored row.
            customer_update(actor=actor, customer=Customer.objects.get(pk=obj.pk), data=data,
                            interests=interests)
        else:
            obj.pk = customer_create(actor=actor, data=data, interests=interests).pk
            obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        # Interests were set (and audited) by the service: skip form.save_m2m().
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.action(description=_("Dar de baja los clientes seleccionados"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse | None:
        """Asks why first (a page with the reasons), then deactivates: a card never leaves
        without its reason (seed 002 §2)."""
        form = ExitReasonForm(request.POST if "exit_reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            actor = Actor.of(cast(User, request.user), via="admin")
            n = 0
            for customer in queryset.filter(is_active=True):
                customer_deactivate(actor=actor, customer=customer, reason=form.cleaned_data["exit_reason"],
                                    reason_text=form.cleaned_data["exit_text"])
                n += 1
            self.message_user(request, ngettext("%(n)d cliente dado de baja.", "%(n)d clientes dados de baja.", n)
                              % {"n": n}, messages.SUCCESS)
            return None
        return TemplateResponse(request, "admin/customers/deactivate_reason.html", {
            **self.admin_site.each_context(request), "title": _("¿Por qué se dan de baja?"),
            "form": form, "customers": queryset[:100], "count": queryset.count(),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME), "opts": self.model._meta,
            "action": "deactivate"})


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(CustomerSourceId)
class CustomerSourceIdAdmin(ReadOnlyAdmin):
    list_display = ["source", "external_id", "customer", "created_at"]
    list_filter = ["source"]
    search_fields = ["=external_id"]
    list_select_related = ["customer"]
    show_full_result_count = False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ["recorded_at", "customer", "channel", "status", "source", "recorded_by"]
    list_filter = ["channel", "status"]
    search_fields = ["=customer__id", "source"]
    list_select_related = ["customer", "recorded_by"]
    date_hierarchy = "recorded_at"
    show_full_result_count = False


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyAdmin):
    """Merges are made and undone by the merge services (with their audit rows), not here."""

    list_display = ["created_at", "survivor", "duplicate", "automatic", "score", "undone_at"]
    list_filter = ["automatic", ("undone_at", admin.EmptyFieldListFilter)]
    list_select_related = ["survivor", "duplicate"]


@admin.register(MatchCandidate)
class MatchCandidateAdmin(ReadOnlyAdmin):
    list_display = ["customer_a", "customer_b", "score", "status", "created_at", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["customer_a", "customer_b"]


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(ReadOnlyAdmin):
    """Requests are opened, answered and closed by the data-subject services (deadlines, audit)."""

    list_display = ["received_at", "customer", "kind", "status", "due_date", "closed_at"]
    list_filter = ["kind", "status", "country"]
    list_select_related = ["customer"]
    date_hierarchy = "received_at"


@admin.register(ErasureRecord)
class ErasureRecordAdmin(ReadOnlyAdmin):
    list_display = ["erased_at", "customer", "erased_by", "request"]
    list_select_related = ["customer", "erased_by"]
