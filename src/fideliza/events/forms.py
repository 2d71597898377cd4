"""Forms of events: the event itself, the door's newcomer, a staff-recorded answer."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fideliza.analytics.labels import VALUE_TIERS
from fideliza.insights.selectors import label
from fideliza.segments.selectors import segments_active

from .models import Event, EventKind, EventStatus
from .services import local_datetime


def _tier_choices() -> list[tuple[str, str]]:
    return [(code, label("value_tier", code)) for code in VALUE_TIERS]


class EventForm(forms.Form):
    kind = forms.ChoiceField(label=_("Tipo de evento"), choices=EventKind.choices, initial=EventKind.YEAR_END)
    title = forms.CharField(label=_("Título"), max_length=200)
    description = forms.CharField(label=_("Descripción"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    start_date = forms.DateField(label=_("Fecha"), widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(label=_("Hora de comienzo"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_date = forms.DateField(label=_("Fecha de fin"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                               help_text=_("vacío: el mismo día"))
    end_time = forms.TimeField(label=_("Hora de fin"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    place = forms.CharField(label=_("Lugar"), max_length=250, required=False,
                            help_text=_("dirección o nombre del sitio"))
    online_url = forms.URLField(label=_("Enlace para conectarse"), max_length=500, required=False, assume_scheme="https",
                                help_text=_("si es en línea"))
    city = forms.CharField(label=_("Ciudad"), max_length=100, required=False)
    capacity = forms.IntegerField(label=_("Aforo"), min_value=1, max_value=1_000_000, required=False,
                                  help_text=_("plazas; vacío = sin límite. Con el aforo completo, los nuevos «sí» pasan a la lista de espera."))
    deadline_date = forms.DateField(label=_("Plazo para responder (fecha)"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}),
                                    help_text=_("vacío: hasta que empiece"))
    deadline_time = forms.TimeField(label=_("Plazo para responder (hora)"), required=False,
                                    widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    audience_segment: forms.ModelChoiceField = forms.ModelChoiceField(label=_("Segmento invitado"), queryset=None, required=False,
                                              empty_label=_("Todos los clientes"))
    audience_tiers = forms.MultipleChoiceField(label=_("Niveles de valor"), required=False,
                                               widget=forms.CheckboxSelectMultiple,
                                               help_text=_("ninguno marcado: todos los niveles"))
    audience_city = forms.CharField(label=_("Solo clientes de la ciudad"), max_length=100, required=False)
    vip_only = forms.BooleanField(label=_("Solo clientes VIP"), required=False,
                                  help_text=_("VIP: nivel de valor Platino u Oro en la última analítica"))
    status = forms.ChoiceField(label=_("Estado"), choices=[(EventStatus.DRAFT, EventStatus.DRAFT.label),
                                                            (EventStatus.PUBLISHED, EventStatus.PUBLISHED.label)],
                               initial=EventStatus.DRAFT,
                               help_text=_("las invitaciones se envían cuando está publicado"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tiers = self.fields["audience_tiers"]
        segment = self.fields["audience_segment"]
        assert isinstance(tiers, forms.MultipleChoiceField) and isinstance(segment, forms.ModelChoiceField)
        tiers.choices = _tier_choices()
        segment.queryset = segments_active()

    @classmethod
    def initial_of(cls, event: Event) -> dict[str, Any]:
        from fideliza.followups.services import business_zone

        zone = business_zone()
        start, end = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
        deadline = event.rsvp_deadline.astimezone(zone) if event.rsvp_deadline else None
        return {
            "kind": event.kind, "title": event.title, "description": event.description,
            "start_date": start.date(), "start_time": start.time(), "end_date": end.date(), "end_time": end.time(),
            "place": event.place, "online_url": event.online_url, "city": event.city, "capacity": event.capacity,
            "deadline_date": deadline.date() if deadline else None, "deadline_time": deadline.time() if deadline else None,
            "audience_segment": event.audience_segment_id, "audience_tiers": event.audience_tiers,
            "audience_city": event.audience_city, "vip_only": event.vip_only,
            "status": event.status if event.status != EventStatus.CANCELLED else EventStatus.DRAFT,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("deadline_time") and not data.get("deadline_date"):
            self.add_error("deadline_date", _("Indique también la fecha del plazo."))
        return data

    def values(self) -> dict[str, Any]:
        """The event's fields for `event_save`, times as instants of the business's zone."""
        d = self.cleaned_data
        starts = local_datetime(d["start_date"], d["start_time"])
        ends = local_datetime(d.get("end_date") or d["start_date"], d["end_time"])
        deadline: datetime | None = None
        if d.get("deadline_date"):
            deadline = local_datetime(d["deadline_date"], d.get("deadline_time") or time(23, 59))
        return {
            "kind": d["kind"], "title": d["title"], "description": d["description"], "starts_at": starts,
            "ends_at": ends, "place": d["place"], "online_url": d["online_url"], "city": d["city"],
            "capacity": d.get("capacity"), "rsvp_deadline": deadline, "audience_segment": d.get("audience_segment"),
            "audience_tiers": list(d.get("audience_tiers") or []), "audience_city": d["audience_city"],
            "vip_only": bool(d.get("vip_only")), "status": d["status"],
        }


class NewcomerForm(forms.Form):
    """A person at the door without a card: the least a card needs, and a way to reach them."""

    first_name = forms.CharField(label=_("Nombre"), max_length=100)
    last_name = forms.CharField(label=_("Apellidos"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Teléfono"), max_length=30, required=False)
    city = forms.CharField(label=_("Ciudad"), max_length=100, required=False)

    def card(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if v}
