from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Customer, RequestKind, RequestStatus


class RequestForm(forms.Form):
    customer = forms.IntegerField(label=_("Nº de cliente"), min_value=1)
    kind = forms.ChoiceField(label=_("Tipo"), choices=RequestKind.choices)
    country = forms.CharField(label=_("País cuya ley aplica"), max_length=2, required=False,
                              help_text=_("ES, AR, CO, MX…; vacío = el del cliente"))
    channel = forms.CharField(label=_("Cómo llegó"), max_length=100, required=False)
    details = forms.CharField(label=_("Detalle"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_customer(self) -> Customer:
        customer = Customer.objects.filter(pk=self.cleaned_data["customer"], merged_into__isnull=True).first()
        if customer is None:
            raise forms.ValidationError(_("No existe ese cliente."))
        return customer


class CloseForm(forms.Form):
    status = forms.ChoiceField(label=_("Resultado"), choices=[(RequestStatus.DONE, _("Atendida")),
                                                              (RequestStatus.REJECTED, _("Denegada"))])
    resolution = forms.CharField(label=_("Respuesta al cliente"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}))


class EraseForm(forms.Form):
    confirm = forms.BooleanField(label=_("Entiendo que la supresión no se puede deshacer."))
