"""The demo's company accounts: every company gets one to three contact persons, one of them
primary, with consent of their own; its calls name them; and no company is asked to be
congratulated on a birthday (a company has none: the anniversary of its first purchase)."""

from __future__ import annotations

from collections import Counter

import pytest

from fideliza.accounts.services import Actor
from fideliza.customers.demo import contacts_demo_create
from fideliza.customers.models import Contact, ContactConsentRecord, CustomerKind
from fideliza.followups.demo import COMPANY_TASKS, TASKS
from fideliza.followups.models import FollowUp
from fideliza.interactions.demo import relationship_demo_create
from fideliza.interactions.models import Interaction
from tests.factories.customers import customer_make
from tests.followups.conftest import NOW

pytestmark = pytest.mark.django_db
BIRTHDAY = "Felicitar por su cumpleaños"
ANNIVERSARY = "Felicitar por el aniversario de su primera compra"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def rep(django_user_model):
    return django_user_model.objects.create_user(username="comercial1", password="clave-segura-1", role="sales_rep")


@pytest.fixture
def rep2(django_user_model):
    return django_user_model.objects.create_user(username="comercial2", password="clave-segura-1", role="sales_rep")


@pytest.fixture
def business(owner, rep, rep2, clock):
    actor = Actor.of(owner)
    companies, people = [], []
    for n in range(40):
        executive = (rep, rep2, None)[n % 3]
        if n % 2:
            companies.append(customer_make(actor=actor, kind=CustomerKind.COMPANY, company_name=f"Obras {n} S.L.",
                                           first_name="Rosa" if n % 4 == 1 else "", last_name="Prieto" if n % 4 == 1
                                           else "", email=f"info@obras{n}.example", account_executive=executive))
        else:
            people.append(customer_make(actor=actor, first_name=f"Cliente{n}", account_executive=executive))
    return companies, people


def test_every_company_gets_one_to_three_contacts_one_primary(business):
    companies, people = business
    counts = contacts_demo_create()
    assert counts["companies"] == len(companies)
    per_company = Counter(Contact.objects.values_list("customer_id", flat=True))
    assert set(per_company) == {c.pk for c in companies}
    assert set(per_company.values()) <= {1, 2, 3} and len(set(per_company.values())) > 1
    assert Counter(Contact.objects.filter(is_primary=True).values_list("customer_id", flat=True)) == {
        c.pk: 1 for c in companies}
    # The person the customers file named on the card is its first, primary contact.
    for company in companies:
        if company.first_name:
            assert Contact.objects.get(customer=company, is_primary=True).name == "Rosa Prieto"
    assert not Contact.objects.filter(customer__in=people).exists()
    assert all(c.email.endswith(".example") or c.email.endswith(".es") for c in Contact.objects.all())
    assert ContactConsentRecord.objects.filter(channel="email", status="granted").exists()
    # Once is enough: a second run adds nothing.
    assert contacts_demo_create()["contacts"] == 0


def test_companies_get_no_birthday_follow_ups_and_their_calls_name_a_contact(business):
    companies, people = business
    contacts_demo_create()
    relationship_demo_create(today=NOW.date())
    company_ids = {c.pk for c in companies}
    titles = Counter((f.customer_id in company_ids, f.title) for f in FollowUp.objects.all())
    assert titles[(True, BIRTHDAY)] == 0
    assert titles[(False, BIRTHDAY)] > 0 and titles[(True, ANNIVERSARY)] > 0  # the checks above bite
    assert titles[(False, ANNIVERSARY)] == 0
    assert len(COMPANY_TASKS) == len(TASKS)
    with_company = Interaction.objects.filter(customer__in=companies).exclude(kind="note")
    assert with_company.exists() and not with_company.filter(contact__isnull=True).exists()
    assert all(i.contact.customer_id == i.customer_id for i in with_company.select_related("contact"))
    assert not Interaction.objects.filter(customer__in=people, contact__isnull=False).exists()
