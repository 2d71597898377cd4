"""Local/demo settings: what `make run` uses. Safe on a laptop, not for the internet."""

from fideliza.config.env import env_bool

from .base import *  # noqa: F403

DEBUG = env_bool("DEBUG", False)

# The demo has no mail server: unless EMAIL_BACKEND says otherwise, messages that campaigns
# and automations send are written as .log files under var/mail/ (one per batch), so the
# whole outbox path runs exactly as in production and what was sent can be read.
import os as _os  # noqa: E402

if "EMAIL_BACKEND" not in _os.environ:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")  # noqa: F405
# Likewise SMS and webhooks without a gateway go to one JSON file per message under
# var/sms/ and var/webhooks/ (FIDELIZA_SMS_FILE_PATH, FIDELIZA_WEBHOOK_FILE_PATH) instead of
# failing: naming a gateway (FIDELIZA_SMS_GATEWAY or its URL, FIDELIZA_WEBHOOK_SINK or
# FIDELIZA_WEBHOOK_URL) sends for real. Production settings keep the real gateways.
if "FIDELIZA_SMS_GATEWAY" not in _os.environ and not FIDELIZA_SMS_GATEWAY_URL:  # noqa: F405
    FIDELIZA_SMS_GATEWAY = "file"
if "FIDELIZA_WEBHOOK_SINK" not in _os.environ and not FIDELIZA_WEBHOOK_URL:  # noqa: F405
    FIDELIZA_WEBHOOK_SINK = "file"
