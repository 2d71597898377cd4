from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fideliza.accounts.models import Role

from .models import Question, QuestionKind, Survey, SurveyStatus
from .templates_catalog import template_choices


class FromTemplateForm(forms.Form):
    template = forms.ChoiceField(label=_("Plantilla"), choices=template_choices)
    name = forms.CharField(label=_("Nombre (opcional)"), max_length=120, required=False)


class SurveyForm(forms.Form):
    name = forms.CharField(label=_("Nombre"), max_length=120)
    intro = forms.CharField(label=_("Presentación"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    thanks = forms.CharField(label=_("Agradecimiento"), max_length=300, required=False)
    status = forms.ChoiceField(label=_("Estado"), choices=SurveyStatus.choices)
    is_anonymous = forms.BooleanField(label=_("Anónima: no se guarda quién responde"), required=False)
    link_valid_days = forms.IntegerField(label=_("Los enlaces caducan a los (días)"), min_value=1, max_value=365)
    reminder_days = forms.IntegerField(label=_("Recordatorio a quien no respondió, a los (días)"), min_value=1,
                                       max_value=60, required=False, help_text=_("Vacío: sin recordatorio."))
    public_enabled = forms.BooleanField(label=_("Enlace público y código QR para la caja"), required=False)
    public_identify = forms.BooleanField(label=_("Pedir e-mail o teléfono (opcional) en el enlace público"),
                                         required=False)
    followup_days = forms.IntegerField(label=_("Plazo del seguimiento de un detractor (días hábiles)"),
                                       min_value=0, max_value=30)
    followup_role = forms.ChoiceField(label=_("Seguimiento para"), required=False,
                                      choices=[("", _("El ejecutivo de cuenta del cliente")), *Role.choices])
    promoter_referral = forms.BooleanField(
        label=_("Enviar a los promotores (9–10) su código de recomendación y pedirles un testimonio"),
        required=False)

    @staticmethod
    def initial_for(survey: Survey) -> dict[str, Any]:
        return {f: getattr(survey, f) for f in (
            "name", "intro", "thanks", "status", "is_anonymous", "link_valid_days", "reminder_days",
            "public_enabled", "public_identify", "followup_days", "followup_role", "promoter_referral")}


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Tipo"), choices=QuestionKind.choices)
    text = forms.CharField(label=_("Pregunta"), max_length=300)
    choices = forms.CharField(label=_("Opciones (una por línea)"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))
    scale_max = forms.IntegerField(label=_("Máximo de la escala de valoración"), min_value=2, max_value=10,
                                   initial=5)
    required = forms.BooleanField(label=_("Obligatoria"), required=False)
    show_if = forms.ModelChoiceField(label=_("Mostrar solo si la pregunta"), queryset=Question.objects.none(),
                                     required=False, empty_label=_("Siempre"))
    show_if_max = forms.IntegerField(label=_("tiene como respuesta como máximo"), required=False)

    def __init__(self, *args: Any, survey: Survey, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["show_if"].queryset = survey.questions.exclude(  # type: ignore[attr-defined]
            kind__in=(QuestionKind.TEXT, QuestionKind.SINGLE, QuestionKind.MULTIPLE)).order_by("position")


class PublicIdentifyForm(forms.Form):
    contact = forms.CharField(label=_("Su e-mail o teléfono (opcional, para sumar sus puntos)"), max_length=254,
                              required=False)


class TestimonialForm(forms.Form):
    text = forms.CharField(label=_("Su testimonio"), max_length=3000, widget=forms.Textarea(attrs={"rows": 4}))
    media_url = forms.URLField(label=_("Enlace a una foto o un vídeo (opcional)"), required=False,
                               assume_scheme="https")
    consent = forms.BooleanField(label=_("Acepto que se publique con mi nombre de pila"), required=False)
    consent_where = forms.CharField(label=_("Dónde se puede publicar (p. ej. web y redes sociales)"),
                                    max_length=200, required=False)
    consent_until = forms.DateField(label=_("Hasta"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}),
                                    help_text=_("Vacío: hasta que retire el permiso."))
