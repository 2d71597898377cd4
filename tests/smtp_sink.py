"""A real SMTP server on loopback for tests: aiosmtpd in a thread, collecting messages.

`SmtpSink.messages` holds each accepted message parsed as `email.message.EmailMessage`
(policy=default, so `get_body()` and header objects work), `raw` the bytes as received
(for DKIM verification), `envelopes` the (mail_from, rcpt_tos) pairs.
Hooks for failure tests: `refuse` maps a recipient to an SMTP reply ("550 …") given at
RCPT; `hold_after = n` makes the (n+1)-th transaction wait at RCPT until `release()`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller

logging.getLogger("mail.log").setLevel(logging.WARNING)  # one INFO line per SMTP command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        sink = self.sink
        reply = sink.refuse.get(address.lower())
        if reply:
            return reply
        if sink.hold_after is not None and len(sink.messages) >= sink.hold_after:
            sink.holding.set()
            while not sink._released.is_set():
                await asyncio.sleep(0.02)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        with self.sink._lock:
            self.sink.raw.append(raw)
            self.sink.messages.append(message_from_bytes(raw, policy=default_policy))
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.host = "127.0.0.1"
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: dict[str, str] = {}
        self.hold_after: int | None = None
        self.holding = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.controller = Controller(_Handler(self), hostname=self.host, port=self.port,
                                     decode_data=False, server_hostname="sink.localhost")

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self.controller.stop()

    def release(self) -> None:
        self._released.set()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return True
            time.sleep(0.05)
        return len(self.messages) >= count
