"""A shop with a static segment of customers who consented to e-mail, and the people who
run campaigns."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fideliza.campaigns.services import MessageContent, campaign_create
from fideliza.customers.models import ConsentRecord, Customer
from fideliza.segments.models import Segment, SegmentKind, SegmentMember

TZ = ZoneInfo("Europe/Madrid")
# Mid-morning on a weekday: outside the default quiet hours (21:00-09:00).
LAUNCH = datetime(2026, 3, 10, 11, 0, tzinfo=TZ)

EMAIL = MessageContent(
    subject="Hola {{ nombre }}, una oferta para ti",
    body_text="Hola {{ nombre }}.\nTu código: {{ cupon }}\nBaja: %%unsubscribe_url%%",
    body_html="<p>Hola {{ nombre }}. Tu código: <b>{{ cupon }}</b></p>"
              "<p><a href=\"%%unsubscribe_url%%\">Baja</a></p>",
    topic="ofertas",
)
SMS = MessageContent(body_text="Hola {{ nombre }}: {{ cupon }}. Baja: responde BAJA", topic="ofertas")


def customer_make(i: int, *, email: bool = True, consent: bool = True, phone: str = "",
                  sms_consent: bool = False, city: str = "Córdoba") -> Customer:
    customer = Customer.objects.create(first_name=f"Nombre{i}", last_name="Prueba", city=city,
                                       email=f"cliente{i}@example.com" if email else "", phone=phone)
    at = LAUNCH - timedelta(days=30)
    if consent:
        ConsentRecord.objects.create(customer=customer, channel="email", status="granted", recorded_at=at,
                                     source="test")
    if sms_consent:
        ConsentRecord.objects.create(customer=customer, channel="sms", status="granted", recorded_at=at,
                                     source="test")
    return customer


def segment_make(name: str, customers: list[Customer]) -> Segment:
    segment = Segment.objects.create(name=name, kind=SegmentKind.STATIC, member_count=len(customers))
    SegmentMember.objects.bulk_create([SegmentMember(segment=segment, customer=c) for c in customers])
    return segment


@pytest.fixture
def marketing(django_user_model):
    return django_user_model.objects.create_user(username="marketing", password="clave-segura-1",
                                                 role="marketing")


@pytest.fixture
def support(django_user_model):
    return django_user_model.objects.create_user(username="soporte", password="clave-segura-1", role="support")


@pytest.fixture
def customers(db) -> list[Customer]:
    return [customer_make(i) for i in range(40)]


@pytest.fixture
def segment(customers) -> Segment:
    return segment_make("Clientes de Córdoba", customers)


@pytest.fixture
def make_campaign(marketing):
    def make(segment: Segment, *, name: str = "Primavera", channels=("email",), offer: bool = False,
             holdout: str = "0.100", **fields):
        from decimal import Decimal

        if offer:
            fields.setdefault("offer_kind", "percent")
            fields.setdefault("offer_value", Decimal("10"))
            fields.setdefault("offer_valid_days", 30)
        return campaign_create(user=marketing, name=name, segment=segment, channels=list(channels),
                               messages={"email": EMAIL, "sms": SMS}, holdout_share=Decimal(holdout), **fields)

    return make
