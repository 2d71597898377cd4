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
