"""Forms of the customer pages. They parse input only: the services validate and write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.models import User

from .models import Channel, Customer, CustomerKind
from .search import TRISTATE_CHOICES, CustomerFilters, account_executives, sort_choices
from .services import EDITABLE_FIELDS


class CustomerForm(forms.ModelForm):
    """The card's editable fields plus interests as comma-separated text.

    Model validation is left to `customer_create`/`customer_update` (which normalise the
    phone first), so `_post_clean` does not run `full_clean` on the raw input here.
    """

    interests_text = forms.CharField(
        label=_("Intereses y aficiones"), required=False,
        help_text=_("Separados por comas, por ejemplo: jardinería, bricolaje"),
    )

    class Meta:
        model = Customer
        fields = list(EDITABLE_FIELDS)
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "acquisition_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 4}),
            "address": forms.TextInput(),
        }
        # The model's help text names the English term too; the form speaks the reader's language.
        help_texts = {"wallet_potential": _("Lo que podría gastar al año en este tipo de productos; "
                                            "sirve para calcular la cuota de cliente.")}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        executive = self.fields["account_executive"]
        assert isinstance(executive, forms.ModelChoiceField)
        executive.queryset = account_executives()
        # Replaces the method on this instance only; mypy forbids assigning to a method.
        executive.label_from_instance = lambda u: u.get_full_name() or u.get_username()  # type: ignore[method-assign,assignment]
        if user.is_sales_rep:
            # A representative's customers stay theirs: they cannot hand them to someone else.
            self.fields["account_executive"].disabled = True
        if self.instance.pk and not self.is_bound:
            self.initial["interests_text"] = ", ".join(
                self.instance.interests.values_list("name", flat=True)
            )

    SECTIONS = [
        (_("Identidad"), ["kind", "first_name", "last_name", "company_name", "employees", "gender",
                          "birth_date", "tax_id"]),
        (_("Contacto y dirección"), ["email", "phone", "address", "postal_code", "city", "region",
                                     "country", "timezone"]),
        (_("Preferencias"), ["preferred_channel", "preferred_contact_time", "interests_text"]),
        (_("Captación y cuenta"), ["acquisition_date", "acquisition_channel", "acquisition_cost",
                                   "wallet_potential", "account_executive"]),
        (_("Notas"), ["notes"]),
    ]

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names if name in self.fields])
                for legend, names in self.SECTIONS]

    def _post_clean(self) -> None:
        pass

    def service_data(self) -> dict[str, Any]:
        return {f: self.cleaned_data.get(f) for f in EDITABLE_FIELDS if f in self.cleaned_data}

    def interests(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("interests_text", "").split(",") if t.strip()]

    def add_service_error(self, error: ValidationError) -> None:
        """Attach a service's ValidationError to the fields it names (others to the form)."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else NON_FIELD_ERRORS, errors)
        else:
            self.add_error(None, error)


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(label=_("Canal"), choices=Channel.choices)
    granted = forms.TypedChoiceField(
        label=_("Consentimiento"), coerce=lambda v: v == "1",
        choices=[("1", _("Concedido")), ("0", _("Retirado"))], widget=forms.RadioSelect,
    )
    source = forms.CharField(
        label=_("Cómo se obtuvo"), max_length=100, initial=_("ficha del cliente"),
        help_text=_("Por ejemplo: en tienda, por teléfono, formulario firmado"),
    )
    wording = forms.CharField(
        label=_("Texto o versión del consentimiento"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CustomerFilterForm(forms.Form):
    """The list's GET parameters; anything invalid falls back to its default."""

    q = forms.CharField(label=_("Buscar"), required=False, max_length=200)
    city = forms.CharField(label=_("Ciudad"), required=False, max_length=100)
    region = forms.CharField(label=_("Provincia / región"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Tipo"), required=False,
                             choices=[("", _("Todos")), *CustomerKind.choices])
    executive = forms.ChoiceField(label=_("Ejecutivo de cuenta"), required=False)
    has_email = forms.ChoiceField(label=_("Con e-mail"), required=False, choices=TRISTATE_CHOICES)
    has_phone = forms.ChoiceField(label=_("Con teléfono"), required=False, choices=TRISTATE_CHOICES)
    bought = forms.ChoiceField(label=_("Compras en 12 meses"), required=False, choices=TRISTATE_CHOICES)
    status = forms.ChoiceField(label=_("Estado"), required=False, choices=[
        ("active", _("Activos")), ("inactive", _("Dados de baja")), ("all", _("Todos")),
    ])
    sort = forms.ChoiceField(label=_("Ordenar por"), required=False, choices=sort_choices)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user.is_sales_rep:
            del self.fields["executive"]
        else:
            executive = self.fields["executive"]
            assert isinstance(executive, forms.ChoiceField)
            executive.choices = [
                ("", _("Todos")), ("none", _("Sin asignar")),
                *[(str(u.pk), u.get_full_name() or u.get_username()) for u in account_executives()],
            ]

    def filters(self) -> CustomerFilters:
        self.is_valid()  # keeps the valid fields in cleaned_data even if another one is not
        data = getattr(self, "cleaned_data", {})
        defaults = CustomerFilters()
        return CustomerFilters(**{
            name: data.get(name) or getattr(defaults, name)
            for name in CustomerFilters.__dataclass_fields__
        })

    def is_filtered(self) -> bool:
        f = self.filters()
        return f != CustomerFilters(sort=f.sort)


class ContactForm(forms.Form):
    """A contact person of the card (add or edit); consent is recorded apart, append-only."""

    name = forms.CharField(label=_("Nombre y apellidos"), max_length=150)
    role = forms.CharField(label=_("Cargo"), required=False, max_length=100,
                           help_text=_("Por ejemplo: compras, gerencia, administración"))
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Teléfono"), required=False, max_length=40)
    is_primary = forms.BooleanField(label=_("Contacto principal"), required=False,
                                    help_text=_("Los mensajes a la empresa van a esta persona."))
    notes = forms.CharField(label=_("Notas"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def service_data(self) -> dict[str, Any]:
        return {f: self.cleaned_data.get(f) or ("" if f != "is_primary" else False)
                for f in ("name", "role", "email", "phone", "notes", "is_primary")}

    def add_service_error(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else NON_FIELD_ERRORS, errors)
        else:
            self.add_error(None, error)


class ContactConsentForm(ConsentForm):
    """A grant or withdrawal of one contact person's consent."""

    contact = forms.TypedChoiceField(label=_("Persona de contacto"), coerce=int, choices=())

    def __init__(self, *args: Any, contacts: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        contact = self.fields["contact"]
        assert isinstance(contact, forms.TypedChoiceField)
        contact.choices = [(c.pk, str(c)) for c in contacts]
        self.order_fields(["contact", "channel", "granted", "source", "wording"])
