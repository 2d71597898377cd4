"""How a message leaves: e-mail over SMTP, SMS through an HTTP gateway, signed webhooks.

Adapters share one small interface (`open`, `send`, `close`) and report failures as
`DeliveryError(permanent=…)`, which the worker turns into a retry, a failure or a bounce.
SMS providers plug in through `SMS_ADAPTERS` (or a dotted path in FIDELIZA_SMS_GATEWAY).

Without a gateway (a laptop, the demo) SMS and webhooks go to files, as e-mail goes to
Django's file backend: `FIDELIZA_SMS_GATEWAY=file` writes one JSON file per SMS under
`FIDELIZA_SMS_FILE_PATH`, `FIDELIZA_WEBHOOK_SINK=file` one per webhook call under
`FIDELIZA_WEBHOOK_FILE_PATH`. The local settings choose them when no URL is configured.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import html
import json
import os
import re
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import formataddr
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Message, MessageChannel, MessageKind

UNSUBSCRIBE_MARKER = "%%unsubscribe_url%%"
PREFERENCES_MARKER = "%%preferences_url%%"


class DeliveryError(Exception):
    """A send failed. `permanent`: retrying cannot help; `bounce`: the address is dead."""

    def __init__(self, message: str, *, permanent: bool = False, bounce: bool = False):
        super().__init__(message)
        self.permanent = permanent or bounce
        self.bounce = bounce


@dataclass(frozen=True)
class Attachment:
    """A file an e-mail carries (an event's .ics). Text content for `text/*` types."""

    filename: str
    content: str | bytes
    mimetype: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    unsubscribe_url: str
    preferences_url: str
    attachments: tuple[Attachment, ...] = ()


# --- attachments -----------------------------------------------------------------------------
# An app above engagement names the files its messages carry, by the prefix of their `source`
# ("event:" — the invitation's calendar entry). They are built at send time from that app's
# current rows: the outbox stores no copy (nothing more for an erasure to blank, and a resend
# after a change of time carries the new one). Only e-mail carries them.
AttachmentProvider = Callable[[Message], Sequence[Attachment]]
_ATTACHMENT_PROVIDERS: dict[str, AttachmentProvider] = {}


def attachment_provider_register(source_prefix: str, provider: AttachmentProvider) -> None:
    """Called from the registering app's AppConfig.ready()."""
    _ATTACHMENT_PROVIDERS[source_prefix] = provider


def message_attachments(message: Message) -> tuple[Attachment, ...]:
    """The files of an e-mail message, from the provider registered for its source."""
    if message.channel != MessageChannel.EMAIL:
        return ()
    for prefix, provider in _ATTACHMENT_PROVIDERS.items():
        if message.source.startswith(prefix):
            return tuple(provider(message))
    return ()


# --- the bodies as they leave ----------------------------------------------------------------

_HREF = re.compile(r'(<a\b[^>]*?\bhref\s*=\s*)(["\'])(https?://[^"\']+)\2', re.IGNORECASE)


def render(message: Message) -> Rendered:
    """Fill the per-message markers, add the footer to marketing e-mail, track links.

    Marketing e-mail without the markers gets a footer with both links (text and HTML),
    so no marketing e-mail ever leaves without a working way out.
    """
    from .services import (
        _unsubscribe_url_for_token,
        click_url,
        open_pixel_url,
        preferences_url,
        public_url,
    )

    unsub = _unsubscribe_url_for_token(message.token)
    prefs = preferences_url(message.customer_id)
    text, body_html = message.body_text, message.body_html
    is_marketing_email = message.kind == MessageKind.MARKETING and message.channel == MessageChannel.EMAIL
    if is_marketing_email:
        unsubscribe_label, preferences_label = _("Darse de baja"), _("Preferencias")
        if UNSUBSCRIBE_MARKER not in text:
            text = (text.rstrip("\n") + "\n\n-- \n"
                    + f"{unsubscribe_label}: {UNSUBSCRIBE_MARKER}\n{preferences_label}: {PREFERENCES_MARKER}\n")
        if body_html and UNSUBSCRIBE_MARKER not in body_html:
            footer = (f'<p style="font-size:12px;color:#666">'
                      f'<a href="{UNSUBSCRIBE_MARKER}">{html.escape(unsubscribe_label)}</a> · '
                      f'<a href="{PREFERENCES_MARKER}">{html.escape(preferences_label)}</a></p>')
            body_html = (body_html.replace("</body>", footer + "</body>", 1)
                         if "</body>" in body_html else body_html + footer)
    if body_html and message.channel == MessageChannel.EMAIL and message.tracking:
        own = public_url("/m/")

        def rewrite(match: re.Match) -> str:
            target = html.unescape(match.group(3))
            if target.startswith(own):
                return match.group(0)
            return f"{match.group(1)}{match.group(2)}{html.escape(click_url(message.token, target))}{match.group(2)}"

        body_html = _HREF.sub(rewrite, body_html)
        pixel = f'<img src="{html.escape(open_pixel_url(message.token))}" width="1" height="1" alt="">'
        body_html = (body_html.replace("</body>", pixel + "</body>", 1)
                     if "</body>" in body_html else body_html + pixel)
    replacements = {UNSUBSCRIBE_MARKER: unsub, PREFERENCES_MARKER: prefs}
    for marker, url in replacements.items():
        text = text.replace(marker, url)
        body_html = body_html.replace(marker, html.escape(url))
    subject = message.subject
    return Rendered(subject=subject, text=text, html=body_html, unsubscribe_url=unsub, preferences_url=prefs,
                    attachments=message_attachments(message))


# --- adapters --------------------------------------------------------------------------------

class ChannelAdapter:
    """Send messages of one channel. `open` before a batch, `close` after it."""

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, message: Message, rendered: Rendered) -> str:
        """Deliver and return the provider's id for the message; raise DeliveryError."""
        raise NotImplementedError


class DkimEmailMessage(EmailMultiAlternatives):
    """An EmailMultiAlternatives that adds a DKIM-Signature over its final bytes."""

    dkim_selector: bytes = b""
    dkim_domain: bytes = b""
    dkim_key: bytes = b""

    def message(self, *args: Any, **kwargs: Any):
        msg = super().message(*args, **kwargs)
        if self.dkim_key:
            import dkim

            # The SMTP backend sends msg.as_bytes(linesep="\r\n"): sign exactly those bytes.
            # Django's SafeMIME*.as_bytes takes `linesep`; the stubs give email's signature.
            raw = msg.as_bytes(linesep="\r\n")  # type: ignore[call-arg]
            signature = dkim.sign(
                raw, self.dkim_selector, self.dkim_domain, self.dkim_key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id",
                                 b"list-unsubscribe", b"list-unsubscribe-post", b"mime-version",
                                 b"content-type"],
            )
            name, _sep, value = signature.decode().partition(":")
            msg[name] = " ".join(value.split())
        return msg


def _dkim_settings() -> tuple[bytes, bytes, bytes] | None:
    key_file = settings.FIDELIZA_DKIM_KEY_FILE
    selector, domain = settings.FIDELIZA_DKIM_SELECTOR, settings.FIDELIZA_DKIM_DOMAIN
    if not (key_file and selector and domain):
        return None
    with open(key_file, "rb") as fh:
        return selector.encode(), domain.encode(), fh.read()


class EmailChannel(ChannelAdapter):
    """Django's e-mail backend (SMTP in production), one connection per batch."""

    def __init__(self) -> None:
        self.connection = get_connection(fail_silently=False)
        self.dkim = _dkim_settings()

    def open(self) -> None:
        try:
            self.connection.open()
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP connection: {exc}") from exc

    def close(self) -> None:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            self.connection.close()

    def build(self, message: Message, rendered: Rendered) -> EmailMultiAlternatives:
        headers = {"Message-ID": message.rfc_message_id, "X-Fideliza-Message": str(message.pk)}
        if message.kind == MessageKind.MARKETING:
            targets = [f"<{rendered.unsubscribe_url}>"]
            if settings.FIDELIZA_UNSUBSCRIBE_MAILTO:
                targets.append(f"<mailto:{settings.FIDELIZA_UNSUBSCRIBE_MAILTO}"
                               f"?subject=unsubscribe-{message.token}>")
            headers["List-Unsubscribe"] = ", ".join(targets)
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
        cls = DkimEmailMessage if self.dkim else EmailMultiAlternatives
        email = cls(subject=rendered.subject, body=rendered.text, from_email=settings.DEFAULT_FROM_EMAIL,
                    to=[formataddr(("", message.address))], headers=headers, connection=self.connection)
        if self.dkim and isinstance(email, DkimEmailMessage):
            email.dkim_selector, email.dkim_domain, email.dkim_key = self.dkim
        if rendered.html:
            email.attach_alternative(rendered.html, "text/html")
        for attachment in rendered.attachments:
            email.attach(attachment.filename, attachment.content, attachment.mimetype)
        return email

    def send(self, message: Message, rendered: Rendered) -> str:
        email = self.build(message, rendered)
        try:
            sent = email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            code = min((c for c, _m in exc.recipients.values()), default=550)
            raise DeliveryError(f"recipient refused: {exc.recipients}", bounce=code >= 500) from exc
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                                permanent=exc.smtp_code >= 500) from exc
        except (OSError, smtplib.SMTPException) as exc:
            # Connection lost, timeout, 4xx: the connection is reset for the next message.
            self.close()
            raise DeliveryError(f"SMTP: {exc!r}") from exc
        if not sent:
            raise DeliveryError("SMTP backend sent nothing")
        return message.rfc_message_id


def _http_post_json(url: str, payload: dict, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, urllib.error.URLError) as exc:
        raise DeliveryError(f"HTTP {url}: {exc}") from exc


def _http_outcome(status: int, body: bytes, what: str) -> None:
    if 200 <= status < 300:
        return
    # 408 and 429 and 5xx may pass; any other 4xx will fail again the same way.
    permanent = 400 <= status < 500 and status not in (408, 409, 425, 429)
    raise DeliveryError(f"{what} answered {status}: {body[:300]!r}", permanent=permanent)


class SmsGateway(ChannelAdapter):
    """Base for SMS providers; subclasses implement `send` with their own API."""

    name: ClassVar[str] = ""


class GenericJsonSmsGateway(SmsGateway):
    """POST {"to", "text", "from", "reference"} as JSON with a bearer token.

    A 2xx answer with {"id": "…"} is the provider's id. The message token goes as
    Idempotency-Key, so a provider that honours it never sends a retried message twice.
    """

    name = "generic_json"

    def send(self, message: Message, rendered: Rendered) -> str:
        url = settings.FIDELIZA_SMS_GATEWAY_URL
        if not url:
            raise DeliveryError("FIDELIZA_SMS_GATEWAY_URL is not set", permanent=True)
        headers = {"Idempotency-Key": message.token}
        if settings.FIDELIZA_SMS_GATEWAY_TOKEN:
            headers["Authorization"] = f"Bearer {settings.FIDELIZA_SMS_GATEWAY_TOKEN}"
        payload = {"to": message.address, "text": rendered.text, "from": settings.FIDELIZA_SMS_SENDER,
                   "reference": str(message.pk)}
        status, body = _http_post_json(url, payload, headers, settings.FIDELIZA_HTTP_TIMEOUT)
        _http_outcome(status, body, "SMS gateway")
        try:
            return str(json.loads(body or b"{}").get("id", ""))[:255]
        except (ValueError, AttributeError):
            return ""


def _file_write(directory: str, stem: str, payload: dict) -> Path:
    """Write `payload` as <directory>/<stem>.json, whole or not at all (temporary file, then
    rename). The name depends only on the message, so a retried send rewrites the same file:
    one file per message, never two."""
    folder = Path(directory)
    path = folder / f"{stem}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{stem}.json.tmp"
        partial.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n",
                           encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        raise DeliveryError(f"{path}: {exc}") from exc
    return path


def _file_stem(message: Message) -> str:
    return f"{timezone.localtime(message.created_at):%Y%m%d-%H%M%S}-{message.pk}"


class FileSmsGateway(SmsGateway):
    """Writes each SMS to a JSON file under FIDELIZA_SMS_FILE_PATH instead of sending it
    (local and demo settings without a gateway): what would have been sent can be read."""

    name = "file"

    def send(self, message: Message, rendered: Rendered) -> str:
        path = _file_write(settings.FIDELIZA_SMS_FILE_PATH, _file_stem(message), {
            "to": message.address, "text": rendered.text, "from": settings.FIDELIZA_SMS_SENDER,
            "reference": str(message.pk), "customer_id": message.customer_id, "source": message.source,
            "kind": message.kind, "token": message.token})
        return f"file:{path.name}"


SMS_ADAPTERS: dict[str, type[SmsGateway]] = {GenericJsonSmsGateway.name: GenericJsonSmsGateway,
                                             FileSmsGateway.name: FileSmsGateway}


def sms_gateway() -> SmsGateway:
    """The configured SMS adapter: a name in SMS_ADAPTERS or a dotted class path."""
    name = settings.FIDELIZA_SMS_GATEWAY
    if name in SMS_ADAPTERS:
        return SMS_ADAPTERS[name]()
    module, _dot, attr = name.rpartition(".")
    return getattr(import_module(module), attr)()


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 of "<timestamp>.<body>", hex; the header is "t=<timestamp>,v1=<hex>"."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def webhook_signature_verify(secret: str, header: str, body: bytes, *, tolerance: int = 300,
                             now: float | None = None) -> bool:
    """For receivers: check X-Fideliza-Signature and refuse replays older than `tolerance` s."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(webhook_signature(secret, timestamp, body), parts.get("v1", ""))


def webhook_payload(message: Message, rendered: Rendered) -> dict[str, Any]:
    """The JSON body of a message's webhook call."""
    customer = message.customer
    return {
        "type": "message", "id": message.pk, "token": message.token, "kind": message.kind,
        "topic": message.topic, "source": message.source, "address": message.address,
        "customer": {"id": customer.pk, "name": customer.display_name, "email": customer.email,
                     "phone": customer.phone},
        "subject": rendered.subject, "text": rendered.text, "html": rendered.html,
        "unsubscribe_url": rendered.unsubscribe_url, "preferences_url": rendered.preferences_url,
    }


class WebhookChannel(ChannelAdapter):
    """POST the message as JSON to FIDELIZA_WEBHOOK_URL, signed with HMAC-SHA256."""

    def send(self, message: Message, rendered: Rendered) -> str:
        url, secret = settings.FIDELIZA_WEBHOOK_URL, settings.FIDELIZA_WEBHOOK_SECRET
        if not url or not secret:
            raise DeliveryError("FIDELIZA_WEBHOOK_URL / FIDELIZA_WEBHOOK_SECRET are not set", permanent=True)
        body = json.dumps(webhook_payload(message, rendered), ensure_ascii=False).encode()
        timestamp = int(time.time())
        headers = {
            "X-Fideliza-Signature": f"t={timestamp},v1={webhook_signature(secret, timestamp, body)}",
            "X-Fideliza-Timestamp": str(timestamp),
            "Idempotency-Key": message.token,
            "Content-Type": "application/json",
        }
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=settings.FIDELIZA_HTTP_TIMEOUT) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, exc.read()
        except (OSError, urllib.error.URLError) as exc:
            raise DeliveryError(f"webhook {url}: {exc}") from exc
        _http_outcome(status, answer, "webhook")
        return f"webhook:{message.token}"


class FileWebhookChannel(ChannelAdapter):
    """Writes each webhook call's JSON body to a file under FIDELIZA_WEBHOOK_FILE_PATH
    instead of posting it (FIDELIZA_WEBHOOK_SINK=file: local and demo settings)."""

    def send(self, message: Message, rendered: Rendered) -> str:
        path = _file_write(settings.FIDELIZA_WEBHOOK_FILE_PATH, _file_stem(message),
                           webhook_payload(message, rendered))
        return f"file:{path.name}"


WEBHOOK_SINKS: dict[str, type[ChannelAdapter]] = {"http": WebhookChannel, "file": FileWebhookChannel}


class _Misconfigured(ChannelAdapter):
    """A channel whose settings name no adapter: every message of the batch fails with why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def open(self) -> None:
        raise DeliveryError(self.reason, permanent=True)

    def send(self, message: Message, rendered: Rendered) -> str:
        raise DeliveryError(self.reason, permanent=True)


def adapter_for(channel: str) -> ChannelAdapter:
    if channel == MessageChannel.EMAIL:
        return EmailChannel()
    if channel == MessageChannel.SMS:
        return sms_gateway()
    if channel == MessageChannel.WEBHOOK:
        sink = settings.FIDELIZA_WEBHOOK_SINK
        if sink not in WEBHOOK_SINKS:
            return _Misconfigured(f"FIDELIZA_WEBHOOK_SINK must be one of {', '.join(WEBHOOK_SINKS)}, not {sink!r}")
        return WEBHOOK_SINKS[sink]()
    raise ValueError(channel)
