"""The card's «Registrar contacto» form: the interaction and, optionally, its next step."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.models import User
from fideliza.customers.models import Contact
from fideliza.followups.forms import DEFAULT_TIME, assignee_choices_for
from fideliza.followups.models import FollowUp, FollowUpPriority
from fideliza.followups.selectors import followups_open_of
from fideliza.followups.services import local_moment

from .models import InteractionKind, InteractionOutcome
from .services import NextStep


class FollowUpChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: FollowUp) -> str:
        return f"{obj.title} · {date_format(timezone.localtime(obj.due_at), 'SHORT_DATETIME_FORMAT')}"


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Tipo"), choices=InteractionKind.choices, initial=InteractionKind.CALL,
                             widget=forms.RadioSelect)
    outcome = forms.ChoiceField(label=_("Resultado"), choices=InteractionOutcome.choices, required=False)
    text = forms.CharField(label=_("Qué se habló"), required=False, max_length=10_000,
                           widget=forms.Textarea(attrs={"rows": 3}))
    contact_name = forms.CharField(label=_("Persona de contacto"), required=False, max_length=150)
    next_title = forms.CharField(label=_("Siguiente paso"), required=False, max_length=200,
                                 help_text=_("Opcional: crea un seguimiento al guardar."))
    next_date = forms.DateField(label=_("Fecha del siguiente paso"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    next_time = forms.TimeField(label=_("Hora"), required=False, initial=DEFAULT_TIME,
                                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    next_priority = forms.TypedChoiceField(label=_("Prioridad"), choices=FollowUpPriority.choices, coerce=int,
                                           initial=FollowUpPriority.NORMAL)
    document = forms.FileField(label=_("Documento adjunto"), required=False,
                               help_text=_("Opcional: un e-mail reenviado (.eml), un PDF o una imagen."))

    def __init__(self, *args: Any, user: User, today: date, open_followups: QuerySet[FollowUp] | None = None,
                 contacts: QuerySet[Contact] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        if contacts is not None and contacts.exists():
            # A company's call is with one of its people: chosen from the card's contacts.
            self.fields["contact"] = forms.ModelChoiceField(
                label=_("Con quién de la empresa"), required=False, queryset=contacts,
                empty_label=_("Nadie en concreto"))
            self.fields["contact_name"].label = _("Otra persona (texto libre)")
        self.fields["completes"] = FollowUpChoiceField(
            label=_("Da por hecho el seguimiento"), required=False, empty_label=_("Ninguno"),
            queryset=open_followups if open_followups is not None else followups_open_of(None))
        self.fields["next_assignee"] = assignee_choices_for(user)
        self.fields["next_assignee"].label = _("Responsable del siguiente paso")
        self.fields["next_date"].help_text = _("Si la deja vacía: mañana.")
        self.order_fields(["kind", "outcome", "text", "contact", "contact_name", "completes", "next_title", "next_date",
                           "next_time", "next_priority", "next_assignee", "document"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if (data.get("next_date") or data.get("next_assignee")) and not data.get("next_title"):
            self.add_error("next_title", _("Escriba qué hay que hacer en el siguiente paso."))
        return data

    def next_step(self) -> NextStep | None:
        data = self.cleaned_data
        if not data.get("next_title"):
            return None
        day = data.get("next_date") or self.today + timedelta(days=1)
        at: time = data.get("next_time") or DEFAULT_TIME
        due: datetime = local_moment(day, at)
        return NextStep(title=data["next_title"], due_at=due, assignee=data.get("next_assignee"),
                        priority=data["next_priority"])


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("Archivo"),
                           help_text=_("Un e-mail reenviado (.eml), un PDF, una imagen o un texto."))
    description = forms.CharField(label=_("Descripción"), required=False, max_length=300)
