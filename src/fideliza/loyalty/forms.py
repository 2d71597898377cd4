"""Forms of the loyalty pages. They parse input; the services validate and write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fideliza.catalog.selectors import categories_all, products_all
from fideliza.segments.selectors import segments_active

from .models import EarningRule, Program, Reward, RewardKind, RuleKind, Tier

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ProgramForm(forms.ModelForm):
    class Meta:
        model = Program
        exclude = ["created_at"]


class RuleForm(forms.ModelForm):
    class Meta:
        model = EarningRule
        exclude = ["program"]
        widgets = {"starts_on": DATE, "ends_on": DATE}


class TierForm(forms.ModelForm):
    class Meta:
        model = Tier
        exclude = ["program"]
        widgets = {"benefits": forms.Textarea(attrs={"rows": 3})}


class RewardForm(forms.ModelForm):
    class Meta:
        model = Reward
        exclude = ["program"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, program: Program, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        min_tier = self.fields["min_tier"]
        assert isinstance(min_tier, forms.ModelChoiceField)
        min_tier.queryset = Tier.objects.filter(program=program)


class CouponForm(forms.Form):
    name = forms.CharField(label=_("Nombre"), max_length=120)
    source = forms.ChoiceField(label=_("Origen"), choices=[
        ("campaign", _("Campaña")), ("recovery", _("Recuperación")), ("welcome", _("Bienvenida"))])
    kind = forms.ChoiceField(label=_("Tipo"), choices=RewardKind.choices)
    value = forms.DecimalField(label=_("Valor"), min_value=0, max_digits=12, decimal_places=2, initial=0)
    quantity = forms.IntegerField(label=_("Cuántos códigos"), min_value=1, max_value=1000, initial=1,
                                  help_text=_("Un código distinto para cada uno."))
    max_uses = forms.IntegerField(label=_("Usos totales por código"), min_value=1, required=False, initial=1,
                                  help_text=_("Vacío: sin límite."))
    max_uses_per_customer = forms.IntegerField(label=_("Usos por cliente"), min_value=1, required=False, initial=1,
                                               help_text=_("Vacío: sin límite (el cupón no exige identificar al cliente)."))
    valid_from = forms.DateTimeField(label=_("Válido desde"), required=False, widget=DATETIME)
    valid_until = forms.DateTimeField(label=_("Válido hasta"), required=False, widget=DATETIME)
    min_purchase = forms.DecimalField(label=_("Compra mínima"), min_value=0, decimal_places=2, initial=0)
    product = forms.ModelChoiceField(label=_("Solo para el producto"), queryset=products_all(), required=False)
    category = forms.ModelChoiceField(label=_("Solo para la categoría"), queryset=categories_all(),
                                      required=False)
    segment = forms.ModelChoiceField(label=_("Solo para el segmento"), queryset=segments_active(),
                                     required=False)
    stackable = forms.BooleanField(label=_("Acumulable con otros cupones"), required=False)


class SimulatorForm(forms.Form):
    start = forms.DateField(label=_("Desde"), widget=DATE)
    end = forms.DateField(label=_("Hasta"), widget=DATE)
    kind = forms.ChoiceField(label=_("Tipo de la regla nueva"), choices=[("", _("— ninguna: solo las reglas actuales —")),
                                                                          *RuleKind.choices], required=False)
    points = forms.DecimalField(label=_("Puntos"), initial=1, min_value=0, decimal_places=4, required=False)
    multiplier = forms.DecimalField(label=_("Multiplicador"), initial=1, min_value=0, decimal_places=2, required=False)
    category = forms.ModelChoiceField(label=_("Categoría"), queryset=categories_all(), required=False)
    min_purchase = forms.DecimalField(label=_("Compra mínima"), min_value=0, decimal_places=2, required=False)

    @classmethod
    def last_year(cls) -> dict[str, Any]:
        today = timezone.localdate()
        return {"start": today - timedelta(days=365), "end": today, "points": 1, "multiplier": 1}


class AdjustForm(forms.Form):
    points = forms.IntegerField(label=_("Puntos (negativo para retirar)"))
    reason = forms.CharField(label=_("Motivo"), max_length=200)
