"""The rule editor and the «Perdiendo contacto» filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.models import User
from fideliza.accounts.selectors import users_active
from fideliza.interactions.models import InteractionKind
from fideliza.loyalty.models import Tier
from fideliza.loyalty.selectors import tiers_all
from fideliza.segments.selectors import segments_active

from .models import Audience, CadenceRule
from .selectors import SORTS


class TierChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Tier) -> str:
        return f"{obj.name} · {obj.program.name}"


class CadenceRuleForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(label=_("Tipos de interacción que cuentan como contacto"),
                                      choices=InteractionKind.choices, widget=forms.CheckboxSelectMultiple,
                                      help_text=_("Registrar uno de estos tipos en la ficha pone el reloj a cero."))
    every_days = forms.IntegerField(label=_("Cada (días)"), min_value=1, max_value=3650)

    class Meta:
        model = CadenceRule
        fields = ["name", "audience", "tier", "segment", "every_days", "kinds", "assign_to", "role", "priority",
                  "title_template", "due_time", "starts_on", "is_active"]
        widgets = {"starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                   "due_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "audience": forms.RadioSelect,
                   "title_template": forms.TextInput(attrs={"translate": "no"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"] = TierChoiceField(label=_("Nivel"), queryset=tiers_all(), required=False,
                                              empty_label=_("Elija un nivel"))
        self.fields["segment"] = forms.ModelChoiceField(label=_("Segmento"), queryset=segments_active().order_by("name"),
                                                        required=False, empty_label=_("Elija un segmento"))
        self.order_fields(self.Meta.fields)

    def clean(self) -> dict[str, Any]:
        """The checks that need several fields, so every error shows at once (the service
        checks all of them again: it is what the other callers use)."""
        from fideliza.engagement.templating import template_validate

        from .services import CADENCE_VARIABLES

        data = super().clean() or {}
        audience = data.get("audience")
        if audience == Audience.TIER and not data.get("tier"):
            self.add_error("tier", _("Elija el nivel."))
        if audience == Audience.SEGMENT and not data.get("segment"):
            self.add_error("segment", _("Elija el segmento."))
        if data.get("title_template"):
            for problem in template_validate(data["title_template"], extra=[n for n, _d in CADENCE_VARIABLES]):
                self.add_error("title_template", problem)
        return data

    def _post_clean(self) -> None:
        """No model validation here: `cadence_rule_save` validates the rule, field by field."""


class LosingTouchFilter(forms.Form):
    cadencia = forms.TypedChoiceField(label=_("Cadencia"), required=False, coerce=int, empty_value=None)
    responsable = forms.ChoiceField(label=_("Ejecutivo de cuenta"), required=False)
    dias = forms.IntegerField(label=_("Con al menos estos días de retraso"), required=False, min_value=0,
                              max_value=3650)
    orden = forms.ChoiceField(label=_("Ordenar por"), required=False,
                              choices=[("overdue", _("Días de retraso")), ("value", _("Valor (CLV previsto)"))])
    pagina = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: User, rules: list[CadenceRule], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rule_field = self.fields["cadencia"]
        assert isinstance(rule_field, forms.ChoiceField)
        rule_field.choices = [("", _("Todas")), *((r.pk, r.name) for r in rules)]
        if user.is_sales_rep:
            del self.fields["responsable"]
        else:
            person_field = self.fields["responsable"]
            assert isinstance(person_field, forms.ChoiceField)
            person_field.choices = [("", _("Todos")), ("none", _("Sin ejecutivo de cuenta"))] + [
                (str(u.pk), u.get_full_name() or u.get_username()) for u in users_active().filter(role="sales_rep")]

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        sort = data.get("orden") or "overdue"
        return {"rule_id": data.get("cadencia"), "executive": data.get("responsable") or "",
                "min_overdue": data.get("dias") or 0, "sort": sort if sort in SORTS else "overdue",
                "page": data.get("pagina") or 1}
