"""Spanish words with two meanings carry a context, so English gets the right one each."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.utils import translation
from django.utils.translation import pgettext_lazy

from fideliza.engagement.models import MessageKind
from fideliza.loyalty.models import CauseType
from fideliza.sales.models import SalesChannel


@pytest.mark.parametrize(
    ("label", "spanish", "english"),
    [
        (MessageKind.MARKETING.label, "Comercial", "Marketing"),
        (SalesChannel.SALES_REP.label, "Comercial", "Sales rep"),
        (CauseType.USER.label, "Usuario", "Manual adjustment"),
        # The two template uses (message_detail.html and login.html).
        (pgettext_lazy("comienzo de un intento de entrega", "Inicio"), "Inicio", "Started"),
        (pgettext_lazy("nombre para iniciar sesión", "Usuario"), "Usuario", "Username"),
    ],
)
def test_ambiguous_words_translate_by_context(label, spanish, english):
    with translation.override("es"):
        assert str(label) == spanish
    with translation.override("en"):
        assert str(label) == english


def test_every_model_help_text_is_spanish_source_with_an_english_translation():
    """Help texts are Spanish msgids (the UI's first language) and English has each one."""
    missing = []
    for model in apps.get_models():
        if not model.__module__.startswith("fideliza."):
            continue
        for field in model._meta.get_fields():
            text = getattr(field, "help_text", "")
            if not text or str(text)[0] in "{[":
                continue  # a JSON shape, not words
            with translation.override("es"):
                spanish = str(text)
            with translation.override("en"):
                english = str(text)
            if spanish == english:
                missing.append(f"{model.__name__}.{field.name}: {spanish}")
    assert missing == [], "\n".join(missing)
