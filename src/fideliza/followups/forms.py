"""Forms of follow-ups: create (from the card), complete, snooze and cancel (from «Mi día»)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fideliza.accounts.models import User
from fideliza.accounts.selectors import users_active

from .models import FollowUpPriority
from .services import later_same_time, local_moment

DEFAULT_TIME = time(9, 0)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.get_username()


def assignee_choices_for(user: User) -> UserChoiceField:
    """Who `user` may hand a follow-up to: a representative only to themselves."""
    qs = users_active()
    if user.is_sales_rep:
        qs = qs.filter(pk=user.pk)
    return UserChoiceField(label=_("Responsable"), queryset=qs, required=False,
                           empty_label=_("El ejecutivo de cuenta (o yo)"))


class FollowUpForm(forms.Form):
    title = forms.CharField(label=_("Qué hacer"), max_length=200)
    due_date = forms.DateField(label=_("Fecha"), widget=forms.DateInput(attrs={"type": "date"}))
    due_time = forms.TimeField(label=_("Hora"), initial=DEFAULT_TIME, required=False,
                               widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    priority = forms.TypedChoiceField(label=_("Prioridad"), choices=FollowUpPriority.choices, coerce=int,
                                      initial=FollowUpPriority.NORMAL)
    notes = forms.CharField(label=_("Notas"), required=False, max_length=5000,
                            widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, user: User, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = assignee_choices_for(user)
        self.fields["due_date"].initial = today + timedelta(days=1)

    def due_at(self) -> datetime:
        return local_moment(self.cleaned_data["due_date"], self.cleaned_data["due_time"] or DEFAULT_TIME)


class CompleteForm(forms.Form):
    outcome = forms.CharField(label=_("Resultado"), required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 2}))


SNOOZE_DAYS = (
    (1, pgettext_lazy("snooze until", "Mañana")),
    (3, _("En 3 días")),
    (7, _("En una semana")),
    (14, _("En dos semanas")),
    (30, _("En un mes")),
)


class SnoozeForm(forms.Form):
    days = forms.TypedChoiceField(label=_("Hasta"), choices=SNOOZE_DAYS, coerce=int, initial=1)
    reason = forms.CharField(label=_("Motivo"), max_length=300)

    def until(self, now: datetime) -> datetime:
        """The same wall-clock time `days` calendar days from now (DST-safe)."""
        return later_same_time(now, self.cleaned_data["days"])


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Motivo"), max_length=300)
