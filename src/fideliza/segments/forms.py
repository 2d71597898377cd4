from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Segment, SegmentKind


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Nombre"), max_length=120)
    description = forms.CharField(label=_("Descripción"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(label=_("Tipo"), choices=SegmentKind.choices, initial=SegmentKind.DYNAMIC)
    rules = forms.CharField(label=_("Reglas"), required=False, widget=forms.HiddenInput)

    def __init__(self, *args, instance: Segment | None = None, **kwargs) -> None:
        self.instance = instance
        super().__init__(*args, **kwargs)
        if instance is not None:
            self.fields["kind"].disabled = True

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Segment.objects.filter(name__iexact=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("Ya existe un segmento con ese nombre."))
        return name

    def clean_rules(self) -> dict:
        raw = self.cleaned_data.get("rules") or "{}"
        try:
            rules = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(_("Las reglas no son válidas.")) from exc
        if not isinstance(rules, dict):
            raise forms.ValidationError(_("Las reglas no son válidas."))
        return rules


class StaticListForm(forms.Form):
    file = forms.FileField(label=_("Archivo CSV"), help_text=_(
        "Una columna «id», «email», o «source» y «external_id»; una fila por cliente."))
