from axes.apps import AppConfig as AxesConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "fideliza.accounts"
    label = "accounts"
    verbose_name = _("Cuentas y permisos")


class LoginLockoutsConfig(AxesConfig):
    """django-axes under a name the admin shows in the user's language (it says "Axes")."""

    verbose_name = _("Bloqueos de acceso")
