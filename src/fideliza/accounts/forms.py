from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import User


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Nombre de la integración"), max_length=100,
                           help_text=_("Por ejemplo «TPV tienda centro» o «Tienda online»."))
    user = forms.ModelChoiceField(
        label=_("Actúa como"), queryset=User.objects.none(),
        help_text=_("El token tendrá el rol y la visibilidad de este usuario."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = self.fields["user"]
        assert isinstance(user, forms.ModelChoiceField)
        user.queryset = User.objects.filter(is_active=True).order_by("username")

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())
