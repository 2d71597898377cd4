from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from fideliza.engagement.models import MessageChannel
from fideliza.surveys.selectors import survey_for_source, surveys_open

from .models import ActivationScope, Automation, AutomationStep
from .triggers import PARAMS


def params_help() -> list[tuple[str, str]]:
    """(trigger label, its parameters with defaults) for the form's help table."""
    from .models import TriggerKind

    rows = []
    for kind, label in TriggerKind.choices:
        spec = PARAMS[kind]
        text = ", ".join(f"{name} = {json.dumps(p.default if not hasattr(p.default, 'as_tuple') else str(p.default))}"
                         for name, p in spec.items())
        rows.append((str(label), text or "—"))
    return rows


class AutomationForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(label=_("Canales permitidos"), choices=MessageChannel.choices,
                                         widget=forms.CheckboxSelectMultiple,
                                         help_text=_("Se usa el canal preferido del cliente entre estos."))
    trigger_params = forms.CharField(label=_("Parámetros del disparador (JSON)"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 3, "translate": "no"}),  # JSON, not prose
                                     help_text=_("Vacío: valores por defecto. Ver la tabla de parámetros."))

    class Meta:
        model = Automation
        fields = ["name", "description", "trigger_kind", "trigger_params", "channels", "topic", "holdout_share",
                  "over_budget", "conversion_days", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["trigger_params"] = json.dumps(self.instance.trigger_params or {}, ensure_ascii=False)

    def clean_trigger_params(self) -> dict:
        raw = (self.cleaned_data.get("trigger_params") or "").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(_("No es un JSON válido.")) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Debe ser un objeto JSON, p. ej. {\"days_after\": 7}."))
        return value


class StepForm(forms.ModelForm):
    survey = forms.ModelChoiceField(label=_("Encuesta"), queryset=surveys_open(), required=False,
                                    empty_label=_("Sin encuesta"),
                                    help_text=_("Cada destinatario recibe su enlace personal a la encuesta, y el "
                                                "e-mail muestra su primera pregunta."))

    class Meta:
        model = AutomationStep
        fields = ["position", "delay_days", "delay_hours", "condition", "kind", "email_subject", "email_text",
                  "email_html", "sms_text", "offer_kind", "offer_value", "offer_valid_days", "offer_min_purchase",
                  "followup_title", "followup_text", "followup_due_days", "followup_assign_to", "followup_role",
                  "followup_priority"]
        widgets = {"email_text": forms.Textarea(attrs={"rows": 4}), "email_html": forms.Textarea(attrs={"rows": 3}),
                   "sms_text": forms.Textarea(attrs={"rows": 2}), "followup_text": forms.Textarea(attrs={"rows": 2}),
                   "followup_title": forms.TextInput(attrs={"translate": "no"})}


    # A message step needs none of these: left out, they take the model's defaults.
    OPTIONAL = ("kind", "followup_due_days", "followup_assign_to", "followup_role", "followup_priority")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.OPTIONAL:
            self.fields[name].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.OPTIONAL:
            if data.get(name) in (None, ""):
                field = AutomationStep._meta.get_field(name)
                assert isinstance(field, models.Field)
                data[name] = field.get_default()
        return data


StepFormSet = forms.formset_factory(StepForm, extra=1, can_delete=True)


def step_initial(automation: Automation | None) -> list[dict[str, Any]]:
    if automation is None:
        return []
    from .services import step_source

    return [{**{name: getattr(s, name) for name in StepForm.Meta.fields},
             "survey": getattr(survey_for_source(step_source(automation, s.position)), "pk", None)}
            for s in automation.steps.order_by("position")]


class ActivationForm(forms.Form):
    """Switching on: who may enter (the page shows how many already match)."""

    scope = forms.ChoiceField(
        label=_("¿A quién incluir?"), widget=forms.RadioSelect, initial=ActivationScope.NEW,
        choices=[(ActivationScope.NEW, _("Solo las causas nuevas, desde este momento (recomendado)")),
                 (ActivationScope.EXISTING, _("También a los clientes que ya cumplen la condición"))])
