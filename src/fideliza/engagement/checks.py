"""System checks of the message channels, run by `fideliza check --deploy`.

The file sinks (SMS and webhooks written to files, like e-mail to `var/mail/`) are for the
local and demo settings: on a production server they would keep customers' messages on
disk, marked as sent, while nobody receives them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning
from django.utils.module_loading import import_string

FILE_EMAIL_BACKENDS = frozenset({"django.core.mail.backends.filebased.EmailBackend",
                                 "django.core.mail.backends.console.EmailBackend"})


def _sms_writes_files() -> bool:
    from .channels import SMS_ADAPTERS, FileSmsGateway

    name = settings.FIDELIZA_SMS_GATEWAY
    try:
        adapter = SMS_ADAPTERS[name] if name in SMS_ADAPTERS else import_string(name)
    except ImportError:
        return False  # not a file sink; sending reports the bad name
    return isinstance(adapter, type) and issubclass(adapter, FileSmsGateway)


def _webhooks_write_files() -> bool:
    from .channels import WEBHOOK_SINKS, FileWebhookChannel

    sink = WEBHOOK_SINKS.get(settings.FIDELIZA_WEBHOOK_SINK)
    return sink is not None and issubclass(sink, FileWebhookChannel)


@register(Tags.security, deploy=True)
def message_file_sinks_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """fideliza.W001-W003: a channel writes customers' messages to files instead of sending."""
    found: list[CheckMessage] = []
    if _sms_writes_files():
        found.append(CheckWarning(
            f"FIDELIZA_SMS_GATEWAY={settings.FIDELIZA_SMS_GATEWAY} writes every SMS to a file under "
            f"{settings.FIDELIZA_SMS_FILE_PATH} and marks it sent: no customer receives it.",
            hint="Set FIDELIZA_SMS_GATEWAY_URL (with FIDELIZA_SMS_GATEWAY=generic_json or your "
                 "provider's adapter); the file sink is for the local and demo settings.",
            id="fideliza.W001"))
    if _webhooks_write_files():
        found.append(CheckWarning(
            f"FIDELIZA_WEBHOOK_SINK={settings.FIDELIZA_WEBHOOK_SINK} writes every webhook call to a "
            f"file under {settings.FIDELIZA_WEBHOOK_FILE_PATH} and marks it sent: nothing is posted.",
            hint="Set FIDELIZA_WEBHOOK_SINK=http and FIDELIZA_WEBHOOK_URL; the file sink is for "
                 "the local and demo settings.",
            id="fideliza.W002"))
    if settings.EMAIL_BACKEND in FILE_EMAIL_BACKENDS:
        found.append(CheckWarning(
            f"EMAIL_BACKEND={settings.EMAIL_BACKEND} writes every e-mail to a file or the console "
            "instead of sending it: no customer receives it.",
            hint="Use django.core.mail.backends.smtp.EmailBackend (the production default) with "
                 "EMAIL_HOST, or your provider's backend.",
            id="fideliza.W003"))
    return found
