from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fideliza.segments.selectors import segments_active
from fideliza.surveys.selectors import survey_for_source, surveys_open

from .models import (
    Campaign,
    MessageTemplate,
    OfferKind,
    OverBudget,
    TemplateChannel,
    TemplateLanguage,
)
from .services import MessageContent

DATETIME_LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Nombre"), max_length=120)
    description = forms.CharField(label=_("Descripción"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    segment = forms.ModelChoiceField(label=_("Segmento"), queryset=segments_active(),
                                     empty_label=_("Elija un segmento"))
    channels = forms.MultipleChoiceField(label=_("Canales"), choices=TemplateChannel.choices,
                                         widget=forms.CheckboxSelectMultiple, initial=[TemplateChannel.EMAIL],
                                         help_text=_("Cada cliente recibe un solo mensaje, por su canal preferido "
                                                     "entre los que tengan consentimiento."))
    email_subject = forms.CharField(label=_("Asunto"), max_length=200, required=False)
    email_body_text = forms.CharField(label=_("Texto del e-mail"), required=False,
                                      widget=forms.Textarea(attrs={"rows": 7}))
    email_body_html = forms.CharField(label=_("HTML del e-mail (opcional)"), required=False,
                                      widget=forms.Textarea(attrs={"rows": 5}))
    sms_body_text = forms.CharField(label=_("Texto del SMS"), required=False,
                                    widget=forms.Textarea(attrs={"rows": 3}))
    topic = forms.CharField(label=_("Tema"), max_length=60, required=False,
                            help_text=_("Los clientes pueden darse de baja de un tema (p. ej. «ofertas») "
                                        "en su página de preferencias."))
    scheduled_at = forms.DateTimeField(label=_("Enviar el"), required=False, widget=DATETIME_LOCAL,
                                       input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                       help_text=_("Vacío: se envía al pulsar «Enviar»."))
    offer_kind = forms.ChoiceField(label=_("Oferta"), choices=OfferKind.choices, required=False)
    offer_value = forms.DecimalField(label=_("Valor del descuento"), required=False, min_value=Decimal(0),
                                     max_digits=12, decimal_places=2)
    offer_valid_days = forms.IntegerField(label=_("Días de validez del cupón"), min_value=1, max_value=3650,
                                          initial=30)
    offer_min_purchase = forms.DecimalField(label=_("Compra mínima"), required=False, min_value=Decimal(0),
                                            max_digits=14, decimal_places=2)
    offer_description = forms.CharField(label=_("Cómo se describe la oferta"), max_length=200, required=False,
                                        help_text=_("Vacío: «10 % de descuento», «5,00 € de descuento»…"))
    survey = forms.ModelChoiceField(label=_("Encuesta"), queryset=surveys_open(), required=False,
                                    empty_label=_("Sin encuesta"),
                                    help_text=_("Cada destinatario recibe su enlace personal a la encuesta, y el "
                                                "e-mail muestra su primera pregunta."))
    holdout_percent = forms.DecimalField(label=_("Grupo de control (%)"), min_value=Decimal(0),
                                         max_value=Decimal(90), decimal_places=1, initial=Decimal(10),
                                         help_text=_("Clientes elegidos al azar que no reciben nada, "
                                                     "para medir lo que la campaña añade."))
    over_budget = forms.ChoiceField(label=_("Si el cliente ya alcanzó su límite de mensajes"),
                                    choices=OverBudget.choices, initial=OverBudget.SKIP)
    conversion_days = forms.IntegerField(label=_("Ventana de conversión (días)"), min_value=1, max_value=365,
                                         initial=14)

    def messages(self) -> dict[str, MessageContent]:
        data = self.cleaned_data
        topic = data.get("topic", "")
        return {
            TemplateChannel.EMAIL: MessageContent(subject=data.get("email_subject", ""),
                                                  body_text=data.get("email_body_text", ""),
                                                  body_html=data.get("email_body_html", ""), topic=topic),
            TemplateChannel.SMS: MessageContent(body_text=data.get("sms_body_text", ""), topic=topic),
        }

    def campaign_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "description": data["description"], "scheduled_at": data["scheduled_at"],
            "offer_kind": data["offer_kind"] or "", "offer_value": data["offer_value"] or Decimal(0),
            "offer_valid_days": data["offer_valid_days"], "offer_min_purchase": data["offer_min_purchase"] or Decimal(0),
            "offer_description": data["offer_description"],
            "holdout_share": (data["holdout_percent"] / 100).quantize(Decimal("0.001")),
            "over_budget": data["over_budget"], "conversion_days": data["conversion_days"],
        }

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict[str, Any]:
        from .services import campaign_messages

        messages = campaign_messages(campaign)
        email = messages.get(TemplateChannel.EMAIL, MessageContent())
        sms = messages.get(TemplateChannel.SMS, MessageContent())
        return {
            "name": campaign.name, "description": campaign.description, "segment": campaign.segment_id,
            "channels": campaign.channels, "email_subject": email.subject, "email_body_text": email.body_text,
            "email_body_html": email.body_html, "sms_body_text": sms.body_text, "topic": email.topic or sms.topic,
            "scheduled_at": campaign.scheduled_at, "offer_kind": campaign.offer_kind,
            "offer_value": campaign.offer_value or None, "offer_valid_days": campaign.offer_valid_days,
            "offer_min_purchase": campaign.offer_min_purchase or None,
            "offer_description": campaign.offer_description,
            "holdout_percent": (campaign.holdout_share * 100).normalize(),
            "over_budget": campaign.over_budget, "conversion_days": campaign.conversion_days,
            "survey": getattr(survey_for_source(f"campaign:{campaign.pk}"), "pk", None),
        }


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Nombre"), max_length=120)
    channel = forms.ChoiceField(label=_("Canal"), choices=TemplateChannel.choices)
    language = forms.ChoiceField(label=_("Idioma"), choices=TemplateLanguage.choices, initial=TemplateLanguage.ES)
    topic = forms.CharField(label=_("Tema"), max_length=60, required=False)
    subject = forms.CharField(label=_("Asunto"), max_length=200, required=False,
                              help_text=_("Solo para e-mail."))
    body_text = forms.CharField(label=_("Texto"), widget=forms.Textarea(attrs={"rows": 8}))
    body_html = forms.CharField(label=_("HTML (opcional, solo e-mail)"), required=False,
                                widget=forms.Textarea(attrs={"rows": 6}))

    def content(self) -> MessageContent:
        data = self.cleaned_data
        return MessageContent(subject=data["subject"], body_text=data["body_text"], body_html=data["body_html"],
                              topic=data["topic"], language=data["language"])

    @classmethod
    def initial_for(cls, template: MessageTemplate) -> dict[str, Any]:
        return {f: getattr(template, f) for f in ("name", "channel", "language", "topic", "subject",
                                                  "body_text", "body_html")}
