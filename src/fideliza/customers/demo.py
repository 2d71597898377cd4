"""The demo business's company accounts: each company card gets one to three contact persons
(the manager, the buyer, the accounts clerk), one of them primary, with their own consent —
so the card's «Personas de contacto», the log-interaction form and the company's messages
have people to show and to address on the first `make run`.

Bulk inserts (a 100,000-customer demo has about 3,000 companies: well under a second);
deterministic for `seed`. A person the customers file named on the company card (its
first and last name, «persona de contacto») is its first contact.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, time

from django.db import transaction
from django.utils import timezone

from fideliza.core.bulk import insert_objects

from .models import ConsentStatus, Contact, ContactConsentRecord, Customer, CustomerKind
from .normalize import strip_accents

FIRST_NAMES = ("Ana", "Javier", "Marta", "Luis", "Carmen", "Pablo", "Elena", "Raúl", "Rocío", "Sergio",
               "Isabel", "Miguel", "Pilar", "Andrés", "Nuria", "Óscar")
SURNAMES = ("García", "Romero", "Navarro", "Castro", "Molina", "Ortega", "Delgado", "Morales", "Vega",
            "Herrera", "Ramos", "Gil", "Serrano", "Blanco", "Suárez", "Rubio")
ROLES = ("Gerente", "Compras", "Administración", "Jefe de obra", "Encargado de mantenimiento", "Oficina técnica")
FREE_MAIL = {"gmail.com", "hotmail.com", "yahoo.es", "outlook.com", "telefonica.net", "hotmail.es"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", strip_accents(text).lower())


def _domain(card: Customer) -> str:
    """The company's own e-mail domain, else one made from its name."""
    if "@" in card.email:
        domain = card.email.rsplit("@", 1)[1]
        if domain not in FREE_MAIL:
            return domain
    words = [w for w in re.split(r"\s+", card.company_name) if w and not w.endswith(".")]
    return f"{_slug(''.join(words[:2])) or 'empresa'}.es"


@transaction.atomic
def contacts_demo_create(*, seed: int = 4) -> dict[str, int]:
    """Contact persons for every current company card that has none; returns counts."""
    rng = random.Random(seed)
    cards = list(Customer.objects.filter(kind=CustomerKind.COMPANY, merged_into__isnull=True, is_active=True)
                 .exclude(contacts__isnull=False).order_by("pk"))
    contacts: list[Contact] = []
    for card in cards:
        domain = _domain(card)
        names: list[str] = []
        first = f"{card.first_name} {card.last_name}".strip()
        if first:
            names.append(first)
        wanted = rng.choice((1, 1, 2, 2, 3))
        while len(names) < wanted:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
            if name not in names:
                names.append(name)
        roles = rng.sample(ROLES, len(names))
        for i, name in enumerate(names):
            given, _sep, family = name.partition(" ")
            contacts.append(Contact(
                customer=card, name=name, role=roles[i],
                email=f"{_slug(given)}.{_slug(family.split(' ')[0])}@{domain}",
                phone=(card.phone if i == 0 and card.phone else f"+346{rng.randint(10_000_000, 99_999_999)}"),
                is_primary=i == 0, is_active=True))
    insert_objects(Contact, contacts)
    records: list[ContactConsentRecord] = []
    for contact in contacts:
        card = contact.customer
        day = card.acquisition_date or timezone.localdate()
        at = timezone.make_aware(datetime.combine(day, time(10)))
        for channel, share in (("email", 0.85), ("sms", 0.45)):
            if rng.random() < share:
                records.append(ContactConsentRecord(contact=contact, channel=channel, status=ConsentStatus.GRANTED,
                                                    recorded_at=at, source="demo: alta de la empresa"))
    insert_objects(ContactConsentRecord, records)
    return {"companies": len(cards), "contacts": len(contacts), "consents": len(records)}
