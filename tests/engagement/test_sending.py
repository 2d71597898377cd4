"""Sending through a real SMTP server on loopback (aiosmtpd): parts, headers, links, DKIM,
bounces, retries, and unsubscribing by one-click POST."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import dkim
import pytest
from django.test import Client
from django.utils import timezone

from fideliza.customers.models import ConsentRecord
from fideliza.customers.selectors import consent_current
from fideliza.engagement.models import (
    AttemptOutcome,
    ContactDecision,
    DeliveryAttempt,
    DeliveryEvent,
    Message,
    MessageStatus,
    Suppression,
)
from fideliza.engagement.outbox import messages_send, stale_claims_requeue
from fideliza.engagement.services import messages_queue

from .conftest import make_customer, request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock(time_machine, noon):
    """Tuesday 10 March 2026 at noon, ticking (the SMTP sink and the tasks run in real time)."""
    time_machine.move_to(noon, tick=True)

HTML = ('<html><body><p>Hola {name}, mira <a href="https://tienda.example/ofertas?x=1&amp;y=2">'
        'las ofertas</a>.</p></body></html>')


def queue_and_send(*reqs):
    decisions = messages_queue(list(reqs))
    ids = [d.message_id for d in decisions if d.message_id]
    result = messages_send(ids)
    return decisions, result


def test_marketing_email_has_both_parts_personalised_and_rfc8058_headers(smtp_sink):
    ana = make_customer(first_name="Ana", email="ana@example.com")
    [d], result = queue_and_send(request(ana, subject="Ofertas para Ana", body_text="Hola {name}, ofertas.",
                                         body_html=HTML.replace("{name}", "Ana")))
    assert result == {"sent": 1}
    [mail] = smtp_sink.messages
    message = Message.objects.get(pk=d.message_id)
    assert mail["Subject"] == "Ofertas para Ana"
    assert mail["To"] == "ana@example.com"
    assert mail["Message-ID"] == message.rfc_message_id
    unsub = f"https://tienda.example/m/u/{message.token}"
    assert str(mail["List-Unsubscribe"]).strip() == f"<{unsub}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Hola Ana, ofertas." in text and "Hola Ana" in html
    # No markers in the body: a footer with both links is added to each part.
    assert unsub in text and "https://tienda.example/m/p/" in text
    assert unsub in html and "https://tienda.example/m/p/" in html
    # Links are tracked through a signed redirect, and an open pixel is added.
    click = re.search(r'href="(https://tienda\.example/m/c/[^"]+)"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(click).query)["u"] == ["https://tienda.example/ofertas?x=1&y=2"]
    assert f"https://tienda.example/m/o/{message.token}.gif" in html
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.sent_at and message.provider_id == message.rfc_message_id
    assert list(message.events.values_list("kind", flat=True)) == ["sent"]
    assert list(message.delivery_attempts.values_list("outcome", flat=True)) == ["sent"]


def test_markers_are_replaced_and_transactional_has_no_unsubscribe_header(smtp_sink):
    c = make_customer()
    body = "Tu cupón: ABC. Baja: %%unsubscribe_url%% Preferencias: %%preferences_url%%"
    (d1, _d2), _r = queue_and_send(request(c, body_text=body), request(c, kind="transactional",
                                                                      body_text="Cupón canjeado."))
    m1 = Message.objects.get(pk=d1.message_id)
    marketing, transactional = smtp_sink.messages
    text = marketing.get_body(("plain",)).get_content()
    assert f"Baja: https://tienda.example/m/u/{m1.token} Preferencias: https://tienda.example/m/p/" in text
    assert text.count("/m/u/") == 1  # the markers were used, so no second footer
    assert transactional["List-Unsubscribe"] is None
    assert transactional.get_body(("plain",)).get_content().strip() == "Cupón canjeado."


def test_dkim_signature_verifies_against_the_public_key(smtp_sink, settings, tmp_path):
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                            check=True, capture_output=True).stdout
    settings.FIDELIZA_DKIM_KEY_FILE = str(key)
    settings.FIDELIZA_DKIM_SELECTOR = "fideliza"
    settings.FIDELIZA_DKIM_DOMAIN = "tienda.example"
    c = make_customer(first_name="Lucía")
    queue_and_send(request(c, subject="Novedades, Lucía", body_html="<p>Hola Lucía</p>"))
    [raw] = smtp_sink.raw
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name, timeout=5):
        return record if name == b"fideliza._domainkey.tienda.example." else None

    assert b"DKIM-Signature:" in raw
    assert dkim.verify(raw, dnsfunc=dns)
    tampered = raw.replace(b"Hola Luc", b"Hola Xuc")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_one_click_unsubscribe_post_only_then_marketing_stops_and_transactional_flows(smtp_sink):
    c = make_customer(email="eva@example.com")
    [d], _r = queue_and_send(request(c))
    message = Message.objects.get(pk=d.message_id)
    pending = messages_queue([request(c, not_before=timezone.now() + timedelta(days=1))])[0]
    client = Client(enforce_csrf_checks=True)
    url = urlsplit(str(smtp_sink.messages[0]["List-Unsubscribe"]).strip().strip("<>")).path

    # A mail scanner following the link: a confirmation page, nothing changes.
    page = client.get(url)
    assert page.status_code == 200 and b'method="post"' in page.content
    assert consent_current(c)["email"] is True
    assert not Suppression.objects.exists() and not DeliveryEvent.objects.filter(kind="unsubscribed").exists()
    assert client.head(url).status_code in (200, 405)
    assert consent_current(c)["email"] is True

    # RFC 8058 one-click: a cookieless POST with exactly this body.
    answer = client.post(url, data="List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200
    assert not answer.cookies
    assert consent_current(c)["email"] is False
    withdrawal = ConsentRecord.objects.filter(customer=c, channel="email").order_by("-id").first()
    assert withdrawal.status == "withdrawn" and withdrawal.source == "enlace de baja"
    assert Suppression.objects.get(channel="email", address="eva@example.com").reason == "unsubscribed"
    assert DeliveryEvent.objects.filter(message=message, kind="unsubscribed").count() == 1
    assert Message.objects.get(pk=pending.message_id).status == MessageStatus.CANCELLED
    # A second POST is harmless.
    assert client.post(url, data="List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded").status_code == 200
    assert DeliveryEvent.objects.filter(message=message, kind="unsubscribed").count() == 1

    before = len(smtp_sink.messages)
    [later], _r = queue_and_send(request(c, source="campaign:2"))
    assert later.status == "skipped" and later.reason in ("no_consent", "suppressed")
    [receipt], _r = queue_and_send(request(c, kind="transactional", source="loyalty:coupon",
                                           subject="Cupón canjeado", body_text="Gracias"))
    assert receipt.status == "queued"
    assert [m["Subject"] for m in smtp_sink.messages[before:]] == ["Cupón canjeado"]


def test_consent_withdrawn_after_queuing_cancels_at_send_time(smtp_sink):
    from fideliza.customers.services import consent_record

    c = make_customer()
    [d] = messages_queue([request(c)])
    consent_record(customer=c, channel="email", granted=False, source="tienda")
    assert messages_send([d.message_id]) == {"cancelled": 1}
    assert smtp_sink.messages == []
    assert ContactDecision.objects.get(message_id=d.message_id).reason == "no_consent"


def test_hard_bounce_at_rcpt_suppresses_and_withdraws_consent(smtp_sink):
    c = make_customer(email="nadie@example.com")
    smtp_sink.refuse["nadie@example.com"] = "550 5.1.1 No such user"
    [d], result = queue_and_send(request(c))
    assert result == {"bounced": 1}
    message = Message.objects.get(pk=d.message_id)
    assert message.status == MessageStatus.BOUNCED
    assert Suppression.objects.get(address="nadie@example.com").reason == "hard_bounce"
    assert consent_current(c)["email"] is False
    assert set(message.events.values_list("kind", flat=True)) == {"bounced"}
    # Even a transactional message is not attempted to a dead address.
    [t] = messages_queue([request(c, kind="transactional")])
    assert (t.status, t.reason) == ("skipped", "suppressed")


def test_temporary_failure_retries_with_backoff_then_fails(smtp_sink, settings):
    settings.FIDELIZA_OUTBOX_MAX_ATTEMPTS = 3
    c = make_customer(email="lleno@example.com")
    smtp_sink.refuse["lleno@example.com"] = "452 4.2.2 Mailbox full"
    [d] = messages_queue([request(c)])
    assert messages_send([d.message_id]) == {"queued": 1}
    m = Message.objects.get(pk=d.message_id)
    assert m.attempts == 1 and m.status == "queued" and "452" in m.last_error
    first_delay = m.next_attempt_at - timezone.now()
    assert timedelta(seconds=50) < first_delay <= timedelta(seconds=60)
    assert messages_send([m.pk]) == {"not_claimed": 1}  # not due yet
    Message.objects.filter(pk=m.pk).update(next_attempt_at=timezone.now())
    assert messages_send([m.pk]) == {"queued": 1}
    m.refresh_from_db()
    assert timedelta(seconds=110) < m.next_attempt_at - timezone.now() <= timedelta(seconds=120)
    Message.objects.filter(pk=m.pk).update(next_attempt_at=timezone.now())
    assert messages_send([m.pk]) == {"failed": 1}
    assert list(m.delivery_attempts.values_list("outcome", flat=True)) == ["temporary"] * 3
    del smtp_sink.refuse["lleno@example.com"]
    assert messages_send([m.pk]) == {"not_claimed": 1}


def test_sent_message_is_never_claimed_again_and_stale_claims_are_requeued(smtp_sink, settings):
    c = make_customer()
    [d], _r = queue_and_send(request(c))
    assert messages_send([d.message_id]) == {"not_claimed": 1}
    assert len(smtp_sink.messages) == 1
    # A row left in `sending` by a dead worker is re-queued once the claim times out.
    [d2] = messages_queue([request(c, source="campaign:9")])
    Message.objects.filter(pk=d2.message_id).update(
        status="sending", claim_id="dead", claimed_at=timezone.now() - timedelta(hours=1), attempts=1)
    assert stale_claims_requeue() == 1
    assert DeliveryAttempt.objects.get(message_id=d2.message_id).outcome == AttemptOutcome.ABANDONED
    assert messages_send([d2.message_id]) == {"sent": 1}
    assert len(smtp_sink.messages) == 2


def test_open_pixel_and_signed_click_redirect(smtp_sink):
    c = make_customer()
    [d], _r = queue_and_send(request(c, body_html='<a href="https://tienda.example/x">x</a>'))
    message = Message.objects.get(pk=d.message_id)
    html = smtp_sink.messages[0].get_body(("html",)).get_content()
    client = Client()
    pixel = client.get(f"/m/o/{message.token}.gif")
    assert pixel.status_code == 200 and pixel["Content-Type"] == "image/gif"
    click = re.search(r'href="(https://tienda\.example/m/c/[^"]+)"', html).group(1).replace("&amp;", "&")
    parts = urlsplit(click)
    answer = client.get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 302 and answer["Location"] == "https://tienda.example/x"
    # Unsigned or re-targeted links are refused: no open redirect.
    assert client.get(f"{parts.path}?u=https://evil.example/").status_code == 400
    sig = parse_qs(parts.query)["s"][0]
    assert client.get(f"{parts.path}?u=https://evil.example/&s={sig}").status_code == 400
    kinds = sorted(message.events.values_list("kind", flat=True))
    assert kinds == ["clicked", "opened", "sent"]


def test_transactional_queued_before_a_hard_bounce_is_cancelled_at_send_time(smtp_sink):
    c = make_customer(email="muerta@example.com")
    [d] = messages_queue([request(c, kind="transactional")])
    Suppression.objects.create(channel="email", address="muerta@example.com", reason="hard_bounce")
    assert messages_send([d.message_id]) == {"cancelled": 1}
    assert smtp_sink.messages == []
