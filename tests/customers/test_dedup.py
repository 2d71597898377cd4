import pytest
from django.db.models import Sum

from fideliza.accounts.services import Actor
from fideliza.core.models import JobProgress
from fideliza.customers.dedup import duplicates_find, match_candidate_decide, pending_candidates
from fideliza.customers.models import Customer, MatchCandidate, MatchStatus
from fideliza.customers.services import customer_create
from fideliza.customers.tasks import dedup_enqueue

pytestmark = pytest.mark.django_db


@pytest.fixture
def base(owner):
    actor = Actor.of(owner)
    make = lambda **d: customer_create(actor=actor, data=d)  # noqa: E731
    cards = {
        # The same person in the till and the web shop: sure match.
        "till": make(first_name="José", last_name="Martínez Ruiz", phone="612345678",
                     email="jose.m@gmail.com", postal_code="14001"),
        "web": make(first_name="Jose", last_name="Martinez Ruiz", phone="+34 612 34 56 78",
                    email="JOSE.M@gmail.com", postal_code="14001"),
        # Same name and postal code and address, nothing else: the grey zone.
        "a": make(first_name="Pilar", last_name="Álvarez Molina", postal_code="33752",
                  address="Calle Mayor 3", email="pilar@correo.es"),
        "b": make(first_name="Pilar", last_name="Alvarez Molina", postal_code="33752",
                  address="Calle Mayor, 3"),
        # A relative: not a duplicate.
        "rel": make(first_name="Pablo", last_name="Martínez Ruiz", phone="957123456",
                    postal_code="14001", birth_date="1990-01-01"),
    }
    return actor, cards


def test_sure_pairs_merge_grey_zone_is_queued(base):
    actor, cards = base
    result = duplicates_find(actor=actor)
    assert result.merged == 1
    assert Customer.objects.get(pk=cards["web"].pk).merged_into_id == cards["till"].pk
    queued = list(pending_candidates())
    assert [(q.customer_a_id, q.customer_b_id) for q in queued] == [(cards["a"].pk, cards["b"].pk)]
    assert not Customer.objects.filter(pk=cards["rel"].pk, merged_into__isnull=False).exists()


def test_not_the_same_person_is_remembered(base):
    actor, _cards = base
    duplicates_find(actor=actor)
    candidate = pending_candidates().get()
    match_candidate_decide(actor=actor, candidate=candidate, same=False)
    duplicates_find(actor=actor)
    assert pending_candidates().count() == 0
    assert MatchCandidate.objects.get().status == MatchStatus.DISTINCT


def test_review_merge_keeps_chosen_survivor(base):
    actor, cards = base
    duplicates_find(actor=actor)
    candidate = pending_candidates().get()
    match_candidate_decide(actor=actor, candidate=candidate, same=True, survivor=cards["b"])
    assert Customer.objects.get(pk=cards["a"].pk).merged_into_id == cards["b"].pk
    assert MatchCandidate.objects.get().status == MatchStatus.MERGED


def test_matching_only_new_cards_on_import(base):
    actor, cards = base
    result = duplicates_find(actor=actor, new_ids=[cards["a"].pk, cards["b"].pk], auto_merge=False)
    assert result.merged == 0 and result.queued == 1


def test_background_job_reports_progress(base, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = dedup_enqueue(user=owner)
    job.refresh_from_db()
    assert job.status == "done" and job.result["merged"] == 1 and job.percent == 100
    assert JobProgress.objects.count() == 1
    assert Customer.objects.filter(merged_into__isnull=True).aggregate(n=Sum("id"))["n"]
