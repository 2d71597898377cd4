"""A safety net for the Django admin: any model of the domain apps that has no admin of its
own is still listed for staff, read-only.

The web app is installed after the domain apps, so their admin modules have run by now.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.db.models import Model

from fideliza.core.admin import ReadOnlyAdmin

DOMAIN_APPS = ("core", "accounts", "customers", "catalog", "sales", "imports")


def _fallback_admin(model: type[Model]) -> type[ReadOnlyAdmin]:
    shown = [f.name for f in model._meta.concrete_fields if not f.many_to_many][:6]
    return type(f"{model.__name__}FallbackAdmin", (ReadOnlyAdmin,), {"list_display": shown})


for label in DOMAIN_APPS:
    for model in apps.get_app_config(label).get_models():
        if not admin.site.is_registered(model):
            admin.site.register(model, _fallback_admin(model))
