"""Why two cards look alike, in the reader's language: stored as codes, worded on display,
and pairs stored in Spanish before the codes read the same way."""

from __future__ import annotations

import pytest
from django.utils import translation

from fideliza.accounts.services import Actor
from fideliza.customers.dedup import duplicates_find
from fideliza.customers.models import MatchCandidate
from fideliza.customers.services import customer_create
from fideliza.customers.wording import match_reasons_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _spanish_again_afterwards():
    """A request to /en/ leaves English active in this thread: the next test starts in Spanish."""
    with translation.override("es"):
        yield

NEW = "email_differs; postal_code_same; address_similar; name_same:97"
OLD = "e-mail distinto; mismo código postal; dirección parecida; nombre idéntico (97%+)"


@pytest.mark.parametrize("stored", [NEW, OLD])
def test_reasons_in_spanish_and_english(stored):
    with translation.override("es"):
        assert match_reasons_text(stored) == ("e-mail distinto; mismo código postal; dirección parecida; "
                                              "nombre idéntico (97 %+)")
    with translation.override("en"):
        assert match_reasons_text(stored) == "different e-mail; same postal code; similar address; identical name (97 %+)"


def test_review_queue_in_english_has_no_spanish_reason(owner, client):
    actor = Actor.of(owner)
    for last in ("Álvarez Molina", "Alvarez Molina"):
        customer_create(actor=actor, data={"first_name": "Pilar", "last_name": last, "postal_code": "33752",
                                           "address": "Calle Mayor 3"})
    duplicates_find(actor=actor)
    candidate = MatchCandidate.objects.get()
    assert "postal_code_same" in candidate.reasons.split("; ")  # stored as codes
    client.force_login(owner)
    for url in ("/en/duplicados/", f"/en/duplicados/par/{candidate.pk}/"):
        body = client.get(url).content.decode()
        assert "same postal code" in body and "mismo código postal" not in body, url
        assert "postal_code_same" not in body, url
    assert "mismo código postal" in client.get("/duplicados/").content.decode()
