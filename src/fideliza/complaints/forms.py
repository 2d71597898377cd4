"""Forms of the complaints book: the public form (per rule set), the counter/phone
registration, and the staff actions on one complaint. Each field's errors come from the
services (`filing_clean`) and are tied to the field (aria-describedby)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from fideliza.catalog.selectors import products_all
from fideliza.followups.forms import UserChoiceField
from fideliza.sales.selectors import stores_all

from . import rules as R
from .models import (
    TRANSITIONS,
    CannedAnswer,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintStatus,
    GestureKind,
)
from .selectors import categories_active, root_causes_active
from .services import Filing

MONEY_MAX = Decimal("9999999999.99")


def _choice(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def _model_choice(form: forms.Form, name: str) -> forms.ModelChoiceField:
    return cast(forms.ModelChoiceField, form.fields[name])


class ComplaintForm(forms.Form):
    """What a consumer writes. Built for one rule set: its kinds, its regions, the fields it
    requires. Spanish messages by default; the visitor's language when it is English."""

    kind = forms.ChoiceField(label=_("Tipo"), widget=forms.RadioSelect)
    name = forms.CharField(label=_("Nombre y apellidos"), max_length=200)
    document_number = forms.CharField(label=_("Documento de identidad"), max_length=30, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False,
                            widget=forms.EmailInput(attrs={"autocomplete": "email"}),
                            help_text=_("Le enviaremos una copia y la respuesta."))
    phone = forms.CharField(label=_("Teléfono"), max_length=32, required=False,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))
    address = forms.CharField(label=_("Domicilio"), max_length=300, required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "street-address"}))
    subdivision = forms.ChoiceField(label=_("Comunidad autónoma"), required=False)
    store = forms.ChoiceField(label=_("Tienda"), required=False)
    item = forms.CharField(label=_("Producto o servicio"), max_length=200, required=False)
    amount = forms.DecimalField(label=_("Importe reclamado"), required=False, min_value=0, max_value=MONEY_MAX,
                                decimal_places=2, localize=True)
    order_reference = forms.CharField(label=_("Número de pedido o ticket"), max_length=64, required=False)
    description = forms.CharField(label=_("Detalle"), max_length=10_000,
                                  widget=forms.Textarea(attrs={"rows": 5}),
                                  help_text=_("Qué pasó, cuándo y dónde."))
    request = forms.CharField(label=_("Qué nos pide"), max_length=5_000, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, rules: R.RuleSet, strict: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rules, self.strict = rules, strict
        _choice(self, "kind").choices = rules.kind_choices()
        if len(rules.kinds) and not self.is_bound:
            self.fields["kind"].initial = rules.kinds[0]
        if rules.kind_help:
            self.fields["kind"].help_text = " ".join(
                f"{R.KIND_LABELS[k]}: {text}" for k, text in rules.kind_help.items())
        if rules.subdivisions:
            _choice(self, "subdivision").choices = [("", _("— Elija —")), *rules.subdivisions]
            self.fields["subdivision"].required = rules.subdivision_required and strict
        else:
            del self.fields["subdivision"]
        stores = stores_all()
        if stores:
            _choice(self, "store").choices = [("", _("— Elija —")), *((s.code, s.name) for s in stores)]
        else:
            del self.fields["store"]
        if not rules.amount_field:
            del self.fields["amount"]
        self.fields["document_number"].required = rules.document_required and strict
        self.fields["address"].required = rules.address_required and strict

    def filing(self, language: str) -> Filing:
        d = self.cleaned_data
        return Filing(rules=self.rules.code, kind=d["kind"], name=d["name"], description=d["description"],
                      email=d.get("email", ""), phone=d.get("phone", ""), subdivision=d.get("subdivision", ""),
                      document_number=d.get("document_number", ""), address=d.get("address", ""),
                      item=d.get("item", ""), amount=d.get("amount"), order_reference=d.get("order_reference", ""),
                      request=d.get("request", ""), store_code=d.get("store", ""), language=language)

    def add_service_errors(self, exc: ValidationError) -> None:
        """The service's field errors on the fields shown; the rest above the form."""
        for key, messages in exc.message_dict.items():
            self.add_error(key if key in self.fields else None, messages)


class CounterComplaintForm(ComplaintForm):
    """Registration by a person of the business (at the counter, by phone)."""

    rules_code = forms.ChoiceField(label=_("Normativa"))
    channel = forms.ChoiceField(label=_("Canal"), choices=[(c.value, c.label) for c in ComplaintChannel
                                                           if c != ComplaintChannel.WEB])
    category = forms.ModelChoiceField(label=_("Categoría"), queryset=ComplaintCategory.objects.none(),
                                      required=False)
    field_order = ["rules_code", "channel", "kind"]

    def __init__(self, *args: Any, rules: R.RuleSet, **kwargs: Any) -> None:
        super().__init__(*args, rules=rules, strict=False, **kwargs)
        self.fields["rules_code"].initial = rules.code
        _choice(self, "rules_code").choices = [(k, f"{v.name} · {v.book}") for k, v in R.RULE_SETS.items()]
        _model_choice(self, "category").queryset = categories_active()
        # Any kind of any rule set: the service checks it against the chosen one.
        self.fields["kind"].widget = forms.Select()
        _choice(self, "kind").choices = list(R.KIND_LABELS.items())


class TransitionForm(forms.Form):
    to = forms.ChoiceField(label=_("Nuevo estado"), choices=ComplaintStatus.choices)
    note = forms.CharField(label=_("Nota"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
    resolution = forms.CharField(label=_("Resolución"), max_length=5000, required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}),
                                 help_text=_("Obligatoria para marcarla como resuelta."))

    def __init__(self, *args: Any, status: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = TRANSITIONS.get(status, ())
        _choice(self, "to").choices = [(v, lbl) for v, lbl in ComplaintStatus.choices if v in allowed]


class AnswerForm(forms.Form):
    canned = forms.ModelChoiceField(label=_("Respuesta predefinida"), queryset=CannedAnswer.objects.none(),
                                    required=False, empty_label=_("— Escribir una respuesta —"))
    subject = forms.CharField(label=_("Asunto"), max_length=200, required=False)
    body = forms.CharField(label=_("Texto"), max_length=10_000, required=False,
                           widget=forms.Textarea(attrs={"rows": 6}),
                           help_text=_("Con las variables de la lista de abajo; vacío: el de la respuesta predefinida."))

    def __init__(self, *args: Any, answers: list[CannedAnswer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_choice(self, "canned").queryset = CannedAnswer.objects.filter(pk__in=[a.pk for a in answers])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        canned = data.get("canned")
        if canned is not None:
            data["subject"] = data.get("subject") or canned.subject
            data["body"] = data.get("body") or canned.body
        if not data.get("subject") or not data.get("body"):
            raise ValidationError(_("Elija una respuesta predefinida o escriba el asunto y el texto."))
        return data


class GestureForm(forms.Form):
    kind = forms.ChoiceField(label=_("Gesto"), choices=GestureKind.choices)
    value = forms.DecimalField(label=_("Importe del cupón"), required=False, min_value=Decimal("0.01"),
                               max_value=Decimal("100000"), decimal_places=2, localize=True)
    points = forms.IntegerField(label=_("Puntos"), required=False, min_value=1, max_value=1_000_000)
    product = forms.ModelChoiceField(label=_("Producto de regalo"), queryset=products_all(), required=False)
    note = forms.CharField(label=_("Nota"), max_length=300, required=False)


class ClassifyForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Categoría"), queryset=ComplaintCategory.objects.none(),
                                      required=False)
    root_cause = forms.ModelChoiceField(label=_("Causa raíz"), queryset=ComplaintCategory.objects.none(),
                                        required=False)

    def __init__(self, *args: Any, assignees: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = UserChoiceField(label=_("Responsable"), queryset=assignees, required=False)
        _model_choice(self, "category").queryset = categories_active()
        _model_choice(self, "root_cause").queryset = root_causes_active()
        _model_choice(self, "assignee").queryset = assignees


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Nota interna"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class CannedAnswerForm(forms.ModelForm):
    class Meta:
        model = CannedAnswer
        fields = ["title", "category", "subject", "body", "is_active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}


class StatusLookupForm(forms.Form):
    code = forms.CharField(label=_("Código de seguimiento"), max_length=24)
    contact = forms.CharField(label=_("E-mail o teléfono que indicó"), max_length=254)
