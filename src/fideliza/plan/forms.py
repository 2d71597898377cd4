from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.selectors import users_active

from .lines import lines_all
from .models import Move, PlanItem, PlanItemStatus


def _line_choices() -> list[tuple[str, str]]:
    return [("", str(_("Ninguna")))] + [(line.key, f"{Move(line.move).label}: {line.text(2).split(' ', 1)[1]}")
                                   for line in lines_all()]


class PlanItemForm(forms.Form):
    move = forms.ChoiceField(label=_("Movimiento"), choices=Move.choices)
    action = forms.CharField(label=_("Acción elegida"), max_length=200)
    when = forms.CharField(label=_("Cuándo"), max_length=120, required=False,
                           help_text=_("por ejemplo: cada lunes"))
    who = forms.CharField(label=_("Quién"), max_length=120, required=False,
                          help_text=_("por ejemplo: los comerciales"))
    how = forms.CharField(label=_("Cómo"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    owner = forms.ModelChoiceField(label=_("Responsable"), queryset=users_active(), empty_label=None)
    due_date = forms.DateField(label=_("Fecha límite"), widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(label=_("Estado"), choices=PlanItemStatus.choices, initial=PlanItemStatus.PENDING)
    line_key = forms.ChoiceField(label=_("Lista de la semana a la que responde"), required=False, choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["line_key"].choices = _line_choices()  # type: ignore[attr-defined]
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.get_username()  # type: ignore[attr-defined]

    @classmethod
    def initial_for(cls, item: PlanItem) -> dict[str, Any]:
        return {"move": item.move, "action": item.action, "when": item.when, "who": item.who, "how": item.how,
                "owner": item.owner_id, "due_date": item.due_date, "status": item.status,
                "line_key": item.line_key}


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=PlanItemStatus.choices)
