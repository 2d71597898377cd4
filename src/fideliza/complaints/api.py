"""REST API of the complaints book: the inbound hook a complaints mailbox calls (the mail
provider's inbound-parse webhook or a small IMAP poller), protected by the same shared
secret as the SMS and bounce hooks (X-Fideliza-Secret or a Bearer token)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from fideliza.accounts.services import Actor
from fideliza.api_support import ErrorOut, api_validation_error
from fideliza.engagement.api import INBOUND_AUTH

from . import rules as R
from .models import ComplaintChannel
from .services import Filing, complaint_file

router = Router(tags=["complaints"])
FIELDS = {"description": "text"}

RulesCode = Literal["PE", "CO", "ES", "MX", "AR", "GEN"]
KindCode = Literal["reclamo", "queja", "peticion", "sugerencia"]


class MailboxComplaintIn(Schema):
    email: str = Field(min_length=3, max_length=254, description="the sender's address (From)")
    name: str = Field("", max_length=200, description="the sender's display name; the address when empty")
    subject: str = Field("", max_length=300)
    text: str = Field(min_length=10, max_length=10_000, description="the plain-text body")
    rules: RulesCode | None = Field(None, description="rule set; the business's default when absent")
    kind: KindCode | None = Field(None, description="the rule set's first kind when absent")
    subdivision: str = Field("", max_length=8, description="region code (Spain: autonomous community, e.g. AN)")


class MailboxComplaintOut(Schema):
    id: int
    tracking_code: str
    customer_id: int
    due_at: datetime | None


@router.post("/inbound/email", auth=INBOUND_AUTH, response={201: MailboxComplaintOut, 401: ErrorOut, 422: Any},
             url_name="complaint_inbound_email")
def inbound_email(request: HttpRequest, payload: MailboxComplaintIn) -> Status:
    """A message that reached the complaints mailbox becomes a complaint (channel «Buzón de
    correo»): its tracking code, deadline and the copy to the sender, as the web form does.
    The subject, when given, heads the detail. Invalid input: 422 with field-level messages
    (an address Django's validator refuses, a kind or region the rule set does not have, a
    text under 10 characters once trimmed or over 10,000 with its subject)."""
    rules = R.rule_set(payload.rules) if payload.rules else R.rules_default()
    text = f"{payload.subject.strip()}\n\n{payload.text.strip()}" if payload.subject.strip() else payload.text
    try:
        complaint = complaint_file(
            actor=Actor.system("buzón de quejas"), channel=ComplaintChannel.EMAIL,
            filing=Filing(rules=rules.code, kind=payload.kind or rules.kinds[0],
                          name=(" ".join(payload.name.split()) or payload.email)[:200], email=payload.email,
                          description=text, subdivision=payload.subdivision))
    except ValidationError as exc:
        # The service names the form's fields; the mail's body is `text` here.
        raise api_validation_error([(("body", FIELDS.get(key, key)), message, "invalid")
                                    for key, messages in exc.message_dict.items() for message in messages]) from None
    return Status(201, {"id": complaint.pk, "tracking_code": complaint.tracking_code,
                        "customer_id": complaint.customer_id, "due_at": complaint.due_at})
