"""Settings shared by every environment. Every knob comes from the environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

from fideliza.config.env import env_bool, env_int, env_list, env_str

# Data directory of the embedded default (SQLite, uploads); ./var/ of the working directory.
VAR_DIR = Path(env_str("FIDELIZA_VAR_DIR", str(Path.cwd() / "var"))).resolve()
PACKAGE_DIR = Path(__file__).resolve().parents[2]



def _local_secret_key() -> str:
    """A random key kept in var/ so local sessions survive restarts; production sets SECRET_KEY."""
    import secrets

    path = VAR_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key = "insecure-local-" + secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


SECRET_KEY = env_str("SECRET_KEY") or _local_secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # its templates and static Swagger UI serve /api/docs offline
    "fideliza.accounts.apps.LoginLockoutsConfig",  # django-axes (login throttling)
    "csp",
    "django_tasks",
    "django_tasks_db",
    "fideliza.core",
    "fideliza.accounts",
    "fideliza.customers",
    "fideliza.catalog",
    "fideliza.sales",
    "fideliza.imports",
    "fideliza.insights",
    "fideliza.loyalty",
    "fideliza.segments",
    "fideliza.engagement",
    "fideliza.campaigns",
    "fideliza.automations",
    "fideliza.followups",
    "fideliza.interactions",
    "fideliza.goals",
    "fideliza.plan",
    "fideliza.cadences",
    "fideliza.complaints",
    "fideliza.events",
    "fideliza.surveys",
    "fideliza.web",
    "fideliza.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: answers a locked-out login with our lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes checks every password login (web, admin) before Django's backend does.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "fideliza.config.urls"
WSGI_APPLICATION = "fideliza.config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fideliza.web.context_processors.navigation",
            ],
        },
    }
]


def _database_config() -> dj_database_url.DBConfig:
    url = env_str("DATABASE_URL", "")
    if not url:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{VAR_DIR / 'fideliza.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web process read while the worker writes; IMMEDIATE avoids the
        # "database is locked" upgrade deadlock between two writers.
        config["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;PRAGMA busy_timeout=10000;"
            ),
            "transaction_mode": "IMMEDIATE",
        }
    return config


DATABASES = {"default": _database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Content-Security-Policy (django-csp) ---------------------------------------------------
# Everything from this origin, nothing inline: no <script> blocks, no on…= handlers, no
# style="" attributes (page behaviour lives in each app's static/…/*.js, styles in CSS).
# Charts are server-rendered SVG; htmx's own indicator <style> is turned off (base.html) and
# /api/docs serves Swagger UI from django-ninja's static files. The one exception is
# fideliza.core.csp.email_preview_csp (see there). SECURITY.md has the rules.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    },
}

# --- Login throttling (django-axes; fideliza.accounts.lockout) ----------------------------
# A username is locked after FIDELIZA_LOGIN_FAILURE_LIMIT failures (from any address), an
# address after FIDELIZA_LOGIN_ADDRESS_FAILURE_LIMIT (over every username it tries), for
# FIDELIZA_LOGIN_COOLOFF_MINUTES after the last failure; the owner can lift it before that
# (Cuenta → Bloqueos de acceso), and so can the admin.
FIDELIZA_LOGIN_FAILURE_LIMIT = env_int("FIDELIZA_LOGIN_FAILURE_LIMIT", 5)
FIDELIZA_LOGIN_ADDRESS_FAILURE_LIMIT = env_int("FIDELIZA_LOGIN_ADDRESS_FAILURE_LIMIT", 20)
FIDELIZA_LOGIN_COOLOFF_MINUTES = env_int("FIDELIZA_LOGIN_COOLOFF_MINUTES", 15)
# Reverse proxies in front of the app (their X-Forwarded-For is trusted); 0 = REMOTE_ADDR.
FIDELIZA_TRUSTED_PROXY_COUNT = env_int("FIDELIZA_TRUSTED_PROXY_COUNT", 0)
AXES_FAILURE_LIMIT = FIDELIZA_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=FIDELIZA_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "fideliza.accounts.lockout.LoginLockoutHandler"
AXES_LOCKOUT_CALLABLE = "fideliza.accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "fideliza.accounts.lockout.client_ip"
AXES_RESET_ON_SUCCESS = True  # only the user's own failures (LoginLockoutHandler)
AXES_DISABLE_ACCESS_LOG = True  # no table of every successful login with address and browser
AXES_VERBOSE = False

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "es")
LANGUAGES = [("es", _("Español")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# Spanish numbers group thousands with a dot, like the amounts of money (fideliza/formats/es).
FORMAT_MODULE_PATH = ["fideliza.formats"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Madrid")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)

# Background work: Django's tasks API. The database backend is the embedded default (no
# server to install). FIDELIZA_TASKS_BACKEND=rq puts the queues in Redis (RQ, through
# django-tasks-rq) so that `fideliza worker` processes on several machines share them; a
# dotted path names any other backend. Every task is idempotent under redelivery: the rows
# they act on carry their own state (outbox claims, job rows, ScheduledRun claims).
TASK_QUEUES = ["default", "imports", "analytics", "outbox"]
_TASKS_BACKENDS = {"database": "django_tasks_db.DatabaseBackend", "rq": "django_tasks_rq.RQBackend"}
TASKS_BACKEND = _TASKS_BACKENDS.get(env_str("FIDELIZA_TASKS_BACKEND", "database"),
                                    env_str("FIDELIZA_TASKS_BACKEND", "database"))
TASKS = {"default": {"BACKEND": TASKS_BACKEND, "QUEUES": TASK_QUEUES}}
# RQ's connection (only read with the RQ backend) and how long one job may run before RQ
# kills it: a recompute or an import of a large business takes minutes, a send batch seconds.
FIDELIZA_REDIS_URL = env_str("FIDELIZA_REDIS_URL", "redis://127.0.0.1:6379/0")
_RQ_TIMEOUTS = {"default": 600, "imports": 3600, "analytics": 3600, "outbox": 600}
RQ_QUEUES = {queue: {"URL": FIDELIZA_REDIS_URL, "DEFAULT_TIMEOUT": _RQ_TIMEOUTS[queue]}
             for queue in TASK_QUEUES}
if TASKS_BACKEND.startswith("django_tasks_rq"):
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]

# Business defaults.
FIDELIZA_DEFAULT_CURRENCY = env_str("FIDELIZA_DEFAULT_CURRENCY", "EUR")
FIDELIZA_PHONE_REGION = env_str("FIDELIZA_PHONE_REGION", "ES")
FIDELIZA_BUSINESS_NAME = env_str("FIDELIZA_BUSINESS_NAME", "Fideliza")
FIDELIZA_IDEMPOTENCY_TTL_HOURS = env_int("FIDELIZA_IDEMPOTENCY_TTL_HOURS", 72)
# Documents attached to a card or an interaction (interactions.documents): at most this size each.
FIDELIZA_DOCUMENT_MAX_MB = env_int("FIDELIZA_DOCUMENT_MAX_MB", 10)
# The complaints book (complaints.rules): the rule set of /reclamaciones/ and of the counter
# (PE, CO, ES, MX, AR or GEN), and the terms in business days that differ from the rule
# sets' own, e.g. "MX:15,ES-CT:20".
# The business's calendar of public holidays for «N días hábiles» outside the complaints
# book (ISO country code; empty: weekends only) and its region (e.g. "AN", "MD").
FIDELIZA_HOLIDAYS_COUNTRY = env_str("FIDELIZA_HOLIDAYS_COUNTRY", "ES")
FIDELIZA_HOLIDAYS_REGION = env_str("FIDELIZA_HOLIDAYS_REGION", "")
FIDELIZA_COMPLAINTS_RULES = env_str("FIDELIZA_COMPLAINTS_RULES", "ES")
# Filings an hour from one address on the public form (0: no limit).
FIDELIZA_COMPLAINTS_PER_HOUR = env_int("FIDELIZA_COMPLAINTS_PER_HOUR", 10)
FIDELIZA_COMPLAINT_DAYS: dict[str, int] = {
    key.strip().upper(): int(days) for key, _sep, days in (
        item.partition(":") for item in env_str("FIDELIZA_COMPLAINT_DAYS", "").split(",") if ":" in item)}
# Match new customer cards of every import against the base (background job).
FIDELIZA_MATCH_ON_IMPORT = env_bool("FIDELIZA_MATCH_ON_IMPORT", True)

# Periodic jobs run by `fideliza scheduler` (core.scheduler): {name: {"task": dotted path of
# a django-tasks task, "at": "HH:MM" local time}} once a day, or {"every_minutes": N}.
FIDELIZA_SCHEDULE: dict[str, dict[str, Any]] = {
    "loyalty_daily": {"task": "fideliza.loyalty.tasks.loyalty_daily", "at": "02:30"},
    "analytics_recompute": {"task": "fideliza.insights.tasks.nightly_recompute", "at": "03:00"},
    "outbox_sweep": {"task": "fideliza.engagement.tasks.outbox_sweep", "every_minutes": 5},
    # Launches scheduled campaigns whose time has come (also enqueued with run_after when the
    # task backend can defer) and marks sent those whose messages have all left.
    "campaigns": {"task": "fideliza.campaigns.tasks.campaigns_tick", "every_minutes": 5},
    "automations": {"task": "fideliza.automations.tasks.automations_run", "every_minutes": 15},
    # Contact cadences: the day's follow-ups, before the team starts and after the nightly
    # recompute (the «Perdiendo contacto» values come from its snapshot).
    "cadences": {"task": "fideliza.cadences.tasks.cadences_daily", "at": "06:00"},
    # Reminds the guests who said sí of tomorrow's events (idempotent).
    "events_daily": {"task": "fideliza.events.tasks.events_daily", "at": "10:00"},
    # Reminds, once, those invited to a survey who have not answered after its reminder delay.
    "survey_reminders": {"task": "fideliza.surveys.tasks.survey_reminders", "at": "10:00"},
}

# --- Engagement: e-mail, SMS, webhooks, the outbox and the contact budget ------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Fideliza <no-reply@localhost>")
# Absolute base of the links inside messages (unsubscribe, preferences, pixel, clicks).
FIDELIZA_PUBLIC_URL = env_str("FIDELIZA_PUBLIC_URL", "http://localhost:8000")
# Optional mailbox for the mailto: form of List-Unsubscribe (empty = HTTPS one-click only).
FIDELIZA_UNSUBSCRIBE_MAILTO = env_str("FIDELIZA_UNSUBSCRIBE_MAILTO", "")
# DKIM signing happens only when all three are set.
FIDELIZA_DKIM_KEY_FILE = env_str("FIDELIZA_DKIM_KEY_FILE", "")
FIDELIZA_DKIM_SELECTOR = env_str("FIDELIZA_DKIM_SELECTOR", "")
FIDELIZA_DKIM_DOMAIN = env_str("FIDELIZA_DKIM_DOMAIN", "")
# SMS: an adapter name from engagement.channels.SMS_ADAPTERS ("generic_json", "file"), or a
# dotted class path. "file" writes one JSON file per SMS under FIDELIZA_SMS_FILE_PATH.
FIDELIZA_SMS_GATEWAY = env_str("FIDELIZA_SMS_GATEWAY", "generic_json")
FIDELIZA_SMS_FILE_PATH = env_str("FIDELIZA_SMS_FILE_PATH", str(VAR_DIR / "sms"))
FIDELIZA_SMS_GATEWAY_URL = env_str("FIDELIZA_SMS_GATEWAY_URL", "")
FIDELIZA_SMS_GATEWAY_TOKEN = env_str("FIDELIZA_SMS_GATEWAY_TOKEN", "")
FIDELIZA_SMS_SENDER = env_str("FIDELIZA_SMS_SENDER", "")
# Shared secret the SMS gateway / mail provider sends to the inbound endpoints (STOP, bounces).
FIDELIZA_INBOUND_SECRET = env_str("FIDELIZA_INBOUND_SECRET", "")
FIDELIZA_WEBHOOK_URL = env_str("FIDELIZA_WEBHOOK_URL", "")
FIDELIZA_WEBHOOK_SECRET = env_str("FIDELIZA_WEBHOOK_SECRET", "")
# "http" posts to FIDELIZA_WEBHOOK_URL; "file" writes one JSON file per call under
# FIDELIZA_WEBHOOK_FILE_PATH instead.
FIDELIZA_WEBHOOK_SINK = env_str("FIDELIZA_WEBHOOK_SINK", "http")
FIDELIZA_WEBHOOK_FILE_PATH = env_str("FIDELIZA_WEBHOOK_FILE_PATH", str(VAR_DIR / "webhooks"))
# Marketing sent by webhook (e.g. to a WhatsApp provider) needs consent for this channel.
FIDELIZA_WEBHOOK_CONSENT_CHANNEL = env_str("FIDELIZA_WEBHOOK_CONSENT_CHANNEL", "whatsapp")
FIDELIZA_HTTP_TIMEOUT = env_int("FIDELIZA_HTTP_TIMEOUT", 15)
# Contact budget defaults (a global ContactBudget row, editable in the UI, overrides them).
FIDELIZA_BUDGET_MAX_MESSAGES = env_int("FIDELIZA_BUDGET_MAX_MESSAGES", 3)
FIDELIZA_BUDGET_WINDOW_DAYS = env_int("FIDELIZA_BUDGET_WINDOW_DAYS", 7)
FIDELIZA_QUIET_HOURS_START = env_str("FIDELIZA_QUIET_HOURS_START", "21:00")
FIDELIZA_QUIET_HOURS_END = env_str("FIDELIZA_QUIET_HOURS_END", "09:00")
# A deferral further away than this is skipped instead (no offer arriving weeks late).
FIDELIZA_BUDGET_MAX_DEFER_DAYS = env_int("FIDELIZA_BUDGET_MAX_DEFER_DAYS", 14)
# Outbox worker: attempts, exponential back-off, and when a `sending` row counts as abandoned
# (must exceed EMAIL_TIMEOUT and FIDELIZA_HTTP_TIMEOUT).
FIDELIZA_OUTBOX_MAX_ATTEMPTS = env_int("FIDELIZA_OUTBOX_MAX_ATTEMPTS", 6)
FIDELIZA_OUTBOX_RETRY_BASE_SECONDS = env_int("FIDELIZA_OUTBOX_RETRY_BASE_SECONDS", 60)
FIDELIZA_OUTBOX_RETRY_MAX_SECONDS = env_int("FIDELIZA_OUTBOX_RETRY_MAX_SECONDS", 6 * 3600)
FIDELIZA_OUTBOX_CLAIM_TIMEOUT = env_int("FIDELIZA_OUTBOX_CLAIM_TIMEOUT", 600)
FIDELIZA_OUTBOX_SWEEP_GRACE = env_int("FIDELIZA_OUTBOX_SWEEP_GRACE", 120)
# Topics a customer can opt out of on the preference page: "key:Label" pairs.
FIDELIZA_MESSAGE_TOPICS = env_list(
    "FIDELIZA_MESSAGE_TOPICS",
    ["ofertas:Ofertas y descuentos", "novedades:Novedades", "fidelizacion:Puntos y club",
     "eventos:Eventos", "consejos:Consejos de uso"],
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # axes logs every successful login at INFO; failures and lockouts are WARNING.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
