from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.selectors import users_active
from fideliza.sales.selectors import stores_all

from .models import GoalMetric, PeriodKind, RetentionGoal
from .selectors import period_start_of


class GoalForm(forms.Form):
    metric = forms.ChoiceField(label=_("Indicador"), choices=GoalMetric.choices)
    period_kind = forms.ChoiceField(label=_("Periodo"), choices=PeriodKind.choices)
    period_day = forms.DateField(label=_("Cualquier día del periodo"), widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text=_("La meta vale para el mes, trimestre o año que contiene este día."))
    target = forms.DecimalField(label=_("Meta"), max_digits=12, decimal_places=2,
                                help_text=_("Porcentaje (0-100) para retención y abandono; importe para la compra "
                                            "promedio; número de clientes para reactivados y clase A; -100 a 100 "
                                            "para el NPS."))
    store = forms.ModelChoiceField(label=_("Tienda"), queryset=stores_all(), required=False,
                                   empty_label=_("Todas"))
    sales_rep = forms.ModelChoiceField(label=_("Representante"), queryset=users_active().filter(role="sales_rep"),
                                       required=False, empty_label=_("Todo el negocio"))
    notes = forms.CharField(label=_("Notas"), max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sales_rep"].label_from_instance = (  # type: ignore[attr-defined]
            lambda u: u.get_full_name() or u.get_username())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("store") and data.get("sales_rep"):
            self.add_error("store", _("Una meta es de una tienda o de un representante, no de ambos."))
        return data

    def period_start(self) -> date:
        return period_start_of(self.cleaned_data["period_kind"], self.cleaned_data["period_day"])

    @classmethod
    def initial_for(cls, goal: RetentionGoal) -> dict[str, Any]:
        return {"metric": goal.metric, "period_kind": goal.period_kind, "period_day": goal.period_start,
                "target": goal.target, "store": goal.store_id, "sales_rep": goal.sales_rep_id, "notes": goal.notes}
