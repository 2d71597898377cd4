from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "fideliza.core"
    label = "core"
    verbose_name = _("Núcleo")

    def ready(self) -> None:
        # django.contrib.admin comes first in INSTALLED_APPS: every admin is registered by now.
        from django.contrib import admin

        from .admin import admin_close_to_sales_reps

        admin_close_to_sales_reps(admin.site)
