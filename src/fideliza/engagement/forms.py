from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fideliza.segments.selectors import segments_active

from .models import ContactBudget, MessageChannel


class BudgetForm(forms.ModelForm):
    class Meta:
        model = ContactBudget
        fields = ["max_messages", "window_days", "quiet_start", "quiet_end"]
        widgets = {"quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
        help_texts = {"quiet_start": _("En la zona horaria de cada cliente; vacío = sin horas de silencio.")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("quiet_start")) != bool(data.get("quiet_end")):
            raise forms.ValidationError(_("Indique el inicio y el fin de las horas de silencio, o ninguno."))
        return data


class OverrideForm(BudgetForm):
    segment = forms.ModelChoiceField(label=_("Segmento"), required=False,
                                     queryset=segments_active())
    customer_id = forms.IntegerField(label=_("Nº de cliente"), required=False, min_value=1)

    class Meta(BudgetForm.Meta):
        pass

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("segment")) == bool(data.get("customer_id")):
            raise forms.ValidationError(_("Elija un segmento o un cliente (uno de los dos)."))
        return data


class SuppressionForm(forms.Form):
    channel = forms.ChoiceField(label=_("Canal"), choices=MessageChannel.choices)
    address = forms.CharField(label=_("Dirección o teléfono"), max_length=254)
    note = forms.CharField(label=_("Nota"), max_length=300, required=False)
